// Issue 17's "done when", as a suite both stores run (restart-sqlite.test.ts,
// restart-postgres.test.ts; one file each, so each runs in a process of its own): after a Media
// Streams call and a relay call, a restarted engine lists both, returns their turns with
// transcripts and stage timings (GET /calls, GET /calls/:sid, the exports), and the call inspector
// shows them in a real browser (Debian's chromium through playwright-core; skipped, saying why,
// without it). The README's screenshots come from screenshot.ts beside this file.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateCall } from '../../bench/load/twilio-sim.ts';
import { simulateRelayCall } from '../../bench/load/relay-sim.ts';
import { startTestEngine, fixture, waitFor, type TestEngine } from '../support/engine.ts';
import { chromiumMissing, launchChromium } from '../support/chromium.ts';
import { postgresMissing, pgSchema } from './pg.ts';

const TOKEN = 'history-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const browserMissing = chromiumMissing();

const MEDIA_SAID = 'Is there parking at the clinic?';
const RELAY_SAID = ['What are your opening hours on weekdays?', 'Do you treat children?'];

export async function restartSuite(kind: 'sqlite' | 'postgres'): Promise<void> {
  const pgMissing = kind === 'postgres' ? await postgresMissing() : null;
  const skip = pgMissing !== null;
  describe.skipIf(skip)(`call history across a restart on ${kind}${skip ? ` (skipped: ${pgMissing})` : ''}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'weaver-history-e2e-'));
    let drop = async () => {};
    let store: Record<string, unknown>;
    let second: TestEngine | undefined;
    let mediaSid = '';
    let relaySid = '';
    /** The media call's turns as the engine ended with them (a barge-in may cut one after it was recorded). */
    let engineTurns: Array<{ index: number; interrupted: boolean; heard?: string }> = [];

    beforeAll(async () => {
      if (kind === 'sqlite') store = { HISTORY_PATH: join(dir, 'history.sqlite') };
      else {
        const s = await pgSchema();
        drop = s.drop;
        store = { DATABASE_URL: s.url };
      }
      const settings = { ...store, WEAVER_API_TOKEN: TOKEN, HISTORY_FLUSH_MS: 50, PERFORMANCE_CACHE_ENABLED: false, RELAY_SPEAKING_CHARS_PER_S: 100_000 };
      const first = await startTestEngine(settings);
      try {
        expect(first.engine.history.status).toBe('ok');
        const utt = fixture('human-utt2.ulaw');
        const audio = new Uint8Array(8000 + utt.length).fill(0xff);
        audio.set(utt, 8000);
        const media = await simulateCall({ baseUrl: first.url, audio, transcripts: [MEDIA_SAID], speed: 1, tailMs: 5000 });
        mediaSid = media.callSid;
        // The engine itself answered the caller (else the history has nothing to show).
        expect(first.engine.registry.recentMedia.get(mediaSid)?.turns.map((x) => x.user)).toEqual([undefined, MEDIA_SAID]);
        engineTurns = first.engine.registry.recentMedia.get(mediaSid)!.turns.map((x) => ({ index: x.index, interrupted: x.interrupted, heard: x.interrupted ? x.heard : undefined }));
        const relay = await simulateRelayCall({ baseUrl: first.url, workflow: 'demo-relay', steps: RELAY_SAID });
        relaySid = relay.callSid;
        await waitFor(() => first.engine.registry.recentRelay.get(relaySid)?.state === 'ended' && first.engine.registry.recentMedia.get(mediaSid)?.state === 'ended', 'both calls to end');
      } finally {
        await first.stop(); // drains the write queue into the store
      }
      second = await startTestEngine(settings);
    }, 90_000);

    afterAll(async () => {
      await second?.stop();
      await drop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('lists both calls after the restart, newest first, with mode, workflow, outcome and quality', async () => {
      const r = await fetch(`${second!.url}/calls`, { headers: auth });
      expect(r.status).toBe(200);
      const { calls } = await r.json();
      expect(calls.map((c: { callSid: string }) => c.callSid)).toEqual([relaySid, mediaSid]);
      const [relay, media] = calls;
      expect(media).toMatchObject({ mode: 'media', workflow: 'demo', turns: 1, languages: ['en-US'] });
      expect(relay).toMatchObject({ mode: 'relay', workflow: 'demo-relay', turns: 2, from: '+15550001111', to: '+15550002222', direction: 'inbound' });
      for (const c of calls) {
        expect(c.outcome).toBeTruthy();
        expect(Date.parse(c.endedAt)).toBeGreaterThanOrEqual(Date.parse(c.startedAt));
        expect(c.quality).toBeGreaterThanOrEqual(0);
        expect(c.quality).toBeLessThanOrEqual(100);
      }
      // The filters reach the store.
      const relayOnly = await (await fetch(`${second!.url}/calls?workflow=demo-relay`, { headers: auth })).json();
      expect(relayOnly.calls.map((c: { callSid: string }) => c.callSid)).toEqual([relaySid]);
      const byText = await (await fetch(`${second!.url}/calls?q=${encodeURIComponent('treat children')}`, { headers: auth })).json();
      expect(byText.calls.map((c: { callSid: string }) => c.callSid)).toEqual([relaySid]);
      expect((await fetch(`${second!.url}/calls`)).status).toBe(401);
    });

    it('returns each call from the store with its turns, transcripts and stage timings', async () => {
      const media = await (await fetch(`${second!.url}/calls/${mediaSid}`, { headers: auth })).json();
      expect(media.stored).toBe(true);
      const greeting = media.turns.find((t: { index: number }) => t.index === 0);
      expect(greeting).toMatchObject({ source: 'greeting' });
      expect(greeting.answer).toMatch(/Harbour Dental/);
      const turn = media.turns.find((t: { index: number }) => t.index === 1);
      expect(turn.user).toBe(MEDIA_SAID);
      expect(turn.answer).toMatch(/park/i);
      expect(turn.source).toBe('llm');
      for (const stage of ['hangoverMs', 'sttMs', 'responseMs', 'ttsMs', 'sendMs', 'turnMs']) expect(turn.latency[stage], stage).toBeGreaterThanOrEqual(0);
      expect(turn.latency.sttMs).toBeGreaterThan(0); // the simulated STT takes SIM_STT_LATENCY_MS
      // Which provider served each stage (the demo's chains of one: no hedge, no failover), and no speculation (MEDIA_SPECULATION is off).
      expect(turn).toMatchObject({ providers: { stt: 'simulated', llm: 'workflow', tts: 'espeak' }, hedges: 0, hedgedTo: [], failovers: 0, failedOverTo: [], speculation: 'none' });
      expect(greeting.providers).toEqual({ tts: 'espeak' });
      expect(media.latency.turnMs.count).toBe(1);
      // Barge-ins as the call ended with them, also on turns recorded before the caller cut them
      // (here the caller talks over the greeting, which was recorded once all its audio was sent).
      expect(engineTurns[0].interrupted).toBe(true);
      expect(media.turns.map((t: { index: number; interrupted: boolean; heard?: string }) => ({ index: t.index, interrupted: t.interrupted, heard: t.heard }))).toEqual(engineTurns);
      expect(media.bargeIns).toBe(engineTurns.filter((t) => t.interrupted).length);
      expect(media.events.map((e: { name: string }) => e.name)).toEqual(expect.arrayContaining(['started', 'ended']));

      const relay = await (await fetch(`${second!.url}/calls/${relaySid}`, { headers: auth })).json();
      expect(relay.turns.map((t: { user?: string }) => t.user)).toEqual(RELAY_SAID);
      for (const t of relay.turns) {
        expect(t.answer.length).toBeGreaterThan(10);
        expect(t).toMatchObject({ providers: { llm: 'workflow' }, hedges: 0, failovers: 0 }); // Twilio does STT and TTS on relay calls
        expect(t.latency.turnMs).toBeGreaterThanOrEqual(t.latency.responseMs);
      }
      expect((await fetch(`${second!.url}/calls/CA${'0'.repeat(32)}`, { headers: auth })).status).toBe(404);
    });

    it('exports both calls as CSV and NDJSON', async () => {
      const csv = await (await fetch(`${second!.url}/calls?format=csv`, { headers: auth })).text();
      const lines = csv.trim().split('\r\n');
      expect(lines[0].split(',').slice(0, 3)).toEqual(['callSid', 'startedAt', 'endedAt']);
      expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual([relaySid, mediaSid]);
      const turns = await (await fetch(`${second!.url}/calls?format=csv&rows=turns`, { headers: auth })).text();
      expect(turns).toContain(`"What are your opening hours on weekdays?"`.replace(/"/g, '')); // no comma: not quoted
      expect(turns.trim().split('\r\n')).toHaveLength(1 + 2 + 2); // header, media greeting + turn, two relay turns
      const nd = await (await fetch(`${second!.url}/calls?format=ndjson`, { headers: auth })).text();
      const rows = nd.trim().split('\n').map((l) => JSON.parse(l));
      expect(rows.map((r) => [r.callSid, r.turns.length])).toEqual([
        [relaySid, 2],
        [mediaSid, 2],
      ]);
    });

    it.skipIf(kind !== 'sqlite' || browserMissing !== null)(`shows both calls and the media call's inspector in a real browser${browserMissing ? ` (skipped: ${browserMissing})` : ''}`, async () => {
      const b = await launchChromium();
      const external: string[] = [];
      try {
        const page = await b.newPage();
        await page.setViewportSize({ width: 1280, height: 1000 });
        page.on('request', (req) => {
          if (!req.url().startsWith(second!.url)) external.push(req.url());
        });
        // From the live dashboard to the calls list, which asks for the API token.
        await page.goto(`${second!.url}/dashboard`);
        await page.click('[data-testid="calls-link"]');
        await page.waitForSelector('#token-form.shown', { timeout: 10_000 });
        await page.fill('#token-input', 'wrong');
        await page.click('#token-form button');
        await page.waitForFunction(() => document.getElementById('token-message')?.textContent?.includes('refused'), undefined, { timeout: 10_000 });
        await page.fill('#token-input', TOKEN);
        await page.click('#token-form button');
        await page.waitForFunction(() => Number(document.body.dataset.loaded) >= 1, undefined, { timeout: 10_000 });
        expect(await page.locator('tr[data-sid]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-sid')))).toEqual([relaySid, mediaSid]);
        expect(await page.textContent('[data-testid="trend-turns"]')).toBe('3');
        expect(await page.locator('#trend-latency circle').count()).toBeGreaterThan(0);

        await page.click(`tr[data-sid="${mediaSid}"] a`);
        await page.waitForFunction(() => Number(document.body.dataset.loaded) >= 1, undefined, { timeout: 10_000 });
        expect(page.url()).toBe(`${second!.url}/dashboard/calls/${mediaSid}`);
        const row = page.locator('#waterfall g[data-turn="1"]');
        expect(await row.locator('rect').evaluateAll((r) => r.map((x) => x.getAttribute('data-stage')))).toEqual(['hangover', 'stt', 'llm', 'tts', 'send']);
        expect(await page.textContent('[data-testid="turn-1"] [data-testid="user"]')).toBe(MEDIA_SAID);
        // Provider and hedges per turn: beside the turn's bar, and in the turn table.
        expect(await row.locator('[data-testid="route"]').textContent()).toBe('workflow');
        const cells = await page.locator('#turn-table tr[data-turn="1"] td').evaluateAll((tds) => Object.fromEntries(tds.map((td) => [td.getAttribute('data-col'), td.textContent])));
        expect(cells).toMatchObject({ source: 'llm', stt: 'simulated', llm: 'workflow', tts: 'espeak', hedges: '0', failovers: '0', speculation: 'none' });
        expect(await page.textContent('[data-testid="turn-0"] [data-testid="answer"]')).toMatch(/Harbour Dental/);
        expect(await page.locator('#events tr[data-kind="call"]').count()).toBe(2);

        // A link with #token=… works too; the token leaves the URL for the tab's storage.
        await page.goto(`${second!.url}/dashboard/calls/${relaySid}#token=${TOKEN}`);
        await page.waitForFunction(() => Number(document.body.dataset.loaded) >= 1, undefined, { timeout: 10_000 });
        expect(await page.locator('#waterfall g[data-turn]').count()).toBe(2);
        expect(await page.textContent('[data-testid="turn-2"] [data-testid="user"]')).toBe(RELAY_SAID[1]);
        expect(await page.textContent('[data-fact="mode"]')).toBe('relay');
        expect(page.url()).toBe(`${second!.url}/dashboard/calls/${relaySid}`);
        expect(external).toEqual([]);
      } finally {
        await b.close();
      }
    }, 60_000);
  });
}
