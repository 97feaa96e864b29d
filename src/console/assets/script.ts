/**
 * The console's only script, served at `/console/assets/console.js`: the Copy button and the Live
 * page's Server-Sent Events. Every page reads and works without it. Kept as a module (not a .js file)
 * so the compiled build (dist/) carries it without a copy step; it is sent to browsers as written.
 */
export const CONSOLE_JS = `// clinic-event-bridge console: small progressive enhancements. Every page works without this file.
'use strict';

// Copy buttons: <button data-copy="ID"> copies the value of the element with that id.
for (const button of document.querySelectorAll('button[data-copy]')) {
  button.hidden = false;
  button.addEventListener('click', async () => {
    const target = document.getElementById(button.dataset.copy);
    const status = button.parentElement.querySelector('.copy-status');
    try {
      await navigator.clipboard.writeText(target.value ?? target.textContent);
      if (status) status.textContent = 'Copied.';
    } catch {
      target.select?.();
      if (status) status.textContent = 'Copy failed: the text is selected, press Ctrl+C.';
    }
  });
}

// Live: rows for new deliveries and attempts arrive by Server-Sent Events.
const live = document.getElementById('live');
if (live && 'EventSource' in window) {
  const state = document.getElementById('live-state');
  const body = live.tBodies[0];
  const base = live.dataset.base;
  const url = live.dataset.stream + '?since=' + encodeURIComponent(live.dataset.cursor);
  const source = new EventSource(url);
  const cell = (text) => {
    const td = document.createElement('td');
    td.textContent = text;
    return td;
  };
  source.addEventListener('open', () => {
    state.textContent = 'Live: new deliveries appear as they happen.';
  });
  source.addEventListener('error', () => {
    state.textContent = 'Live updates paused; reconnecting… (or use Refresh)';
  });
  source.addEventListener('delivery', (e) => {
    const r = JSON.parse(e.data);
    const tr = document.createElement('tr');
    tr.dataset.id = r.id;
    tr.className = 'fresh';
    tr.append(cell(r.at));
    const ev = document.createElement('td');
    const a = document.createElement('a');
    a.href = base + '/events/' + encodeURIComponent(r.event_id);
    a.textContent = r.event_type;
    ev.append(a);
    tr.append(ev, cell(r.subscription));
    const st = document.createElement('td');
    const badge = document.createElement('span');
    badge.className = 'badge badge-' + (r.status === 'succeeded' ? 'ok' : r.status === 'failed' ? 'bad' : 'warn');
    badge.textContent = r.status;
    st.append(badge);
    const n = cell(String(r.attempts));
    n.className = 'num';
    tr.append(st, n, cell(r.last));
    body.querySelector('tr[data-id="' + CSS.escape(r.id) + '"]')?.remove();
    body.prepend(tr);
    while (body.rows.length > 200) body.deleteRow(-1);
  });
}
`;
