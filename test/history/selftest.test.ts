// POST /selftest: a simulated call of each mode through the engine's real pipeline, answered with
// each caller turn's stage timings against the targets; the calls land in the history marked as
// self-tests (and stay out of the trends).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestEngine, type TestEngine } from '../support/engine.ts';

const TOKEN = 'selftest-token';
const dir = mkdtempSync(join(tmpdir(), 'weaver-selftest-'));
let t: TestEngine;
beforeAll(async () => {
  t = await startTestEngine({ WEAVER_API_TOKEN: TOKEN, HISTORY_PATH: join(dir, 'history.sqlite'), HISTORY_FLUSH_MS: 20, PERFORMANCE_CACHE_ENABLED: false, RELAY_SPEAKING_CHARS_PER_S: 100_000 });
});
afterAll(async () => {
  await t?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const post = (body?: unknown, token = TOKEN) => fetch(`${t.url}/selftest`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

describe('POST /selftest', () => {
  it('needs the bearer token and a well-formed body', async () => {
    expect((await fetch(`${t.url}/selftest`, { method: 'POST' })).status).toBe(401);
    expect((await post(undefined, 'wrong')).status).toBe(403);
    expect((await post({ modes: ['fax'] })).status).toBe(400);
  });

  it('runs a Media Streams call and a relay call and reports every stage of their turns against the targets', async () => {
    const r = await post();
    expect(r.status).toBe(200);
    const report = await r.json();
    expect(report.targets).toEqual({ turnMs: t.engine.config.PERFORMANCE_TARGET_LATENCY, maxMs: t.engine.config.PERFORMANCE_MAX_LATENCY });
    expect(report.legs.map((l: { mode: string }) => l.mode)).toEqual(['media', 'relay']);
    const [media, relay] = report.legs;
    for (const leg of report.legs) {
      expect(leg.ok, `${leg.mode}: ${leg.error}`).toBe(true);
      expect(leg.turns).toHaveLength(1);
      const turn = leg.turns[0];
      expect(turn.said).toBe('What are your opening hours on weekdays?'); // the workflow's first FAQ question
      expect(turn.answer).toMatch(/Monday/);
      expect(['pass', 'slow', 'fail']).toContain(turn.verdict);
      const byStage = Object.fromEntries(turn.stages.map((s: { stage: string; ms: number }) => [s.stage, s.ms]));
      expect(byStage.turnMs).toBe(turn.turnMs);
      const target = report.targets.turnMs;
      expect(turn.verdict).toBe(turn.turnMs <= target ? 'pass' : turn.turnMs <= report.targets.maxMs ? 'slow' : 'fail');
      for (const s of turn.stages) expect(s.ofTargetPct).toBeCloseTo((100 * s.ms) / target, 0);
    }
    // The media turn went through VAD, the hangover, STT, the LLM and TTS; the relay one has no audio stages.
    expect(media.turns[0].stages.map((s: { stage: string }) => s.stage)).toEqual(expect.arrayContaining(['hangoverMs', 'sttMs', 'responseMs', 'ttsMs', 'sendMs', 'turnMs']));
    expect(media.callerPerceivedMs).toBeGreaterThan(0);
    expect(relay.turns[0].stages.map((s: { stage: string }) => s.stage)).toEqual(expect.arrayContaining(['responseMs', 'turnMs']));
    expect(relay.turns[0].stages.map((s: { stage: string }) => s.stage)).not.toContain('sttMs');
    expect(report.pass).toBe(report.legs.every((l: { turns: Array<{ verdict: string }> }) => l.turns.every((x) => x.verdict === 'pass')));

    // Both calls are in the history as self-tests, and the trends leave them out.
    // Writes are batched off the call path: poll until both calls are stored (or time out).
    const stored = async () => ((await (await fetch(`${t.url}/calls?direction=selftest`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()).calls as Array<{ callSid: string }>).map((c) => c.callSid).sort();
    let sids: string[] = [];
    for (let i = 0; i < 150 && sids.length < 2; i++) {
      sids = await stored();
      if (sids.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    expect(sids).toEqual([media.callSid, relay.callSid].sort());
    const trends = await (await fetch(`${t.url}/history/trends?bucket=hour&from=${Date.now() - 3_600_000}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
    expect(trends.series).toEqual([]);
  }, 60_000);
});
