// SIMULATED providers for the load benchmarks: STT, LLM and TTS that cost almost no CPU and
// wait the way real cloud providers do, with latency drawn from configurable distributions.
// What they say is real: STT returns the caller simulator's scripted transcripts, the LLM
// answers from the workflow's FAQ (WorkflowResponder) streamed token by token, and TTS streams
// real recorded speech (espeak-ng fixture audio) of the answer's spoken length.
//
// Registered in the provider registry as "sim-stt", "sim-llm" and "sim-tts"; a spec may
// override any profile field, e.g. {"provider": "sim-llm", "name": "b", "ttftMedianMs": 300}.
// Names contain "simulated" wherever they show (health, logs, results).
import { readFileSync } from 'node:fs';
import type { CallContext, LlmChunk, LlmProvider, LlmRequest, SttProvider, SttResult, SttStream, TtsProvider, TtsRequest, Ulaw } from '../../adapters/kit/types.ts';
import { ProviderError } from '../../adapters/kit/types.ts';
import { InterimReveal, parseTranscripts } from '../../adapters/local/simulated-stt.ts';
import { WorkflowResponder } from '../../adapters/local/workflow-responder.ts';
import { registerProvider, type FactoryContext } from '../../adapters/kit/registry.ts';
import type { WorkflowScript } from '../../adapters/kit/workflow-script.ts';

/**
 * A latency distribution: log-normal fitted to a median and a p95, plus an optional stall
 * tail (with probability tailProb the draw gets tailMs added) for the "stalled first token"
 * that hedging exists for.
 */
export interface LatencyDist {
  medianMs: number;
  p95Ms: number;
  tailProb?: number;
  tailMs?: number;
}

export interface SimProfile {
  /** End of caller speech (the engine's endTurn) → final transcript. */
  sttFinal: LatencyDist;
  /** Request → first token. */
  llmTtft: LatencyDist;
  /** Output speed after the first token. */
  llmTokensPerSec: number;
  /** Request → first audio byte. */
  ttsFirstByte: LatencyDist;
  /** Synthesis time / audio duration after the first byte (< 1: faster than real time). */
  ttsRtf: number;
}

/**
 * Defaults, APPROXIMATE, from providers' public figures as remembered (no internet here to
 * re-check them); they are inputs of the simulation, never our measurements.
 */
export const DEFAULT_PROFILE: SimProfile = {
  sttFinal: { medianMs: 250, p95Ms: 450 },
  llmTtft: { medianMs: 400, p95Ms: 900, tailProb: 0.01, tailMs: 2000 },
  llmTokensPerSec: 80,
  ttsFirstByte: { medianMs: 150, p95Ms: 350 },
  ttsRtf: 0.15,
};

export const PROFILE_SOURCES: Record<keyof SimProfile, string> = {
  sttFinal:
    'Streaming STT final-transcript latency of roughly 200–300 ms after end of speech, as advertised by Deepgram (Nova-2/Nova-3 "sub-300 ms" streaming) and AssemblyAI (Universal-Streaming, ~300 ms); approximate, p95 assumed ~1.8× the median.',
  llmTtft:
    'Time to first token ~0.3–0.6 s for small hosted models such as GPT-4o-mini, per Artificial Analysis\'s public leaderboard (approximate); the 1 % +2 s stall tail is a modelling assumption (the "stalled first token" failure), not a published figure.',
  llmTokensPerSec: 'Output speed ~70–100 tokens/s for GPT-4o-mini-class models, per Artificial Analysis (approximate).',
  ttsFirstByte:
    'Streaming TTS time to first audio ~75–150 ms of model time (ElevenLabs Flash v2.5 "~75 ms", Cartesia Sonic "~90 ms") plus network; Azure Neural TTS first byte in the low hundreds of ms (approximate).',
  ttsRtf: 'Streaming neural TTS synthesizes several times faster than real time (approximate; assumed 0.15).',
};

// ------------------------------------------------------------------------------ sampling

/** Deterministic PRNG (mulberry32), so a seeded run draws the same latencies. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const Z95 = 1.6448536269514722;

export function validateDist(d: LatencyDist, what: string): void {
  if (!(d && Number.isFinite(d.medianMs) && d.medianMs >= 0)) throw new RangeError(`${what}: medianMs must be a number ≥ 0`);
  if (!(Number.isFinite(d.p95Ms) && d.p95Ms >= d.medianMs)) throw new RangeError(`${what}: p95Ms must be a number ≥ medianMs`);
  if (d.tailProb !== undefined && !(d.tailProb >= 0 && d.tailProb <= 1)) throw new RangeError(`${what}: tailProb must be in [0, 1]`);
  if (d.tailMs !== undefined && !(Number.isFinite(d.tailMs) && d.tailMs >= 0)) throw new RangeError(`${what}: tailMs must be ≥ 0`);
}

/** A sampler for `d`: log-normal with the given median and p95, plus the stall tail. */
export function sampler(d: LatencyDist, random: () => number = Math.random): () => number {
  validateDist(d, 'latency distribution');
  const mu = Math.log(Math.max(d.medianMs, 1e-6));
  const sigma = d.p95Ms > d.medianMs && d.medianMs > 0 ? Math.log(d.p95Ms / d.medianMs) / Z95 : 0;
  return () => {
    // Box–Muller; 1 - u keeps log() finite.
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    let v = d.medianMs === 0 ? 0 : Math.exp(mu + sigma * z);
    if (d.tailProb && random() < d.tailProb) v += d.tailMs ?? 0;
    return v;
  };
}

/** Waits `ms`; rejects with ProviderError 'aborted' as soon as a signal fires. */
function wait(ms: number, provider: string, ...signals: AbortSignal[]): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signals.some((s) => s.aborted)) return reject(new ProviderError(provider, 'aborted', 'aborted'));
    const onAbort = () => {
      clearTimeout(timer);
      for (const s of signals) s.removeEventListener('abort', onAbort);
      reject(new ProviderError(provider, 'aborted', 'aborted'));
    };
    const timer = setTimeout(() => {
      for (const s of signals) s.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    for (const s of signals) s.addEventListener('abort', onAbort, { once: true });
  });
}

// ------------------------------------------------------------------------------ STT

class SimSttStream implements SttStream {
  private next = 0;
  private closed = false;
  /** Interim words, simulated as the local simulated STT does (a streaming STT's interims). */
  private readonly interims = new InterimReveal();
  onInterim?: (text: string) => void;
  constructor(
    private readonly name: string,
    private readonly scripted: ReturnType<typeof parseTranscripts>,
    private readonly draw: () => number,
    private readonly openSignal: AbortSignal,
  ) {}
  push(_pcm: Int16Array, speech: boolean): void {
    if (this.closed) return;
    const words = this.interims.push(speech, this.onInterim ? this.scripted[this.next] : undefined);
    if (words !== undefined) this.onInterim!(words);
  }
  async endTurn(signal: AbortSignal): Promise<SttResult> {
    if (this.closed) throw new ProviderError(this.name, 'aborted', 'stream closed');
    await wait(this.draw(), this.name, signal, this.openSignal);
    const t = this.scripted[this.next++];
    this.interims.endTurn();
    if (!t) return { text: '' };
    return t.language ? { text: t.text, language: t.language } : { text: t.text };
  }
  close(): void {
    this.closed = true;
  }
}

export class SimStt implements SttProvider {
  private readonly draw: () => number;
  constructor(
    dist: LatencyDist = DEFAULT_PROFILE.sttFinal,
    readonly name = 'simulated-stt',
    random?: () => number,
  ) {
    this.draw = sampler(dist, random);
  }
  open(ctx: CallContext, signal: AbortSignal): SttStream {
    return new SimSttStream(this.name, parseTranscripts(ctx.parameters?.transcripts, ctx.callId), this.draw, signal);
  }
}

// ------------------------------------------------------------------------------ LLM

/** ~4 characters per token (English). */
const CHARS_PER_TOKEN = 4;

export class SimLlm implements LlmProvider {
  private readonly ttft: () => number;
  private readonly responder: WorkflowResponder;
  constructor(
    workflow: WorkflowScript,
    dist: LatencyDist = DEFAULT_PROFILE.llmTtft,
    private readonly tokensPerSec = DEFAULT_PROFILE.llmTokensPerSec,
    readonly name = 'simulated-llm',
    random?: () => number,
  ) {
    if (!(tokensPerSec > 0)) throw new RangeError(`SimLlm: tokensPerSec must be > 0, got ${tokensPerSec}`);
    this.ttft = sampler(dist, random);
    this.responder = new WorkflowResponder(workflow);
  }
  async *stream(req: LlmRequest): AsyncIterable<LlmChunk> {
    // The answer's words come from the workflow (instant); only the timing is simulated.
    let text = '';
    let cacheable: boolean | undefined;
    let endCall: boolean | undefined;
    for await (const c of this.responder.stream({ ...req })) {
      text += c.text;
      if (c.cacheable === false) cacheable = false;
      if (c.endCall) endCall = true;
    }
    await wait(this.ttft(), this.name, req.signal);
    const perChunk = 2 * CHARS_PER_TOKEN; // two tokens per chunk keeps timers few
    const gapMs = (1000 * 2) / this.tokensPerSec;
    for (let o = 0; o < text.length; o += perChunk) {
      if (o > 0) await wait(gapMs, this.name, req.signal);
      const last = o + perChunk >= text.length;
      const chunk: LlmChunk = { text: text.slice(o, o + perChunk) };
      if (last && cacheable === false) chunk.cacheable = false;
      if (last && endCall) chunk.endCall = true;
      yield chunk;
    }
  }
}

// ------------------------------------------------------------------------------ TTS

/** Spoken characters per second, to size the audio for a text. */
const SPOKEN_CHARS_PER_SECOND = 14;
/** Audio per streamed chunk: 100 ms. */
const CHUNK_BYTES = 800;

let voiceAudio: Uint8Array | undefined;
/** Real recorded speech to stream (espeak-ng fixture, 8 kHz μ-law), looped as needed. */
function speech(): Uint8Array {
  voiceAudio ??= new Uint8Array(readFileSync(new URL('../../test/fixtures/audio/tts-en-hours.ulaw', import.meta.url)));
  return voiceAudio;
}

export class SimTts implements TtsProvider {
  private readonly firstByte: () => number;
  constructor(
    dist: LatencyDist = DEFAULT_PROFILE.ttsFirstByte,
    private readonly rtf = DEFAULT_PROFILE.ttsRtf,
    readonly name = 'simulated-tts',
    random?: () => number,
  ) {
    if (!(rtf >= 0)) throw new RangeError(`SimTts: rtf must be ≥ 0, got ${rtf}`);
    this.firstByte = sampler(dist, random);
  }
  async *synthesize(req: TtsRequest): AsyncIterable<Ulaw> {
    const src = speech();
    const total = Math.max(CHUNK_BYTES, Math.round((req.text.length / SPOKEN_CHARS_PER_SECOND) * 8000));
    await wait(this.firstByte(), this.name, req.signal);
    let o = 0;
    while (o < total) {
      if (o > 0 && this.rtf > 0) await wait((CHUNK_BYTES / 8) * this.rtf, this.name, req.signal);
      const n = Math.min(CHUNK_BYTES, total - o);
      const start = o % src.length;
      const out = new Uint8Array(n);
      const first = Math.min(n, src.length - start);
      out.set(src.subarray(start, start + first));
      if (first < n) out.set(src.subarray(0, n - first), first);
      o += n;
      yield out;
    }
  }
}

// ------------------------------------------------------------------------------ registry

function dist(c: FactoryContext, prefix: string, def: LatencyDist): LatencyDist {
  const d: LatencyDist = {
    medianMs: c.num(`${prefix}MedianMs`, { min: 0 }) ?? def.medianMs,
    p95Ms: c.num(`${prefix}P95Ms`, { min: 0 }) ?? def.p95Ms,
    tailProb: c.num(`${prefix}TailProb`, { min: 0, max: 1 }) ?? def.tailProb,
    tailMs: c.num(`${prefix}TailMs`, { min: 0 }) ?? def.tailMs,
  };
  validateDist(d, `${c.path} ${prefix}`);
  return d;
}

const suffix = (c: FactoryContext) => {
  const n = c.str('name');
  return n ? `:${n}` : '';
};

/** Adds sim-stt, sim-llm and sim-tts to the provider registry (idempotent). */
export function registerSimProviders(profile: SimProfile = DEFAULT_PROFILE): void {
  registerProvider('stt', 'sim-stt', (c) => new SimStt(dist(c, 'final', profile.sttFinal), `simulated-stt${suffix(c)}`));
  registerProvider('llm', 'sim-llm', (c) => new SimLlm(c.workflow, dist(c, 'ttft', profile.llmTtft), c.num('tokensPerSec', { min: 0.1 }) ?? profile.llmTokensPerSec, `simulated-llm${suffix(c)}`));
  registerProvider('tts', 'sim-tts', (c) => new SimTts(dist(c, 'firstByte', profile.ttsFirstByte), c.num('rtf', { min: 0 }) ?? profile.ttsRtf, `simulated-tts${suffix(c)}`));
}

/** Reads a profile from JSON (partial: missing fields keep the defaults); throws a clear error. */
export function parseProfile(raw: string | undefined): SimProfile {
  if (!raw) return DEFAULT_PROFILE;
  let v: Partial<SimProfile>;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new Error(`simulated provider profile is not valid JSON: ${(e as Error).message}`);
  }
  const p: SimProfile = {
    sttFinal: { ...DEFAULT_PROFILE.sttFinal, ...v.sttFinal },
    llmTtft: { ...DEFAULT_PROFILE.llmTtft, ...v.llmTtft },
    llmTokensPerSec: v.llmTokensPerSec ?? DEFAULT_PROFILE.llmTokensPerSec,
    ttsFirstByte: { ...DEFAULT_PROFILE.ttsFirstByte, ...v.ttsFirstByte },
    ttsRtf: v.ttsRtf ?? DEFAULT_PROFILE.ttsRtf,
  };
  validateDist(p.sttFinal, 'sttFinal');
  validateDist(p.llmTtft, 'llmTtft');
  validateDist(p.ttsFirstByte, 'ttsFirstByte');
  if (!(p.llmTokensPerSec > 0)) throw new RangeError('llmTokensPerSec must be > 0');
  if (!(p.ttsRtf >= 0)) throw new RangeError('ttsRtf must be ≥ 0');
  return p;
}
