'use strict';

const { apiUrl } = require('./api');

/**
 * A connection is the bridge's address and a key. Today the key is the bridge's admin token
 * (BRIDGE_ADMIN_TOKEN); once the bridge issues API keys with scopes, a scoped key goes in the same
 * field and nothing else changes (it is sent as `Authorization: Bearer <key>` either way).
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
      helpText: "The bridge's API key. Until the bridge issues scoped API keys, this is its admin token (`BRIDGE_ADMIN_TOKEN`).",
    },
  ],
  // Any authenticated read proves both fields right: a wrong URL fails to connect, a wrong key is a 401.
  test: async (z, bundle) => {
    const response = await z.request({ url: apiUrl(bundle, '/v1/subscriptions'), params: { limit: 1 } });
    return response.data;
  },
  connectionLabel: (z, bundle) => String(bundle.authData.base_url || '').replace(/^https?:\/\//, '').replace(/\/+$/, ''),
};
