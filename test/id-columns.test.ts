import { describe, expect, it } from 'vitest';
import { DeliveryIndex } from '../src/store/delivery-index.js';
import { EventIndex } from '../src/store/event-index.js';

describe('the in-memory event and delivery indexes', () => {
  it('keep rows in id order whatever order they arrive in, replace in place and remove in one pass', () => {
    const events = new EventIndex();
    for (const id of ['evt_3', 'evt_1', 'evt_5', 'evt_2', 'evt_4'])
      events.set(id, ['contact.updated', `2026-11-23T06:00:0${id.at(-1)}.000Z`, 'contact', `rec_${id.at(-1)}`]);
    events.set('evt_2', ['contact.deleted', '2026-11-23T07:00:00.000Z', 'patient', 'rec_x']);
    const rows = () => Array.from({ length: events.length }, (_, i) => [events.idAt(i), events.typeAt(i), events.recordAt(i)]);
    expect(rows()).toEqual([
      ['evt_1', 'contact.updated', 'rec_1'],
      ['evt_2', 'contact.deleted', 'rec_x'],
      ['evt_3', 'contact.updated', 'rec_3'],
      ['evt_4', 'contact.updated', 'rec_4'],
      ['evt_5', 'contact.updated', 'rec_5'],
    ]);
    expect(events.timeAt(events.position('evt_2'))).toBe(Date.parse('2026-11-23T07:00:00.000Z'));
    events.remove(new Set(['evt_1', 'evt_4', 'evt_9']));
    events.remove(new Set(['evt_5']));
    expect(rows()).toEqual([
      ['evt_2', 'contact.deleted', 'rec_x'],
      ['evt_3', 'contact.updated', 'rec_3'],
    ]);
    expect([events.has('evt_1'), events.has('evt_3'), events.position('evt_5')]).toEqual([false, true, -1]);
  });

  it('follow each event to its deliveries through replacements and removals', () => {
    const deliveries = new DeliveryIndex();
    deliveries.set('dlv_2', ['evt_a', 'sub_1', 'pending']);
    deliveries.set('dlv_1', ['evt_a', 'sub_2', 'pending']);
    deliveries.set('dlv_3', ['evt_b', 'sub_1', 'pending']);
    // Moved to another event and finished: the per-event lists and the columns both follow.
    deliveries.set('dlv_2', ['evt_b', 'sub_1', 'succeeded']);
    expect([deliveries.ofEvent('evt_a'), deliveries.ofEvent('evt_b')]).toEqual([['dlv_1'], ['dlv_2', 'dlv_3']]);
    expect(deliveries.get('dlv_2')).toEqual(['evt_b', 'sub_1', 'succeeded']);
    deliveries.remove(new Set(['dlv_1', 'dlv_3']));
    expect([deliveries.ofEvent('evt_a'), deliveries.ofEvent('evt_b')]).toEqual([[], ['dlv_2']]);
    expect(Array.from({ length: deliveries.length }, (_, i) => deliveries.entryAt(i))).toEqual([['evt_b', 'sub_1', 'succeeded']]);
    deliveries.remove(new Set(['dlv_2']));
    expect([deliveries.length, deliveries.ofEvent('evt_b'), deliveries.get('dlv_2')]).toEqual([0, [], undefined]);
  });
});
