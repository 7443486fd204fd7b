// GET /dashboard: a self-contained page (nothing fetched from outside the engine), and, in a
// real headless browser (Debian's chromium via playwright-core), live numbers rendered while a
// simulated call runs. Without chromium the browser test is skipped and says why.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { simulateCall } from '../../bench/load/twilio-sim.ts';
import { startTestEngine, fixture, waitFor, type TestEngine } from '../support/engine.ts';
import { chromiumMissing, launchChromium } from '../support/chromium.ts';

let t: TestEngine;
beforeAll(async () => {
  t = await startTestEngine({ PERFORMANCE_CACHE_ENABLED: false });
});
afterAll(async () => {
  await t?.stop();
});

describe('GET /dashboard', () => {
  it('serves one self-contained HTML page that polls the live JSON', async () => {
    const r = await fetch(`${t.url}/dashboard`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/html/);
    const html = await r.text();
    expect(html).toContain('/metrics/live');
    // No CDN, font or script from elsewhere: the engine may run with no internet.
    expect(html).not.toMatch(/(src|href)=["']https?:/i);
    expect(html).not.toMatch(/@import|url\(\s*["']?https?:/i);
    for (const id of ['active-calls', 'turn-p50', 'turn-p95', 'turn-p99', 'cache-hit-rate', 'providers', 'alerts', 'chart']) expect(html).toContain(`data-testid="${id}"`);
  });
});

const missing = chromiumMissing();
describe.skipIf(missing !== null)(`dashboard in headless chromium${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('renders the live numbers while a simulated call runs', async () => {
    const b = await launchChromium();
    const external: string[] = [];
    try {
      const page = await b.newPage();
      page.on('request', (req) => {
        if (!req.url().startsWith(t.url)) external.push(req.url());
      });
      await page.goto(`${t.url}/dashboard`);
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'ok', undefined, { timeout: 10_000 });

      const utt = fixture('human-utt2.ulaw');
      const audio = new Uint8Array(8000 + utt.length).fill(0xff);
      audio.set(utt, 8000);
      const call = simulateCall({ baseUrl: t.url, audio, transcripts: ['Is there parking at the clinic?'], speed: 1, tailMs: 5000 });

      // While the call is up, the page shows it as active.
      await page.waitForFunction(() => document.querySelector('[data-testid="active-calls"]')?.textContent === '1', undefined, { timeout: 10_000 });
      // Once the caller's turn is answered, the page shows its latency, as the engine measured it.
      await page.waitForFunction(() => Number(document.querySelector('[data-testid="turns-total"]')?.textContent) >= 1, undefined, { timeout: 20_000 });
      const shown = Number(await page.textContent('[data-testid="turn-p50"]'));
      const live = await (await fetch(`${t.url}/metrics/live`)).json();
      expect(shown).toBeGreaterThan(0);
      expect(shown).toBe(Math.round(live.stages.turn.p50));
      // The per-stage table and the provider table are filled from the same data.
      expect(await page.textContent('tr[data-stage="turn"]')).toContain(String(live.stages.turn.count));
      expect(await page.textContent('[data-testid="providers"]')).toContain('workflow');
      expect(await page.textContent('[data-testid="cache-hit-rate"]')).toBe('off');
      // The chart was drawn (polyline paths for the percentiles).
      expect(await page.locator('#chart path').count()).toBeGreaterThan(0);
      const r = await call;
      expect(r.closeCode).toBe(1000);
      await page.waitForFunction(() => document.querySelector('[data-testid="active-calls"]')?.textContent === '0', undefined, { timeout: 10_000 });
      expect(Number(await page.evaluate(() => document.body.dataset.updates))).toBeGreaterThan(2);
      expect(external).toEqual([]);
    } finally {
      await b.close();
    }
  }, 60_000);
});
