'use strict';

const { apiUrl, throwForBridgeError } = require('../api');
const EVENTS = require('./events');
const SAMPLES = require('../samples.json');

/**
 * REST-hook triggers on the bridge's `/v1/hooks` (Zapier's REST Hooks pattern):
 * - performSubscribe: `POST /v1/hooks { target_url, event }` → `201 { id }`, kept by Zapier as
 *   `bundle.subscribeData`;
 * - perform: the delivery Zapier caught, as it came (`{ id, type, timestamp, data }`);
 * - performList: `GET /v1/hooks/sample?event=…`, up to three recent deliveries of the type, newest
 *   first, with exactly the schema of a delivery (an example when none has happened yet);
 * - performUnsubscribe: `DELETE /v1/hooks/:id`.
 */

const subscribe = async (z, bundle, event) => {
  const response = await z.request({
    url: apiUrl(bundle, '/v1/hooks'),
    method: 'POST',
    body: { target_url: bundle.targetUrl, event },
  });
  return response.data;
};

const unsubscribe = async (z, bundle) => {
  const id = bundle.subscribeData && bundle.subscribeData.id;
  if (!id) throw new z.errors.Error('This Zap has no hook id to unsubscribe', 'MissingHookId', 400);
  const response = await z.request({
    url: apiUrl(bundle, `/v1/hooks/${encodeURIComponent(id)}`),
    method: 'DELETE',
    skipThrowForStatus: true,
  });
  // Already gone (the bridge removes a hook whose target answered 410, or someone deleted it): done.
  if (response.status === 404) return { id, deleted: true };
  throwForBridgeError(response, z);
  return response.data;
};

const recent = async (z, bundle, event) => {
  const response = await z.request({ url: apiUrl(bundle, '/v1/hooks/sample'), params: { event } });
  return response.data;
};

/** What Zapier caught is the delivery body itself. */
const caught = (z, bundle) => [bundle.cleanedRequest];

/** Labels for the fields every delivery has; Zapier shows the record's own fields by their names. */
const outputFields = [
  { key: 'id', label: 'Event ID' },
  { key: 'type', label: 'Event Type' },
  { key: 'timestamp', label: 'Detected At' },
  { key: 'data__source', label: 'Source' },
  { key: 'data__resource', label: 'Resource' },
  { key: 'data__id', label: 'Record ID' },
];

/** A trigger on one event type. */
const hookTrigger = ({ key, event, noun, label, description }) => ({
  key,
  noun,
  display: { label, description },
  operation: {
    type: 'hook',
    performSubscribe: (z, bundle) => subscribe(z, bundle, event),
    performUnsubscribe: unsubscribe,
    perform: caught,
    performList: (z, bundle) => recent(z, bundle, event),
    sample: SAMPLES[event],
    outputFields,
  },
});

/** The trigger on any event type or pattern the user picks (`contact.updated`, `attendee.*`, `*`). */
const anyEvent = {
  key: 'any_event',
  noun: 'Event',
  display: {
    label: 'New Event',
    description: 'Triggers on any bridge event you choose, such as an invoice status change or a treatment note finalised.',
  },
  operation: {
    type: 'hook',
    inputFields: [
      {
        key: 'event',
        label: 'Event Type',
        required: true,
        dynamic: 'event_type_list.id.name',
        helpText:
          'The event to trigger on, e.g. `patient.updated`. A pattern selects several: `attendee.*` every attendee event, `*` every event. Esteem events (`appointment.…`) can be typed in as a custom value.',
      },
    ],
    performSubscribe: (z, bundle) => subscribe(z, bundle, bundle.inputData.event),
    performUnsubscribe: unsubscribe,
    perform: caught,
    performList: (z, bundle) => recent(z, bundle, bundle.inputData.event),
    sample: SAMPLES['*'],
    outputFields,
  },
};

/** Hidden: the event types the bridge documents (`GET /v1/event-types`), for the dropdown above. */
const eventTypeList = {
  key: 'event_type_list',
  noun: 'Event Type',
  display: { label: 'Event Types', description: 'Lists the event types of the bridge, for the event dropdown.', hidden: true },
  operation: {
    perform: async (z, bundle) => {
      const response = await z.request({ url: apiUrl(bundle, '/v1/event-types') });
      return response.data.data.map((t) => ({ id: t.type, name: t.type, description: t.description }));
    },
    sample: { id: 'patient.created', name: 'patient.created', description: 'A new patient (an id the bridge had not seen before).' },
  },
};

const triggers = [...EVENTS.map(hookTrigger), anyEvent, eventTypeList];

module.exports = Object.fromEntries(triggers.map((t) => [t.key, t]));
