// Every provider of a role down in a live Media Streams call: the caller hears the workflow's
// fallback line, synthesised at startup, instead of silence; the call goes on, or hangs up after
// it when the workflow says so.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../engine/config.ts';
import { buildProviders } from '../../engine/providers/registry.ts';
import type { Workflow } from '../../engine/workflow.ts';
import { simulateCall } from '../../bench/load/twilio-sim.ts';
import { startTestEngine, fixture, labels, type TestEngine } from '../support/engine.ts';

const WORKFLOWS = fileURLToPath(new URL('../../engine/workflows', import.meta.url));
const AUDIO = fixture('call-3turns.ulaw').subarray(0, 8000 * 9); // the first utterance only
const FIRST = labels('call-3turns')[0];

/** The demo's providers, but the LLM always fails and the TTS fails on calls (not at startup). */
function brokenProviders(wf: Workflow) {
  const p = buildProviders(wf, loadConfig({}, {}));
  return {
    ...p,
    llm: { name: 'down-llm', stream: () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('LLM outage')) }) }) },
    tts: {
      name: p.tts.name,
      warmUp: p.tts.warmUp?.bind(p.tts),
      synthesize: (req: Parameters<typeof p.tts.synthesize>[0]) => (req.ctx.callId === 'prewarm' ? p.tts.synthesize(req) : { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('TTS outage')) }) }),
    },
  };
}

// One engine for both cases (a second engine in one test process has missed media turns with Silero).
let t: TestEngine;
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weaver-wf-'));
  cpSync(WORKFLOWS, dir, { recursive: true });
  const demo = JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8'));
  writeFileSync(join(dir, 'demo-hangup.json'), JSON.stringify({ ...demo, id: 'demo-hangup', onAnswerFailure: 'hang-up' }));
  t = await startTestEngine({ PERFORMANCE_CACHE_ENABLED: false, WORKFLOWS_DIR: dir }, { providers: brokenProviders });
});
afterAll(async () => {
  await t?.stop();
});

describe('every provider down', () => {
  it('plays the pre-synthesised fallback line and the call goes on', async () => {
    const r = await simulateCall({ baseUrl: t.url, audio: AUDIO, transcripts: ['Is there parking at the clinic?'], speed: 2, tailMs: 3000 });
    const turn = t.engine.recent.get(r.callSid)!.turns.find((x) => x.index === 1)!;
    expect(turn.source).toBe('fallback');
    expect(turn.answer).toBe(t.engine.workflow('demo')!.fallback);
    expect(turn.audioBytes).toBeGreaterThan(4000); // half a second or more of speech, not silence
    // Agent audio reached the caller after the caller stopped speaking (the greeting failed: TTS is down).
    expect(r.mediaAt.some((at) => at > FIRST.endMs)).toBe(true);
    expect(r.closeCode).not.toBe(1011);
  });

  it('hangs up after the fallback line when the workflow says onAnswerFailure: hang-up', async () => {
    const r = await simulateCall({ baseUrl: t.url, workflow: 'demo-hangup', audio: AUDIO, transcripts: ['Is there parking at the clinic?'], speed: 2, tailMs: 8000 });
    expect(r.closeCode).toBe(1000);
    expect(r.closeReason).toBe('agent ended the call after playback');
    expect(t.engine.recent.get(r.callSid)!.turns.find((x) => x.index === 1)!.source).toBe('fallback');
  });
});
