// The benchmark's SVG chart writer: well-formed SVG with one path per series, escaped labels,
// reference lines, and empirical CDFs that climb to 100 %.
import { describe, it, expect } from 'vitest';
import { lineChart, cdf, niceStep } from '../../bench/chart.ts';

describe('chart', () => {
  it('draws one path per non-empty series, legends escaped, and reference lines', () => {
    const svg = lineChart({
      title: 'a <b> & c',
      xLabel: 'calls',
      yLabel: 'ms',
      series: [{ name: 'vad', points: [[100, 2], [500, 8], [1000, 25]] }, { name: 'rnnoise "x"', points: [[50, 5], [150, 30]] }, { name: 'empty', points: [] }],
      hLines: [{ y: 20, label: '20 ms limit' }],
      markers: true,
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg.match(/<circle /g)).toHaveLength(5);
    expect(svg).toContain('a &lt;b&gt; &amp; c');
    expect(svg).toContain('rnnoise &quot;x&quot;');
    expect(svg).toContain('20 ms limit');
    expect(svg).not.toContain('NaN');
  });

  it('cdf is sorted, ends at 100 and is empty-safe', () => {
    const pts = cdf([5, 1, 3, 2, 4]);
    expect(pts.map((p) => p[0])).toEqual([1, 2, 3, 4, 5, 5]);
    expect(pts.at(-1)![1]).toBe(100);
    for (let i = 1; i < pts.length; i++) expect(pts[i][1]).toBeGreaterThanOrEqual(pts[i - 1][1]);
    expect(cdf([])).toEqual([]);
  });

  it('picks 1-2-5 axis steps', () => {
    expect(niceStep(1000)).toBe(200);
    expect(niceStep(37)).toBe(10);
    expect(niceStep(0)).toBe(1);
  });
});
