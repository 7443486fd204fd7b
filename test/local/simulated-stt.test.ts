import { describe, it, expect } from 'vitest';
import { SimulatedStt, parseTranscripts } from '../../adapters/local/simulated-stt.ts';
import type { CallContext } from '../../adapters/kit/types.ts';

const ctx = (transcripts?: string): CallContext => ({ callId: 'c1', workflow: 'demo', language: 'en-US', parameters: transcripts === undefined ? {} : { transcripts } });
const live = () => new AbortController().signal;

describe('SimulatedStt', () => {
  it('returns the scripted transcripts in order, then empty ones', async () => {
    const s = new SimulatedStt({ latencyMs: 1 }).open(ctx(JSON.stringify(['hello', { text: 'hola', language: 'es-ES' }])), live());
    s.push(new Int16Array(160), true);
    expect(await s.endTurn(live())).toEqual({ text: 'hello' });
    expect(await s.endTurn(live())).toEqual({ text: 'hola', language: 'es-ES' });
    expect(await s.endTurn(live())).toEqual({ text: '' });
    expect(await s.endTurn(live())).toEqual({ text: '' });
    s.close();
  });

  it('treats invalid or non-array JSON as an empty script', async () => {
    for (const bad of ['not json', '{"a":1}', '42']) {
      const s = new SimulatedStt({ latencyMs: 0 }).open(ctx(bad), live());
      expect(await s.endTurn(live())).toEqual({ text: '' });
    }
    expect(parseTranscripts(undefined)).toEqual([]);
    expect(parseTranscripts('["a", 3, {"text":"b"}]')).toEqual([{ text: 'a' }, { text: 'b' }]);
  });

  it('aborts a pending endTurn with ProviderError(aborted) without consuming the transcript', async () => {
    const s = new SimulatedStt({ latencyMs: 5 }).open(ctx('["first"]'), live());
    const ac = new AbortController();
    const p = s.endTurn(ac.signal);
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'ProviderError', kind: 'aborted' });
    expect(await s.endTurn(live())).toEqual({ text: 'first' });
  });

  it('aborts when the stream-level signal fires, and rejects after close()', async () => {
    const open = new AbortController();
    const s = new SimulatedStt({ latencyMs: 60_000 }).open(ctx('["x"]'), open.signal);
    const p = s.endTurn(live());
    open.abort();
    await expect(p).rejects.toMatchObject({ kind: 'aborted' });
    const s2 = new SimulatedStt({ latencyMs: 0 }).open(ctx('["x"]'), live());
    s2.close();
    await expect(s2.endTurn(live())).rejects.toMatchObject({ kind: 'aborted' });
  });

  it('reveals the scripted transcript word by word in proportion to speech time (a simulation)', async () => {
    // 2 s of speech for 4 words: a word about every 500 ms, shown half-way through it; the last near the end.
    const s = new SimulatedStt({ latencyMs: 0 }).open(ctx(JSON.stringify([{ text: 'Do you treat children?', speechMs: 2000 }, 'Next one'])), live());
    const seen: string[] = [];
    s.onInterim = (t) => seen.push(t);
    const pcm = new Int16Array(160);
    for (let i = 0; i < 10; i++) s.push(pcm, false); // silence reveals nothing
    expect(seen).toEqual([]);
    for (let i = 0; i < 50; i++) s.push(pcm, true); // 1 s
    expect(seen.at(-1)).toBe('Do you ');
    expect(seen).not.toContain('Do you treat children?');
    for (let i = 0; i < 50; i++) s.push(pcm, true); // 2 s
    expect(seen).toEqual(['Do ', 'Do you ', 'Do you treat ', 'Do you treat children?']);
    expect(await s.endTurn(live())).toEqual({ text: 'Do you treat children?' });
    // The next transcript carries no length: no interim words for it (they could not keep pace)…
    seen.length = 0;
    for (let i = 0; i < 100; i++) s.push(pcm, true);
    expect(seen).toEqual([]);
    s.close();
    // …unless a pace is configured.
    const paced = new SimulatedStt({ latencyMs: 0, msPerWord: 300 }).open(ctx(JSON.stringify(['Next one'])), live());
    paced.onInterim = (t) => seen.push(t);
    for (let i = 0; i < 10; i++) paced.push(pcm, true);
    expect(seen).toEqual(['Next ']);
    paced.close();
  });

  it('reveals each turn its own transcript (the split words are kept per script, not reused)', async () => {
    const s = new SimulatedStt({ latencyMs: 0 }).open(ctx(JSON.stringify([{ text: 'alpha beta', speechMs: 400 }, { text: 'gamma delta epsilon', speechMs: 600 }])), live());
    const seen: string[] = [];
    s.onInterim = (t) => seen.push(t);
    const pcm = new Int16Array(160);
    for (let i = 0; i < 20; i++) s.push(pcm, true);
    expect(seen.at(-1)).toBe('alpha beta');
    await s.endTurn(live());
    seen.length = 0;
    for (let i = 0; i < 30; i++) s.push(pcm, true);
    expect(seen.at(-1)).toBe('gamma delta epsilon');
    expect(seen.every((t) => t.startsWith('gamma'))).toBe(true);
    s.close();
  });

  it('keeps a stray blip of speech from starting the reveal clock', () => {
    const s = new SimulatedStt({ latencyMs: 0 }).open(ctx(JSON.stringify([{ text: 'one two three four', speechMs: 4000 }])), live());
    const seen: string[] = [];
    s.onInterim = (t) => seen.push(t);
    const pcm = new Int16Array(160);
    s.push(pcm, true); // a click
    for (let i = 0; i < 100; i++) s.push(pcm, false); // 2 s later…
    for (let i = 0; i < 10; i++) s.push(pcm, true); // …200 ms of real speech
    expect(seen).toEqual([]);
    s.close();
  });

  it('validates its options', () => {
    expect(() => new SimulatedStt({ latencyMs: -1 })).toThrow(/latencyMs/);
    expect(new SimulatedStt({ latencyMs: 5 }).name).toBe('simulated');
    expect(() => new SimulatedStt({ latencyMs: 5, msPerWord: 0 })).toThrow(/msPerWord/);
  });
});
