// The load generator against a real engine over loopback, through both transports of the
// comparison: uWebSockets.js (the engine's server) and the `ws` library (ws-transport.ts,
// same engine, same MediaCall). One short call each: it is answered, marks are echoed, and
// the engine's per-call report is collected.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { LoadGenerator } from '../../bench/load/generator.ts';
import { startWsMediaServer, type WsMediaServer } from '../../bench/load/ws-transport.ts';
import { startTestEngine, fixture, waitFor, type TestEngine } from '../support/engine.ts';

let t: TestEngine;
let ws: WsMediaServer;
const utt = fixture('human-utt2.ulaw');
const audio = new Uint8Array(8000 + utt.length).fill(0xff);
audio.set(utt, 8000);

beforeAll(async () => {
  t = await startTestEngine({ PERFORMANCE_CACHE_ENABLED: false });
  ws = await startWsMediaServer(t.engine);
});
afterAll(async () => {
  await ws?.close();
  await t?.stop();
});

async function oneCall(mediaUrl?: string, leadMaxMs = 0) {
  const gen = new LoadGenerator({ baseUrl: t.url, mediaUrl, audio, utterances: [{ startMs: 1000, endMs: 1000 + utt.length / 8 }], questions: ['Is there parking at the clinic?'], tailMs: 3000, reports: true, leadMaxMs, seed: 7 });
  await gen.init();
  gen.setTarget(1, 0);
  await waitFor(() => gen.results.length >= 1 && gen.results[0].report !== undefined, 'the first call to finish', 30_000);
  await gen.stop();
  return { gen, r: gen.results[0] };
}

describe('load generator', () => {
  for (const transport of ['uws', 'ws'] as const) {
    it(`runs a call end to end over ${transport}`, async () => {
      const { gen, r } = await oneCall(transport === 'ws' ? `ws://127.0.0.1:${ws.port}/twilio/media` : undefined);
      expect(r.ok).toBe(true);
      expect(r.greetingMs).toBeDefined();
      expect(r.responseMs).toHaveLength(1);
      expect(r.responseMs[0]).not.toBeNull();
      expect(r.marksReceived).toBeGreaterThanOrEqual(2); // greeting + answer
      // Marks echo only once their audio has played; the answer may still be playing at hang-up.
      expect(r.marksEchoed).toBeGreaterThanOrEqual(2);
      expect(r.marksEchoed).toBeLessThanOrEqual(r.marksReceived);
      const turns = r.report!.turns.filter((x) => x.index > 0);
      expect(turns).toHaveLength(1);
      expect(turns[0].latency.turnMs).toBeGreaterThan(0);
      // The caller hears the answer after the engine sent it: caller latency ≥ engine turn latency.
      expect(r.responseMs[0]!).toBeGreaterThanOrEqual(turns[0].latency.turnMs! - 5);
      const s = gen.stats(0, true);
      expect(s.turns).toEqual({ total: 1, answered: 1, failed: 0, byKind: {} });
      expect(s.engine.turnMs.n).toBe(1);
      expect(s.samples!.turnMs).toEqual([turns[0].latency.turnMs]);
    }, 40_000);
  }

  it('measures the answer from the end of speech when the call opens with a random lead of silence', async () => {
    const { r } = await oneCall(undefined, 4000);
    expect(r.ok).toBe(true);
    expect(r.leadMs).toBeGreaterThan(3000); // seed 7 draws 3.9 s
    const turn = r.report!.turns.find((x) => x.index > 0)!;
    // Measured from the unshifted labels, the latency would be longer by the whole lead.
    expect(r.responseMs[0]!).toBeGreaterThanOrEqual(turn.latency.turnMs! - 5);
    expect(r.responseMs[0]!).toBeLessThan(turn.latency.turnMs! + 1500); // + the 500 ms end-of-turn silence and transport
  }, 40_000);

  it('rejects a bad target', () => {
    const gen = new LoadGenerator({ baseUrl: 'http://127.0.0.1:9', audio, utterances: [] });
    expect(() => gen.setTarget(-1)).toThrow(/integer ≥ 0/);
  });
});
