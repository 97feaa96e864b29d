/**
 * Small server-rendered SVG charts (no script, no inline style: CSP-safe). Each is an image with a
 * text alternative that states the numbers that matter.
 */

const W = 480;
const H = 120;
const PAD = 20;

/** Bars of counts per hour, oldest first. */
export function BarChart({ values, label, hours }: { values: number[]; label: string; hours: string[] }) {
  const max = Math.max(1, ...values);
  const bw = (W - PAD) / values.length;
  const total = values.reduce((a, b) => a + b, 0);
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${W} ${H + PAD}`}
      role="img"
      aria-label={`${label}: ${total} in the last 24 hours, at most ${Math.max(0, ...values)} in one hour`}
    >
      <title>{label}</title>
      <line x1={PAD} y1={H} x2={W} y2={H} class="axis" />
      <text x={0} y={12} class="tick">
        {max}
      </text>
      {values.map((v, i) => {
        const h = (v / max) * (H - 10);
        return (
          <rect x={PAD + i * bw + 1} y={H - h} width={Math.max(1, bw - 2)} height={h} class="bar">
            <title>{`${hours[i]?.slice(11, 16)} UTC: ${v}`}</title>
          </rect>
        );
      })}
      <text x={PAD} y={H + 15} class="tick">
        {`${hours[0]?.slice(11, 16) ?? ''} UTC`}
      </text>
      <text x={W} y={H + 15} class="tick" text-anchor="end">
        now
      </text>
    </svg>
  );
}

/** A line of percentages per hour (gaps where the hour had no attempts). */
export function RateChart({
  succeeded,
  attempts,
  label,
  hours,
}: {
  succeeded: number[];
  attempts: number[];
  label: string;
  hours: string[];
}) {
  const step = (W - PAD) / Math.max(1, attempts.length - 1);
  const points = attempts.map((a, i) =>
    a > 0 ? { x: PAD + i * step, y: H - (succeeded[i]! / a) * (H - 10), pct: Math.round((succeeded[i]! / a) * 100), i } : null,
  );
  const totalA = attempts.reduce((x, y) => x + y, 0);
  const totalS = succeeded.reduce((x, y) => x + y, 0);
  const overall = totalA === 0 ? 'no attempts' : `${Math.round((totalS / totalA) * 100)}% of ${totalA} attempts succeeded`;
  const d = points
    .map((p, i) => (p ? `${i > 0 && points[i - 1] ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}` : ''))
    .filter(Boolean)
    .join(' ');
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H + PAD}`} role="img" aria-label={`${label}: ${overall} in the last 24 hours`}>
      <title>{label}</title>
      <line x1={PAD} y1={H} x2={W} y2={H} class="axis" />
      <line x1={PAD} y1={10} x2={W} y2={10} class="grid" />
      <text x={0} y={14} class="tick">
        100%
      </text>
      <text x={0} y={H} class="tick">
        0%
      </text>
      {d ? <path d={d} class="line" /> : null}
      {points.map((p) =>
        p ? (
          <circle cx={p.x} cy={p.y} r={3} class="dot">
            <title>{`${hours[p.i]?.slice(11, 16)} UTC: ${p.pct}% of ${attempts[p.i]}`}</title>
          </circle>
        ) : null,
      )}
      <text x={W} y={H + 15} class="tick" text-anchor="end">
        now
      </text>
    </svg>
  );
}
