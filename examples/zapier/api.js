'use strict';

/**
 * Talking to the bridge: its address comes from the connection (`base_url`), every request carries
 * the connection's key as `Authorization: Bearer <key>`, and the bridge's error shape
 * (`{ "error": { "code", "message" } }`) becomes the message Zapier shows.
 */

/** `https://bridge.example.com/` + `/v1/hooks` → `https://bridge.example.com/v1/hooks`. */
const apiUrl = (bundle, path) =>
  `${String(bundle.authData.base_url || '')
    .trim()
    .replace(/\/+$/, '')}${path}`;

/** beforeRequest: the key of the connection as a bearer token. */
const addApiKey = (request, z, bundle) => {
  if (bundle.authData && bundle.authData.api_key) {
    request.headers = request.headers || {};
    request.headers.Authorization = `Bearer ${bundle.authData.api_key}`;
  }
  return request;
};

/** Throws the bridge's error (status ≥ 400) as a Zapier error with its code and message. */
const throwForBridgeError = (response, z) => {
  if (response.status < 400) return;
  const error = (response.data && response.data.error) || {};
  const message = error.message || `The bridge answered ${response.status}`;
  if (response.status === 401) {
    throw new z.errors.Error(`The bridge refused the API key: ${message}`, 'AuthenticationError', 401);
  }
  throw new z.errors.Error(message, error.code || 'BridgeError', response.status);
};

/** afterResponse: every failed request, unless it asked to look at the status itself. */
const handleErrors = (response, z) => {
  if (!response.skipThrowForStatus) throwForBridgeError(response, z);
  return response;
};

module.exports = { apiUrl, addApiKey, handleErrors, throwForBridgeError };
