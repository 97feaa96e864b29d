/**
 * The console's stylesheet, served at `/console/assets/console.css`. Kept as a module (not a .css
 * file) so the compiled build (dist/) carries it without a copy step. Plain CSS; colours meet WCAG AA
 * contrast on white.
 */
export const CONSOLE_CSS = `/* clinic-event-bridge console: plain CSS, no build step. Colours meet WCAG AA contrast on white. */
:root {
  --fg: #1b1f24;
  --muted: #4d5560;
  --bg: #ffffff;
  --panel: #f5f7f9;
  --line: #c9d0d8;
  --accent: #0b5cad;
  --ok: #1a6b2f;
  --ok-bg: #e3f4e8;
  --warn: #7a4b00;
  --warn-bg: #fff1d6;
  --bad: #a4161a;
  --bad-bg: #fde4e4;
  --focus: #b35c00;
}
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -9999px; top: 0; background: var(--bg); padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: 1rem; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .5rem 1.5rem; background: #10243e; color: #fff; }
.top a { color: #fff; }
.brand { margin: 0; font-weight: 700; }
.brand span { font-weight: 400; color: #d6e2f0; }
.top nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
.top nav a { text-decoration: none; padding: .25rem 0; border-bottom: 3px solid transparent; }
.top nav a[aria-current="page"] { border-bottom-color: #ffb45c; }
.top nav a:hover { border-bottom-color: #d6e2f0; }
.signout { margin-left: auto; display: flex; align-items: center; gap: .5rem; }
.who { color: #d6e2f0; }
.who strong { color: #fff; }
main { padding: 1rem 1.5rem 3rem; max-width: 80rem; }
main:focus { outline: none; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; word-break: break-word; }
h2 { font-size: 1.25rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1.05rem; margin: .25rem 0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
.mono, code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .92em; }
.muted { color: var(--muted); }
.help { color: var(--muted); margin: .25rem 0 .75rem; }
.error-text { color: var(--bad); font-weight: 600; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 1rem; margin: 0 0 1rem; }
.narrow { max-width: 34rem; }
label { display: block; font-weight: 600; margin: .25rem 0; }
label.check { font-weight: 400; display: flex; gap: .4rem; align-items: baseline; }
.inline-form label, .inline-form label.check { display: inline; }
input[type=text], input[type=url], input[type=password], input[type=number], input:not([type]), select, textarea, input[type=datetime-local] {
  font: inherit; padding: .35rem .5rem; border: 1px solid #6b7580; border-radius: 4px; background: #fff; color: var(--fg); max-width: 100%;
}
button, .button {
  font: inherit; display: inline-block; padding: .4rem .9rem; border-radius: 4px; border: 1px solid var(--accent);
  background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; line-height: 1.4;
}
button:hover, .button:hover { background: #084a8c; }
button.danger, .button.danger { background: var(--bad); border-color: var(--bad); }
.signout button { background: transparent; border-color: #d6e2f0; }
form.inline { display: inline-block; margin: 0 .5rem .5rem 0; }
.inline-form { margin: .5rem 0 1rem; }
.row { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin-bottom: .5rem; }
.row form.inline { margin: 0; }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: 1rem 0; padding: .5rem 1rem 1rem; }
legend { font-weight: 700; padding: 0 .25rem; }
.types { display: grid; grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr)); gap: .25rem 1rem; }
.types details { border-bottom: 1px solid var(--line); padding: .25rem 0; }
.types summary { cursor: pointer; font-weight: 600; }
.filters { display: flex; flex-wrap: wrap; gap: 0 1rem; align-items: end; }
.filters p { margin: .25rem 0; }
.flash { border-radius: 6px; padding: .5rem 1rem; margin: 0 0 1rem; border: 1px solid; }
.flash p { margin: .25rem 0; }
.flash-notice { background: var(--ok-bg); border-color: var(--ok); }
.flash-error { background: var(--bad-bg); border-color: var(--bad); }
.secret { margin: .5rem 0; }
.secret-row { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
.badge { display: inline-block; padding: 0 .5rem; border-radius: 999px; font-size: .85em; font-weight: 600; border: 1px solid; }
.badge-ok { color: var(--ok); background: var(--ok-bg); }
.badge-warn { color: var(--warn); background: var(--warn-bg); }
.badge-bad { color: var(--bad); background: var(--bad-bg); }
.badge-muted { color: var(--muted); background: var(--panel); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0 0 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; word-break: break-all; }
pre.json, pre.excerpt { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .75rem; overflow: auto; max-height: 32rem; white-space: pre-wrap; word-break: break-all; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); gap: 1rem; }
figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: .25rem; }
svg.chart { width: 100%; height: auto; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
svg.chart .bar { fill: var(--accent); }
svg.chart .axis, svg.chart .grid { stroke: var(--muted); stroke-width: 1; }
svg.chart .grid { stroke-dasharray: 3 3; }
svg.chart .line { fill: none; stroke: var(--ok); stroke-width: 2; }
svg.chart .dot { fill: var(--ok); }
svg.chart .tick { font-size: 11px; fill: var(--muted); }
meter { margin-left: .5rem; vertical-align: middle; }
ul.attention { padding-left: 1.25rem; }
tr.fresh { background: var(--warn-bg); }
.live-state:empty { display: none; }
@media (max-width: 40rem) { main { padding: 1rem; } .signout { margin-left: 0; } }
`;
