'use strict';

const { apiUrl } = require('./api');

/**
 * A connection is the bridge's address and an API key issued for Zapier (`POST /v1/api-keys` with
 * subscriptions:read, subscriptions:write and events:read), sent as `Authorization: Bearer <key>`.
 * The admin token works too, but gives Zapier everything.
 */
module.exports = {
  type: 'custom',
  fields: [
    {
      key: 'base_url',
      label: 'Bridge URL',
      type: 'string',
      required: true,
      helpText: 'The public HTTPS address of your clinic-event-bridge, e.g. `https://bridge.example.com` (no path).',
    },
    {
      key: 'api_key',
      label: 'API Key',
      type: 'password',
      required: true,
      helpText:
        'An API key issued by your bridge for Zapier (`POST /v1/api-keys` with the scopes subscriptions:read, subscriptions:write and events:read). It only sees the hooks it created.',
    },
  ],
  // Any authenticated read proves both fields right: a wrong URL fails to connect, a wrong key is a 401.
  test: async (z, bundle) => {
    const response = await z.request({ url: apiUrl(bundle, '/v1/subscriptions'), params: { limit: 1 } });
    return response.data;
  },
  connectionLabel: (z, bundle) =>
    String(bundle.authData.base_url || '')
      .replace(/^https?:\/\//, '')
      .replace(/\/+$/, ''),
};
