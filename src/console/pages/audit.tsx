import type { Hono } from 'hono';
import { listAudit } from '../../services/audit.js';
import { Pager } from '../components.js';
import type { ConsoleDeps, ConsoleEnv } from '../context.js';
import { when } from '../format.js';
import { render } from '../render.js';

/** The audit log: every admin action, newest first (a key limited to its own subscriptions sees its own). */
export function auditPages(app: Hono<ConsoleEnv>, deps: ConsoleDeps): void {
  app.get('/audit', async (c) => {
    const before = c.req.query('before');
    const page = await listAudit(deps.store, c.get('principal'), {
      limit: 100,
      before: before && /^aud_[0-9A-Z]+$/.test(before) ? before : undefined,
    });
    return render(
      c,
      'Audit log',
      '/audit',
      <>
        {page.data.length === 0 ? (
          <p>Nothing recorded yet.</p>
        ) : (
          <div class="scroll">
            <table>
              <caption class="visually-hidden">Admin actions, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  <th scope="col">Details</th>
                  <th scope="col">Request id</th>
                </tr>
              </thead>
              <tbody>
                {page.data.map((e) => (
                  <tr>
                    <td>{when(e.at)}</td>
                    <td>{e.actor}</td>
                    <td class="mono">{e.action}</td>
                    <td class="mono">{e.target ?? '—'}</td>
                    <td class="mono">{Object.keys(e.details).length > 0 ? JSON.stringify(e.details) : '—'}</td>
                    <td class="mono">{e.request_id ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager path="/audit" query={{}} next={page.next} />
      </>,
    );
  });
}
