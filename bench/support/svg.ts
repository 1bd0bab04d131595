/** A minimal line chart as an SVG string: no dependency needed for two series over time. */
export interface Series {
  name: string;
  color: string;
  points: readonly [number, number][];
}

/** Renders series on shared axes. */
export function lineChart(
  title: string,
  series: readonly Series[],
  yLabel: string,
  width = 720,
  height = 280,
): string {
  const pad = { left: 56, right: 16, top: 32, bottom: 36 };
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const y1 = Math.max(...ys) * 1.1 || 1;
  const sx = (x: number): number => pad.left + ((x - x0) / (x1 - x0 || 1)) * (width - pad.left - pad.right);
  const sy = (y: number): number => height - pad.bottom - (y / y1) * (height - pad.top - pad.bottom);
  const lines = series.map(
    (s) =>
      `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`,
  );
  const legend = series.map(
    (s, i) =>
      `<text x="${pad.left + 10 + i * 160}" y="${pad.top - 10}" fill="${s.color}" font-size="12">${s.name}</text>`,
  );
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const y = f * y1;
    return `<text x="${pad.left - 6}" y="${sy(y) + 4}" text-anchor="end" font-size="10">${Math.round(y)}</text><line x1="${pad.left}" x2="${width - pad.right}" y1="${sy(y)}" y2="${sy(y)}" stroke="#eee"/>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13">${title}</text>`,
    ...ticks,
    `<text x="12" y="${height / 2}" font-size="11" transform="rotate(-90 12 ${height / 2})" text-anchor="middle">${yLabel}</text>`,
    `<text x="${width / 2}" y="${height - 6}" font-size="11" text-anchor="middle">interval</text>`,
    ...lines,
    ...legend,
    '</svg>',
  ].join('\n');
}
