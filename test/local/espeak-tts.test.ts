import { describe, it, expect, afterAll } from 'vitest';
import { EspeakTts, espeakVoiceCandidates } from '../../adapters/local/espeak-tts.ts';
import { ProviderError, type TtsRequest } from '../../adapters/kit/types.ts';
import { decodeUlaw } from '../../adapters/kit/ulaw.ts';

const tts = new EspeakTts();
afterAll(() => EspeakTts.shutdown());

function req(text: string, voice: string, language: string, signal = new AbortController().signal): TtsRequest {
  return { ctx: { callId: 'test', workflow: 'demo', language, parameters: {} }, text, voice, language, signal };
}
async function collect(r: TtsRequest): Promise<{ chunks: number; audio: Uint8Array }> {
  const parts: Uint8Array[] = [];
  for await (const c of tts.synthesize(r)) parts.push(c);
  const audio = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (audio.set(p, o), (o += p.length));
  return { chunks: parts.length, audio };
}
function rms(u: Uint8Array): number {
  const p = decodeUlaw(u);
  let s = 0;
  for (const v of p) s += v * v;
  return Math.sqrt(s / p.length);
}

describe('EspeakTts', () => {
  it('speaks English as non-silent 8 kHz μ-law of plausible length, in several chunks', async () => {
    const text = 'We are open Monday to Friday from eight in the morning to six in the evening.';
    const { chunks, audio } = await collect(req(text, 'en-us', 'en-US'));
    const seconds = audio.length / 8000;
    // ~14 words at 175 wpm ≈ 5 s; allow a wide band around it.
    expect(seconds).toBeGreaterThan(2.5);
    expect(seconds).toBeLessThan(9);
    expect(chunks).toBeGreaterThan(3); // streamed, not one blob
    expect(rms(audio)).toBeGreaterThan(300);
  });

  it('speaks Cantonese with the voice picked from the language when none is given', async () => {
    expect(espeakVoiceCandidates('', 'zh-HK')[0]).toBe('yue');
    const { audio } = await collect(req('我哋星期一至五朝早八點到夜晚六點開門。', '', 'zh-HK'));
    expect(audio.length / 8000).toBeGreaterThan(1.5);
    expect(audio.length / 8000).toBeLessThan(8);
    expect(rms(audio)).toBeGreaterThan(300);
  });

  it('falls back to the language when the voice is unknown, and says nothing for empty text', async () => {
    const { audio } = await collect(req('Hola, buenos días.', 'no-such-voice', 'es-ES'));
    expect(audio.length).toBeGreaterThan(4000);
    expect((await collect(req('   ', 'en-us', 'en-US'))).audio.length).toBe(0);
  });

  it('stops yielding and throws ProviderError(aborted) when aborted mid-stream', async () => {
    const ac = new AbortController();
    let got = 0;
    let err: unknown;
    try {
      for await (const c of tts.synthesize(req('This sentence is long. '.repeat(40), 'en-us', 'en-US', ac.signal))) {
        got += c.length;
        if (got > 1600) ac.abort();
      }
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).kind).toBe('aborted');
    expect(got / 8000).toBeLessThan(5); // the full text would be ~40 s
    // The shared worker is still usable after an abort.
    expect((await collect(req('Still here.', 'en-us', 'en-US'))).audio.length).toBeGreaterThan(2000);
  });

  it('throws aborted at once for an already-aborted signal', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(collect(req('hello', 'en-us', 'en-US', ac.signal))).rejects.toMatchObject({ kind: 'aborted' });
  });

  it('rejects out-of-range options', () => {
    expect(() => new EspeakTts({ rate: 5 })).toThrow(/rate/);
  });
});
