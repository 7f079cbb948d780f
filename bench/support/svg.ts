/**
 * Hand-written SVG pictures of timing runs, no dependencies: a per-user timeline (planned vs actual time
 * of every step) and a histogram of gap errors.
 */

export type LaneStep = { kind: string; plannedMs: number; actualMs?: number };
export type Lane = { label: string; steps: LaneStep[] };

const COLORS: Record<string, string> = {
  mark_seen: '#7f8c8d',
  typing_on: '#2e86de',
  typing_off: '#8e44ad',
  message: '#27ae60',
  react: '#e67e22',
  unreact: '#e67e22',
};
const colorOf = (kind: string) => COLORS[kind] ?? '#c0392b';
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const r1 = (n: number) => Math.round(n * 10) / 10;

/** A "nice" tick step for a span (1, 2 or 5 × 10^k). */
const tickStep = (span: number, target = 10): number => {
  const raw = span / target;
  const pow = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? pow * 10;
};

export type Panel = { heading: string; lanes: readonly Lane[] };

/** One panel per run, stacked; each panel has its own time axis (seconds since the run started). */
export const timelineSvg = (panels: readonly Panel[], title: string, subtitle: string): string => {
  const width = 1100;
  const laneH = 34;
  const panelGap = 70;
  const heights = panels.map((p) => p.lanes.length * laneH + panelGap);
  const height = 60 + heights.reduce((a, h) => a + h, 0) + 30;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="150" y="22" font-size="16" font-weight="600">${esc(title)}</text>`,
    `<text x="150" y="40" fill="#555">${esc(subtitle)}</text>`,
  ];
  let top = 90;
  panels.forEach((panel, p) => {
    out.push(`<text x="150" y="${top - 22}" font-size="13" font-weight="600">${esc(panel.heading)}</text>`);
    out.push(...timelinePanel(panel.lanes, top, width));
    top += heights[p]!;
  });
  const ly = height - 18;
  let lx = 150;
  for (const kind of ['mark_seen', 'typing_on', 'message']) {
    out.push(
      `<circle cx="${lx}" cy="${ly - 4}" r="4" fill="${colorOf(kind)}"/>`,
      `<text x="${lx + 8}" y="${ly}">${kind}</text>`,
    );
    lx += 110;
  }
  out.push(
    `<circle cx="${lx}" cy="${ly - 4}" r="4" fill="none" stroke="#333"/><text x="${lx + 8}" y="${ly}">planned (upper row)</text>`,
    `<circle cx="${lx + 160}" cy="${ly - 4}" r="4" fill="#333"/><text x="${lx + 168}" y="${ly}">actual at the Graph endpoint (lower row)</text>`,
    `<circle cx="${lx + 460}" cy="${ly - 4}" r="4" fill="none" stroke="#333" stroke-dasharray="2 2"/><text x="${lx + 468}" y="${ly}">skipped (late typing_on)</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
};

const timelinePanel = (lanes: readonly Lane[], top: number, width: number): string[] => {
  const left = 150;
  const right = 30;
  const laneH = 34;
  const times = lanes.flatMap((l) => l.steps.flatMap((s) => [s.plannedMs, s.actualMs ?? s.plannedMs]));
  const tMin = Math.min(0, ...times);
  const tMax = Math.max(1, ...times);
  const x = (t: number) => left + ((t - tMin) / (tMax - tMin)) * (width - left - right);
  const out: string[] = [];
  const step = tickStep(tMax - tMin);
  for (let t = Math.ceil(tMin / step) * step; t <= tMax; t += step) {
    const xt = r1(x(t));
    out.push(
      `<line x1="${xt}" y1="${top - 8}" x2="${xt}" y2="${top + lanes.length * laneH}" stroke="#eee"/>`,
      `<text x="${xt}" y="${top + lanes.length * laneH + 16}" text-anchor="middle" fill="#555">${r1(t / 1000)} s</text>`,
    );
  }
  lanes.forEach((lane, i) => {
    const y = top + i * laneH + laneH / 2;
    out.push(
      `<text x="${left - 10}" y="${y + 4}" text-anchor="end">${esc(lane.label)}</text>`,
      `<line x1="${left}" y1="${y}" x2="${width - right}" y2="${y}" stroke="#f4f4f4"/>`,
    );
    for (const s of lane.steps) {
      const c = colorOf(s.kind);
      const xp = r1(x(s.plannedMs));
      if (s.actualMs === undefined) {
        // Planned but never delivered (a skipped typing_on, or a loss): a crossed hollow marker.
        out.push(
          `<circle cx="${xp}" cy="${y - 6}" r="4" fill="none" stroke="${c}" stroke-dasharray="2 2"><title>${s.kind} planned ${r1(s.plannedMs)} ms, not delivered</title></circle>`,
        );
        continue;
      }
      const xa = r1(x(s.actualMs));
      out.push(
        `<line x1="${xp}" y1="${y - 6}" x2="${xa}" y2="${y + 6}" stroke="${c}" stroke-opacity="0.5"/>`,
        `<circle cx="${xp}" cy="${y - 6}" r="4" fill="none" stroke="${c}" stroke-width="1.5"><title>${s.kind} planned ${r1(s.plannedMs)} ms</title></circle>`,
        `<circle cx="${xa}" cy="${y + 6}" r="4" fill="${c}"><title>${s.kind} actual ${r1(s.actualMs)} ms (${s.actualMs >= s.plannedMs ? '+' : ''}${r1(s.actualMs - s.plannedMs)} ms)</title></circle>`,
      );
    }
  });
  return out;
};

export type Series = { label: string; values: readonly number[] };

/** sign(v)·log10(1 + |v|): small errors stay readable next to multi-second tails. */
const signedLog = (v: number) => Math.sign(v) * Math.log10(1 + Math.abs(v));

/** Overlaid histograms (share of each series per bin) on a signed-log axis, as filled step lines. */
export const histogramSvg = (
  series: readonly Series[],
  title: string,
  subtitle: string,
  unit = 'ms',
): string => {
  const width = 1000;
  const height = 420;
  const left = 60;
  const right = 20;
  const top = 60;
  const bottom = 60;
  const all = series.flatMap((s) => [...s.values]);
  const lo = signedLog(Math.min(-10, ...all));
  const hi = signedLog(Math.max(10, ...all));
  const bins = 80;
  const binW = (hi - lo) / bins;
  const shares = series.map((s) => {
    const counts = new Array<number>(bins).fill(0);
    for (const v of s.values)
      counts[Math.max(0, Math.min(bins - 1, Math.floor((signedLog(v) - lo) / binW)))]!++;
    return counts.map((c) => (s.values.length > 0 ? c / s.values.length : 0));
  });
  const maxShare = Math.max(0.01, ...shares.flat());
  const x = (f: number) => left + ((f - lo) / (hi - lo)) * (width - left - right);
  const y = (share: number) => top + (1 - share / maxShare) * (height - top - bottom);
  const palette = ['#2e86de', '#e67e22', '#27ae60', '#8e44ad'];
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="22" font-size="16" font-weight="600">${esc(title)}</text>`,
    `<text x="${left}" y="40" fill="#555">${esc(subtitle)}</text>`,
  ];
  const ticks = [0, 1, 10, 100, 1000, 10_000, 100_000].flatMap((t) => (t === 0 ? [0] : [-t, t]));
  for (const t of ticks) {
    const f = signedLog(t);
    if (f < lo || f > hi) continue;
    const xt = r1(x(f));
    const label = Math.abs(t) >= 1000 ? `${t / 1000} s` : `${t}`;
    out.push(
      `<line x1="${xt}" y1="${top}" x2="${xt}" y2="${height - bottom}" stroke="${t === 0 ? '#999' : '#eee'}"/>`,
      `<text x="${xt}" y="${height - bottom + 16}" text-anchor="middle" fill="#555">${label}</text>`,
    );
  }
  out.push(
    `<text x="${(left + width - right) / 2}" y="${height - bottom + 36}" text-anchor="middle">gap error (actual − planned), ${unit}, signed log scale: early ← 0 → late</text>`,
  );
  for (let k = 0; k <= 4; k++) {
    const share = (maxShare * k) / 4;
    out.push(
      `<text x="${left - 6}" y="${r1(y(share)) + 4}" text-anchor="end" fill="#555">${Math.round(share * 100)}%</text>`,
    );
  }
  shares.forEach((counts, i) => {
    const c = palette[i % palette.length]!;
    const points: string[] = [`${r1(x(lo))},${r1(y(0))}`];
    counts.forEach((share, b) => {
      points.push(`${r1(x(lo + b * binW))},${r1(y(share))}`, `${r1(x(lo + (b + 1) * binW))},${r1(y(share))}`);
    });
    points.push(`${r1(x(hi))},${r1(y(0))}`);
    out.push(
      `<polyline points="${points.join(' ')}" fill="${c}" fill-opacity="0.12" stroke="${c}" stroke-width="1.5"/>`,
      `<rect x="${width - right - 260}" y="${top + i * 18}" width="10" height="10" fill="${c}"/>`,
      `<text x="${width - right - 244}" y="${top + i * 18 + 9}">${esc(series[i]!.label)} (n=${series[i]!.values.length})</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
};
