'use strict';

const { version } = require('./package.json');
const { version: platformVersion } = require('zapier-platform-core');
const authentication = require('./authentication');
const { addApiKey, handleErrors } = require('./api');
const triggers = require('./triggers/hooks');

/**
 * clinic-event-bridge on Zapier: instant (REST hook) triggers for the changes the bridge finds in
 * Cliniko and Esteem. See README.md beside this file.
 */
module.exports = {
  version,
  platformVersion,
  authentication,
  beforeRequest: [addApiKey],
  afterResponse: [handleErrors],
  triggers,
  searches: {},
  creates: {},
  resources: {},
};
