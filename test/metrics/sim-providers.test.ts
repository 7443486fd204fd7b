// The simulated providers of the load benchmark: the latency sampler follows its configured
// median and p95 (seeded draws, no clock involved), the LLM streams the workflow's real FAQ
// answer and stops on abort, TTS streams real audio sized to the text, and the registry builds
// them from workflow specs with clear errors for bad options.
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { sampler, rng, SimLlm, SimTts, SimStt, registerSimProviders, parseProfile, DEFAULT_PROFILE, PROFILE_SOURCES } from '../../bench/load/sim-providers.ts';
import { percentiles } from '../../bench/load/stats.ts';
import { parseWorkflow } from '../../engine/workflow.ts';
import { buildProviders } from '../../engine/providers/registry.ts';
import { loadConfig } from '../../engine/config.ts';
import { ProviderError } from '../../adapters/kit/types.ts';
import { workflowScript } from '../../engine/providers/workflow-script.ts';

const demo = parseWorkflow(JSON.parse(readFileSync(new URL('../../engine/workflows/demo.json', import.meta.url), 'utf8')), 'demo.json');
const ctx = { callId: 'CAtest', workflow: 'demo', language: 'en-US', parameters: {} };

describe('sampler', () => {
  it('draws a log-normal with the configured median and p95', () => {
    const draw = sampler({ medianMs: 400, p95Ms: 900 }, rng(42));
    const p = percentiles(Array.from({ length: 20000 }, draw));
    expect(Math.abs(p.p50! - 400) / 400).toBeLessThan(0.05);
    expect(Math.abs(p.p95! - 900) / 900).toBeLessThan(0.07);
  });

  it('adds the stall tail with its probability', () => {
    const draw = sampler({ medianMs: 100, p95Ms: 100, tailProb: 0.1, tailMs: 5000 }, rng(1));
    const v = Array.from({ length: 10000 }, draw);
    const stalled = v.filter((x) => x > 1000).length / v.length;
    expect(stalled).toBeGreaterThan(0.08);
    expect(stalled).toBeLessThan(0.12);
  });

  it('rejects a p95 below the median', () => {
    expect(() => sampler({ medianMs: 400, p95Ms: 100 })).toThrow(/p95Ms/);
  });
});

describe('SimLlm', () => {
  it("streams the workflow's FAQ answer in pieces", async () => {
    const llm = new SimLlm(workflowScript(demo), { medianMs: 1, p95Ms: 2 }, 10_000);
    let text = '';
    let chunks = 0;
    for await (const c of llm.stream({ ctx, messages: [{ role: 'user', content: 'Is there parking at the clinic?' }], signal: new AbortController().signal })) {
      text += c.text;
      chunks++;
    }
    expect(text).toBe(demo.faq.find((e) => e.id === 'parking')!.answer);
    expect(chunks).toBeGreaterThan(3);
  });

  it('stops with an aborted ProviderError when the signal fires', async () => {
    const llm = new SimLlm(workflowScript(demo), { medianMs: 5000, p95Ms: 5000 });
    const ac = new AbortController();
    const it = llm.stream({ ctx, messages: [{ role: 'user', content: 'Where is the clinic located?' }], signal: ac.signal })[Symbol.asyncIterator]();
    const next = it.next();
    ac.abort();
    await expect(next).rejects.toMatchObject({ kind: 'aborted' });
  });
});

describe('SimTts and SimStt', () => {
  it('TTS streams real μ-law speech sized to the text', async () => {
    const tts = new SimTts({ medianMs: 0, p95Ms: 0 }, 0);
    const parts: Uint8Array[] = [];
    const text = 'We are open Monday to Friday from eight to six.'; // 47 chars ≈ 3.4 s at 14 chars/s
    for await (const a of tts.synthesize({ ctx, text, voice: '', language: 'en-US', signal: new AbortController().signal })) parts.push(a);
    const bytes = parts.reduce((n, p) => n + p.length, 0);
    expect(bytes).toBe(Math.round((text.length / 14) * 8000));
    expect(parts.some((p) => p.some((b) => b !== 0xff && b !== 0x7f))).toBe(true);
  });

  it('STT returns the scripted transcripts in order, then empty', async () => {
    const stt = new SimStt({ medianMs: 0, p95Ms: 0 });
    const s = stt.open({ ...ctx, parameters: { transcripts: JSON.stringify(['one', 'two']) } }, new AbortController().signal);
    const sig = new AbortController().signal;
    expect((await s.endTurn(sig)).text).toBe('one');
    expect((await s.endTurn(sig)).text).toBe('two');
    expect((await s.endTurn(sig)).text).toBe('');
    s.close();
    await expect(s.endTurn(sig)).rejects.toBeInstanceOf(ProviderError);
  });
});

describe('registry', () => {
  it('builds sim providers from specs, hedged when the LLM chain has two', () => {
    registerSimProviders();
    const wf = { ...demo, providers: { stt: [{ provider: 'sim-stt' }], llm: [{ provider: 'sim-llm', name: 'a' }, { provider: 'sim-llm', name: 'b', ttftMedianMs: 100, ttftP95Ms: 200 }], tts: [{ provider: 'sim-tts', rtf: 0.2 }] } };
    const p = buildProviders(wf, loadConfig({}));
    expect(p.stt.name).toBe('simulated-stt');
    expect(p.llm.name).toContain('simulated-llm:a');
    expect(p.llm.name).toContain('simulated-llm:b');
    expect(p.tts.name).toBe('simulated-tts');
  });

  it('names a bad option clearly', () => {
    registerSimProviders();
    const wf = { ...demo, providers: { ...demo.providers, llm: [{ provider: 'sim-llm', ttftMedianMs: 500, ttftP95Ms: 100 }] } };
    expect(() => buildProviders(wf, loadConfig({}))).toThrow(/ttft: p95Ms must be a number ≥ medianMs/);
  });

  it('parses a partial profile and documents a source for every default', () => {
    const p = parseProfile('{"llmTokensPerSec": 200, "llmTtft": {"medianMs": 150}}');
    expect(p.llmTokensPerSec).toBe(200);
    expect(p.llmTtft.medianMs).toBe(150);
    expect(p.sttFinal).toEqual(DEFAULT_PROFILE.sttFinal);
    expect(() => parseProfile('{nope')).toThrow(/not valid JSON/);
    for (const k of Object.keys(DEFAULT_PROFILE)) expect(PROFILE_SOURCES[k as keyof typeof PROFILE_SOURCES]).toMatch(/approximate/);
  });
});
