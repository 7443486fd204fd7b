// Hedging and failover logic over scripted in-memory providers: which provider wins, that
// losers are aborted, that the caller never sees output from two providers, budget and breaker.
// Delays are small and only decide order with wide margins; nothing asserts a duration.
import { describe, expect, it, vi } from 'vitest';
import { ProviderError, type LlmChunk, type LlmProvider, type LlmRequest, type ProviderErrorKind, type TtsProvider, type TtsRequest } from '../../adapters/kit/types.ts';
import { HedgedLlm, HedgedTts, candidates, dropOverlap, overlapLength, remainingTextAfterAudio, continuationMessages } from '../../engine/providers/chain.ts';
import { ProviderHealth, type HealthEvent } from '../../engine/providers/health.ts';
import { HedgeBudget } from '../../engine/providers/hedge.ts';

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ProviderError('x', 'aborted', 'aborted'));
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new ProviderError('x', 'aborted', 'aborted'));
    }, { once: true });
  });
}

interface Plan {
  firstDelayMs?: number;
  hang?: boolean;
  failKind?: ProviderErrorKind;
  /** Throw after this many chunks. */
  failAfter?: number;
  stallAfter?: number;
  text?: string;
}

function scriptedLlm(name: string, plan: () => Plan) {
  const stats = { started: 0, aborted: 0, yielded: 0, requests: [] as LlmRequest[] };
  const provider: LlmProvider = {
    name,
    async *stream(req: LlmRequest): AsyncGenerator<LlmChunk> {
      const p = plan();
      stats.started++;
      stats.requests.push(req);
      req.signal.addEventListener('abort', () => stats.aborted++, { once: true });
      if (p.hang) await sleep(60_000, req.signal);
      if (p.firstDelayMs) await sleep(p.firstDelayMs, req.signal);
      if (p.failKind && p.failAfter === undefined) throw new ProviderError(name, p.failKind, 'scripted failure');
      const words = (p.text ?? `${name} says hello to you`).match(/\S+\s*/g) ?? [];
      for (let i = 0; i < words.length; i++) {
        if (p.failAfter === i) throw new ProviderError(name, p.failKind ?? 'server', 'scripted mid-stream failure');
        if (p.stallAfter === i) await sleep(60_000, req.signal);
        if (req.signal.aborted) return;
        stats.yielded++;
        yield { text: words[i] };
        await sleep(1, req.signal);
      }
    },
  };
  return { provider, stats };
}

const ctx = { callId: 'c', workflow: 'w', language: 'en-US', parameters: {} };
const req = (signal = new AbortController().signal): LlmRequest => ({ ctx, messages: [{ role: 'user', content: 'hi' }], signal });
async function collect(it: AsyncIterable<LlmChunk>): Promise<string> {
  let s = '';
  for await (const c of it) s += c.text;
  return s;
}
const fast = { minDelayMs: 20, maxDelayMs: 30, firstOutputTimeoutMs: 5000, stallTimeoutMs: 5000, minSamples: 1000 };

describe('hedged LLM chain', () => {
  it('hedges a silent primary: the secondary wins, the primary is aborted, only the winner is heard', async () => {
    const a = scriptedLlm('a', () => ({ hang: true }));
    const b = scriptedLlm('b', () => ({}));
    const health = new ProviderHealth();
    const events: HealthEvent[] = [];
    health.events$.subscribe((e) => events.push(e));
    const chain = new HedgedLlm(candidates([a.provider, b.provider]), { health, settings: fast, budgetRatio: 1 });
    expect(await collect(chain.stream(req()))).toBe('b says hello to you');
    expect(a.stats.aborted).toBe(1);
    expect(b.stats.aborted).toBe(0);
    expect(events.map((e) => e.type)).toEqual(['hedge']);
    expect(events[0]).toMatchObject({ provider: 'a', to: 'b' });
    const snap = Object.fromEntries(health.snapshot().providers.map((p) => [p.provider, p]));
    expect(snap.b.ttftMs.count).toBe(1);
    expect(snap.a.ttftMs.count).toBe(0);
    expect(snap.a.hedges).toBe(1);
  });

  it('keeps the primary when it answers first after a hedge, aborting the hedge', async () => {
    const a = scriptedLlm('a', () => ({ firstDelayMs: 80 }));
    const b = scriptedLlm('b', () => ({ firstDelayMs: 3000 }));
    const chain = new HedgedLlm(candidates([a.provider, b.provider]), { settings: fast, budgetRatio: 1 });
    expect(await collect(chain.stream(req()))).toBe('a says hello to you');
    expect(b.stats.started).toBe(1);
    expect(b.stats.aborted).toBe(1);
    expect(b.stats.yielded).toBe(0);
  });

  it('never passes output of two providers, even when both start streaming', async () => {
    // Both answer almost together; whichever is first, the text is one provider's only.
    const a = scriptedLlm('a', () => ({ firstDelayMs: 40 }));
    const b = scriptedLlm('b', () => ({ firstDelayMs: 15 }));
    const chain = new HedgedLlm(candidates([a.provider, b.provider]), { settings: { ...fast, minDelayMs: 20, maxDelayMs: 20 }, budgetRatio: 1 });
    for (let i = 0; i < 5; i++) {
      const text = await collect(chain.stream(req()));
      expect(['a says hello to you', 'b says hello to you']).toContain(text);
    }
  });

  it('fails over on an error before output even with an empty budget; the failure costs a token, the answer refunds ratio', async () => {
    const a = scriptedLlm('a', () => ({ failKind: 'server' }));
    const b = scriptedLlm('b', () => ({}));
    const health = new ProviderHealth();
    const events: HealthEvent[] = [];
    health.on('event', (e: HealthEvent) => events.push(e));
    const budget = new HedgeBudget({ maxTokens: 10, ratio: 0.5 });
    for (let i = 0; i < 8; i++) budget.failure(); // 2 tokens left: no hedge allowed
    const chain = new HedgedLlm(candidates([a.provider, b.provider]), { health, settings: fast, budget });
    expect(await collect(chain.stream(req()))).toBe('b says hello to you');
    expect(events.map((e) => e.type)).toEqual(['failover']);
    expect(budget.totalHedges).toBe(0);
    expect(budget.tokens).toBe(2 - 1 + 0.5);
  });

  it('fails over when the first output exceeds the hard limit (hedging off)', async () => {
    const a = scriptedLlm('a', () => ({ hang: true }));
    const b = scriptedLlm('b', () => ({}));
    const chain = new HedgedLlm(candidates([a.provider, b.provider]), { settings: { ...fast, hedging: false, firstOutputTimeoutMs: 50 } });
    expect(await collect(chain.stream(req()))).toBe('b says hello to you');
    expect(a.stats.aborted).toBe(1);
    expect(chain.health.snapshot().providers.find((p) => p.provider === 'a')!.errorsByKind).toEqual({ timeout: 1 });
  });

  it('finishes a mid-stream failure with the next provider, asking it to continue, without repeating', async () => {
    const full = 'We are open from nine to five on weekdays and ten to two on Saturdays.';
    const a = scriptedLlm('a', () => ({ text: full, failAfter: 5 }));
    // b restarts from scratch despite the instruction: the overlap must be dropped.
    const b = scriptedLlm('b', () => ({ text: full }));
    const chain = new HedgedLlm(candidates([a.provider, b.provider]), { settings: fast });
    const chunks: string[] = [];
    for await (const c of chain.stream(req())) chunks.push(c.text);
    expect(chunks.join('')).toBe(full);
    const cont = b.stats.requests[0].messages;
    expect(cont.at(-2)).toEqual({ role: 'assistant', content: 'We are open from nine ' });
    expect(cont.at(-1)!.content).toMatch(/continue/i);
  });

  it('fails over from a stream that stalls mid-answer', async () => {
    const full = 'One two three four five six.';
    const a = scriptedLlm('a', () => ({ text: full, stallAfter: 2 }));
    const b = scriptedLlm('b', () => ({ text: 'three four five six.' })); // a well-behaved continuation
    const chain = new HedgedLlm(candidates([a.provider, b.provider]), { settings: { ...fast, stallTimeoutMs: 50 } });
    expect(await collect(chain.stream(req()))).toBe(full);
    expect(a.stats.aborted).toBe(1);
  });

  it('throws one ProviderError naming every failure when all providers fail', async () => {
    const a = scriptedLlm('a', () => ({ failKind: 'server' }));
    const b = scriptedLlm('b', () => ({ failKind: 'rate_limited' }));
    const chain = new HedgedLlm(candidates([a.provider, b.provider]), { settings: fast });
    const e = await collect(chain.stream(req())).catch((x) => x);
    expect(e).toBeInstanceOf(ProviderError);
    expect(e.kind).toBe('rate_limited');
    expect(e.message).toMatch(/a: .*scripted failure.*b: /);
  });

  it('aborts every attempt when the caller aborts during the race', async () => {
    const a = scriptedLlm('a', () => ({ hang: true }));
    const b = scriptedLlm('b', () => ({ hang: true }));
    const chain = new HedgedLlm(candidates([a.provider, b.provider]), { settings: fast, budgetRatio: 1 });
    const ac = new AbortController();
    const p = collect(chain.stream(req(ac.signal))).catch((x) => x);
    await vi.waitFor(() => expect(b.stats.started).toBe(1));
    ac.abort();
    const e = await p;
    expect(e.kind).toBe('aborted');
    expect(a.stats.aborted + b.stats.aborted).toBe(2);
  });

  it('aborts the winner when the consumer stops early', async () => {
    const a = scriptedLlm('a', () => ({ text: 'one two three four five' }));
    const chain = new HedgedLlm(candidates([a.provider, scriptedLlm('b', () => ({})).provider]), { settings: fast });
    for await (const c of chain.stream(req())) {
      expect(c.text).toBe('one ');
      break;
    }
    expect(a.stats.aborted).toBe(1);
    expect(a.stats.yielded).toBeLessThan(5);
  });

  it('the budget never starves a provider that only stalls: every stall is hedged, the bucket stays full', async () => {
    let n = 0;
    const a = scriptedLlm('a', () => (n++ % 2 === 0 ? { firstDelayMs: 2000 } : {})); // half the requests stall
    const b = scriptedLlm('b', () => ({}));
    const budget = new HedgeBudget({ maxTokens: 10, ratio: 0.1 });
    // A wide delay (200 ms) so that only the stalls, never a slow healthy answer, are hedged.
    const chain = new HedgedLlm(candidates([a.provider, b.provider]), { settings: { ...fast, minDelayMs: 200, maxDelayMs: 200 }, budget });
    const texts = await Promise.all(Array.from({ length: 30 }, () => collect(chain.stream(req()))));
    expect(budget.totalRequests).toBe(30);
    expect(budget.totalHedges).toBe(15);
    expect(b.stats.started).toBe(15);
    expect(texts.filter((t) => t === 'b says hello to you')).toHaveLength(15);
    expect(a.stats.aborted).toBe(15); // each rescued stall was cancelled, not failed
    expect(budget.tokens).toBe(10);
    expect(budget.refused).toBe(0);
  });

  it('the budget backs off when attempts fail: hedges stop once failures drained half the bucket', async () => {
    // Every request stalls on a and fails on b (an overloaded secondary): hedges are load for nothing.
    const a = scriptedLlm('a', () => ({ firstDelayMs: 150 }));
    const b = scriptedLlm('b', () => ({ failKind: 'rate_limited' }));
    const budget = new HedgeBudget({ maxTokens: 10, ratio: 0.1 });
    const health = new ProviderHealth({ breaker: { failureThreshold: 1000, failureRatio: 1, windowMs: 60_000, minRequests: 1000, cooldownMs: 1000 } });
    const chain = new HedgedLlm(candidates([a.provider, b.provider]), { health, settings: fast, budget });
    const turns = async (n: number) => {
      for (let i = 0; i < n; i++) expect(await collect(chain.stream(req()))).toBe('a says hello to you');
    };
    // Each turn: the hedge fails (−1), a answers (+0.1). 10 → 9.1 → … → 5.5 → 4.6 after six hedges.
    await turns(11);
    expect(b.stats.started).toBe(6);
    expect(budget.refused).toBe(5);
    expect(budget.tokens).toBe(5.1); // 4.6 + five answers
    // Answers refill it: above half again, so the next slow request is hedged.
    await turns(1);
    expect(b.stats.started).toBe(7);
    expect(budget.totalHedges).toBe(7);
  });

  it('opens the breaker on repeated failures, skips the provider, then probes it back', async () => {
    let t = 0;
    let aFails = true;
    const a = scriptedLlm('a', () => (aFails ? { failKind: 'server' } : {}));
    const b = scriptedLlm('b', () => ({}));
    const health = new ProviderHealth({ now: () => t, breaker: { failureThreshold: 3, failureRatio: 1, windowMs: 10_000, minRequests: 100, cooldownMs: 1000 } });
    const events: string[] = [];
    health.events$.subscribe((e) => events.push(`${e.type}:${e.provider}`));
    const chain = new HedgedLlm(candidates([a.provider, b.provider]), { health, settings: fast });
    for (let i = 0; i < 3; i++) expect(await collect(chain.stream(req()))).toBe('b says hello to you');
    expect(health.breaker('a').state).toBe('open');
    await collect(chain.stream(req()));
    expect(a.stats.started).toBe(3); // skipped while open
    t += 1000;
    aFails = false;
    expect(await collect(chain.stream(req()))).toBe('a says hello to you'); // the half-open probe
    expect(health.breaker('a').state).toBe('closed');
    expect(events.filter((e) => e.startsWith('breaker'))).toEqual(['breaker-open:a', 'breaker-half-open:a', 'breaker-close:a']);
  });
});

describe('rescued stalls and the breaker', () => {
  // A stall a hedge rescued counts against the stalled provider's breaker ("silent past its
  // hedge"): a provider that accepts requests and never answers is then skipped instead of
  // costing every turn the hedge delay, since a hedged hang is cancelled before its first-output
  // timeout could count it. Sporadic stalls between answers do not open it: answers reset the
  // streak and keep the failure ratio low.
  it('a provider that hangs on every request is skipped after five rescued stalls', async () => {
    const health = new ProviderHealth();
    const a = scriptedLlm('a', () => ({ hang: true }));
    const b = scriptedLlm('b', () => ({}));
    const chain = new HedgedLlm(candidates([a.provider, b.provider]), { health, settings: fast });
    for (let i = 0; i < 5; i++) expect(await collect(chain.stream(req()))).toBe('b says hello to you');
    expect(health.breaker('a').state).toBe('open');
    expect(await collect(chain.stream(req()))).toBe('b says hello to you');
    expect(a.stats.started).toBe(5); // the sixth turn went straight to b, without a hedge delay
  });

  it('a provider that stalls on one turn in three keeps its breaker closed', async () => {
    const health = new ProviderHealth();
    let n = 0;
    const a = scriptedLlm('a', () => (n++ % 3 === 0 ? { hang: true } : {}));
    const b = scriptedLlm('b', () => ({}));
    const chain = new HedgedLlm(candidates([a.provider, b.provider]), { health, settings: fast });
    const answers: string[] = [];
    for (let i = 0; i < 12; i++) answers.push(await collect(chain.stream(req())));
    expect(answers.filter((x) => x.startsWith('b'))).toHaveLength(4); // every stall rescued by b
    expect(health.breaker('a').state).toBe('closed');
    expect(a.stats.started).toBe(12);
  });
});

describe('hedged TTS chain', () => {
  function scriptedTts(name: string, opts: { failAfter?: number; hang?: boolean; bytesPerChar?: number }) {
    const stats = { texts: [] as string[], voices: [] as string[], aborted: 0 };
    const provider: TtsProvider = {
      name,
      async *synthesize(r: TtsRequest) {
        stats.texts.push(r.text);
        stats.voices.push(r.voice);
        r.signal.addEventListener('abort', () => stats.aborted++, { once: true });
        if (opts.hang) await sleep(60_000, r.signal);
        const total = r.text.length * (opts.bytesPerChar ?? 600);
        for (let at = 0, i = 0; at < total; at += 1600, i++) {
          if (opts.failAfter === i) throw new ProviderError(name, 'server', 'dropped');
          yield new Uint8Array(Math.min(1600, total - at)).fill(name === 'a' ? 1 : 2);
          await sleep(1, r.signal);
        }
      },
    };
    return { provider, stats };
  }

  it('after a mid-sentence failure synthesizes only the rest of the text and never replays audio', async () => {
    const text = 'Thank you for calling Harbour Dental, our team will be with you in a moment.';
    const a = scriptedTts('a', { failAfter: 2 });
    const b = scriptedTts('b', {});
    const chain = new HedgedTts([{ name: 'a', provider: a.provider }, { name: 'b', provider: b.provider, voice: 'b-voice' }], { settings: fast });
    const out: Uint8Array[] = [];
    for await (const c of chain.synthesize({ ctx, text, voice: 'a-voice', language: 'en-US', signal: new AbortController().signal })) out.push(c);
    const aBytes = out.filter((c) => c[0] === 1).reduce((n, c) => n + c.length, 0);
    expect(aBytes).toBe(3200);
    // b got the remainder only, starting at a word boundary after what was spoken, in its own voice.
    expect(b.stats.texts).toHaveLength(1);
    expect(text.endsWith(b.stats.texts[0])).toBe(true);
    expect(b.stats.texts[0].length).toBeLessThan(text.length);
    expect(b.stats.texts[0]).toBe(remainingTextAfterAudio(text, 3200));
    expect(b.stats.voices).toEqual(['b-voice']);
    // No interleaving: all of a's audio, then all of b's.
    const firstB = out.findIndex((c) => c[0] === 2);
    expect(out.slice(firstB).every((c) => c[0] === 2)).toBe(true);
  });

  it('hedges a silent primary and plays only the secondary', async () => {
    const a = scriptedTts('a', { hang: true });
    const b = scriptedTts('b', {});
    const chain = new HedgedTts(candidates([a.provider, b.provider]), { settings: fast, budgetRatio: 1 });
    const out: Uint8Array[] = [];
    for await (const c of chain.synthesize({ ctx, text: 'Hello there.', voice: '', language: 'en-US', signal: new AbortController().signal })) out.push(c);
    expect(out.every((c) => c[0] === 2)).toBe(true);
    expect(a.stats.aborted).toBe(1);
  });
});

describe('seam helpers', () => {
  it('overlapLength finds restarts and seam overlaps, and ignores tiny coincidences', () => {
    expect(overlapLength('We are open ', 'We are open from nine')).toBe('We are open '.length);
    expect(overlapLength('We are open from', ' open from nine to five')).toBe(' open from'.length);
    expect(overlapLength('We are open', ' nine to five')).toBe(0);
    expect(overlapLength('abc a', 'a b')).toBe(0);
  });

  it('dropOverlap releases only the new text', async () => {
    async function* src() {
      for (const t of ['We ', 'are ', 'open ', 'from ', 'nine ', 'to ', 'five.']) yield { text: t };
    }
    let out = '';
    for await (const c of dropOverlap('We are open ', src())) out += c.text;
    expect(out).toBe('from nine to five.');
  });

  it('dropOverlap keeps endCall from a chunk it holds back or cuts whole (a restart that ends the call)', async () => {
    async function* restart() {
      yield { text: 'Goodbye, ' };
      yield { text: 'thanks for calling.' };
      yield { text: '', endCall: true };
    }
    const out = [];
    for await (const c of dropOverlap('Goodbye, thanks for calling.', restart())) out.push(c);
    expect(out.map((c) => c.text).join('')).toBe('');
    expect(out.some((c) => c.endCall)).toBe(true);

    async function* seam() {
      yield { text: 'for calling.', endCall: true };
    }
    const tail = [];
    for await (const c of dropOverlap('Goodbye, thanks ', seam())) tail.push(c);
    expect(tail).toEqual([{ text: 'for calling.', endCall: true }]);
  });

  it('an LLM that fails mid-answer and is finished by the next provider still ends the call', async () => {
    const { provider: a } = scriptedLlm('a', () => ({ text: 'Goodbye, thanks for calling today.', failAfter: 2 }));
    // The continuation comes as one chunk carrying endCall: the seam check holds it back first.
    const b: LlmProvider = {
      name: 'b',
      async *stream() {
        yield { text: 'for calling today.', endCall: true };
      },
    };
    const chain = new HedgedLlm(candidates([a, b]), { settings: fast });
    const out: LlmChunk[] = [];
    for await (const c of chain.stream(req())) out.push(c);
    expect(out.map((c) => c.text).join('')).toBe('Goodbye, thanks for calling today.');
    expect(out.filter((c) => c.endCall)).toHaveLength(1);
  });

  it('remainingTextAfterAudio rounds up to a word boundary and ends at the end', () => {
    const text = 'one two three four five six seven eight nine ten';
    expect(remainingTextAfterAudio(text, 0)).toBe(text);
    const rest = remainingTextAfterAudio(text, 8000); // ~14 characters spoken
    expect(text.endsWith(rest)).toBe(true);
    expect(text.length - rest.length).toBeGreaterThanOrEqual(14);
    expect(remainingTextAfterAudio(text, 8000 * 60)).toBe('');
  });

  it('continuationMessages appends the partial answer and an instruction', () => {
    const m = continuationMessages([{ role: 'user', content: 'q' }], 'partial');
    expect(m.map((x) => x.role)).toEqual(['user', 'assistant', 'user']);
    expect(m[1].content).toBe('partial');
  });
});
