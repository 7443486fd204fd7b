// Relay mode shares the response cache with Media Streams: a hit answers with the cached text
// at once (one last:true token, no LLM), in the same context partition as the media session.
import { prewarmFaq } from '../../engine/faq-prewarm.ts';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { RelayCaller } from '../../bench/load/relay-sim.ts';
import { startTestEngine, type TestEngine } from '../support/engine.ts';
import type { LlmProvider } from '../../adapters/kit/types.ts';
import { WorkflowResponder } from '../../adapters/local/workflow-responder.ts';
import { buildProviders } from '../../engine/providers/registry.ts';
import { loadConfig } from '../../engine/config.ts';
import { workflowScript } from '../../engine/providers/workflow-script.ts';

let t: TestEngine;
let llmCalls = 0;
beforeAll(async () => {
  // Offline embeddings (no model weights here); the LLM chain counts its requests.
  t = await startTestEngine(
    { PERFORMANCE_CACHE_ENABLED: true, CACHE_EMBEDDING_BACKEND: 'hashing', RELAY_SPECULATION: false },
    {
      providers: (wf) => {
        const inner: LlmProvider = new WorkflowResponder(workflowScript(wf));
        return {
          ...buildProviders(wf, loadConfig({})),
          llm: {
            name: 'counted-workflow',
            stream: (req) => {
              llmCalls++;
              return inner.stream(req);
            },
          },
        };
      },
    },
  );
  // Pre-warming runs in the background at startup; run it for demo-relay and wait for it.
  const wf = t.engine.workflow('demo-relay')!;
  const p = t.engine.providersFor(wf);
  const voices: Record<string, string> = {};
  for (const [lang, v] of Object.entries(wf.voices)) voices[lang] = `${p.tts.name}:${v}`;
  await prewarmFaq(t.engine.cache!, wf, voices);
});
afterAll(async () => {
  await t?.stop();
});

describe('relay answers from the cache', () => {
  it('sends a FAQ answer as one last:true token without asking the LLM', async () => {
    const caller = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    await caller.connect();
    const before = llmCalls;
    const r = await caller.turn('Is there parking at the clinic?');
    const answer = t.engine.workflow('demo-relay')!.faq.find((e) => e.id === 'parking')!.answer;
    expect(r.answer).toBe(answer);
    expect(r.tokens).toBe(1);
    expect(caller.messages.filter((m) => m.type === 'text')).toEqual([{ type: 'text', token: answer, last: true }]);
    expect(llmCalls).toBe(before);
    const rec = t.engine.registry.recentRelay.get(caller.callSid)!.turns[0];
    expect(rec.source).toMatch(/^cache-/);
    expect(rec.latency.turnMs).toBeGreaterThanOrEqual(0);
    await caller.hangup();
  });

  it('streams from the LLM on a miss', async () => {
    const caller = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    await caller.connect();
    const before = llmCalls;
    const r = await caller.turn('Can you tell me something about the weather on Mars?');
    expect(llmCalls).toBe(before + 1);
    expect(r.answer.trim()).toBe(t.engine.workflow('demo-relay')!.fallback);
    expect(r.tokens).toBeGreaterThan(1);
    await caller.hangup();
  });
});
