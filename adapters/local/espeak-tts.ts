// Local TTS with no keys: eSpeak NG compiled to JavaScript/WASM (@echogarden/espeak-ng-emscripten).
// The module synthesises synchronously (≈ 50–300 ms of CPU per sentence), which would stall
// every call on the engine's event loop, so it runs in one dedicated worker thread. The worker
// posts each ~100 ms PCM buffer as eSpeak produces it; the main thread resamples it to 8 kHz
// (band-limited) and yields μ-law, so the first audio leaves long before the sentence is done.
// Requests are serialised in the worker (the module is not re-entrant); an abort flag in shared
// memory stops a running synthesis at the next buffer.
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { TtsProvider, TtsRequest, Ulaw } from '../kit/types.ts';
import { ProviderError } from '../kit/types.ts';
import { StreamingResampler } from '../audio.ts';
import { encodeUlaw } from '../kit/ulaw.ts';
import { silentLogger, type Logger } from '../kit/log.ts';

export interface EspeakOptions {
  /** Speaking rate in words per minute (eSpeak default 175). */
  rate?: number;
  /** Base pitch 0..100 (eSpeak default 50). */
  pitch?: number;
  /** Where its lines go (default: nowhere). */
  log?: Logger;
}

type Voicing = { rate: number; pitch: number };

// Worker body, plain JS so it runs the same under tsx, vitest and compiled builds (no loader).
const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
let engine;
const ready = import(workerData.moduleUrl).then(async (m) => {
  const mod = await m.default();
  engine = new mod.eSpeakNGWorker();
  parentPort.postMessage({ type: 'ready', sampleRate: engine.samplerate });
});
ready.catch((e) => parentPort.postMessage({ type: 'fatal', message: String(e && e.stack || e) }));
let queue = Promise.resolve();
parentPort.on('message', (req) => { queue = queue.then(() => run(req)); });
async function run(req) {
  const flag = new Int32Array(req.abort);
  try {
    await ready;
    if (Atomics.load(flag, 0)) return parentPort.postMessage({ id: req.id, type: 'done', aborted: true });
    let voice = null;
    for (const v of req.voices) if (engine.set_voice(v) === 0) { voice = v; break; }
    if (voice === null) return parentPort.postMessage({ id: req.id, type: 'error', kind: 'bad_request', message: 'no eSpeak voice among ' + JSON.stringify(req.voices) });
    engine.rate = req.rate;
    engine.pitch = req.pitch;
    let aborted = false;
    engine.synthesize(req.text, (samples) => {
      if (Atomics.load(flag, 0)) { aborted = true; return true; } // true = stop synthesis
      if (samples.length) parentPort.postMessage({ id: req.id, type: 'audio', samples }, [samples.buffer]);
      return false;
    });
    parentPort.postMessage({ id: req.id, type: 'done', aborted, voice });
  } catch (e) {
    parentPort.postMessage({ id: req.id, type: 'error', kind: 'server', message: String(e && e.message || e) });
  }
}
`;

type WorkerMsg =
  | { type: 'ready'; sampleRate: number }
  | { type: 'fatal'; message: string }
  | { id: number; type: 'audio'; samples: Int16Array }
  | { id: number; type: 'done'; aborted: boolean; voice?: string }
  | { id: number; type: 'error'; kind: 'bad_request' | 'server'; message: string };
type RequestMsg = Exclude<WorkerMsg, { type: 'ready' } | { type: 'fatal' }>;

/** The shared synthesis thread: created on first use, unref'd while idle, recreated if it dies. */
class EspeakThread {
  private worker: Worker | null = null;
  private sampleRate: Promise<number> | null = null;
  private nextId = 1;
  private readonly listeners = new Map<number, (m: RequestMsg | { type: 'crash'; message: string }) => void>();

  private start(logger: Logger): Promise<number> {
    const moduleUrl = pathToFileURL(createRequire(import.meta.url).resolve('@echogarden/espeak-ng-emscripten')).href;
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { moduleUrl }, name: 'espeak-tts' });
    this.worker = w;
    w.unref();
    const t0 = performance.now();
    this.sampleRate = new Promise<number>((resolve, reject) => {
      const fail = (message: string) => {
        if (this.worker === w) {
          this.worker = null;
          this.sampleRate = null;
        }
        reject(new ProviderError('espeak', 'server', `eSpeak worker failed: ${message}`));
        for (const l of [...this.listeners.values()]) l({ type: 'crash', message });
        this.listeners.clear();
      };
      w.on('message', (m: WorkerMsg) => {
        if (m.type === 'ready') {
          logger.info({ initMs: Math.round(performance.now() - t0), sampleRate: m.sampleRate }, 'eSpeak NG loaded');
          resolve(m.sampleRate);
        } else if (m.type === 'fatal') {
          fail(m.message);
          void w.terminate();
        } else this.listeners.get(m.id)?.(m);
      });
      w.on('error', (e) => fail(e.message));
      w.on('exit', (code) => fail(`worker exited with code ${code}`));
    });
    this.sampleRate.catch(() => {}); // surfaced to whoever awaits it
    return this.sampleRate;
  }

  /** Queues one synthesis; `onMsg` receives its messages. Returns the id and the worker's sample rate. */
  async request(text: string, voices: string[], opts: Voicing, abort: SharedArrayBuffer, onMsg: (m: RequestMsg | { type: 'crash'; message: string }) => void, logger: Logger): Promise<{ id: number; sampleRate: number }> {
    const sampleRate = await (this.sampleRate ?? this.start(logger));
    const id = this.nextId++;
    this.listeners.set(id, onMsg);
    this.worker!.ref(); // keep the process alive while a caller waits on audio
    this.worker!.postMessage({ id, text, voices, rate: opts.rate, pitch: opts.pitch, abort });
    return { id, sampleRate };
  }

  release(id: number): void {
    this.listeners.delete(id);
    if (this.listeners.size === 0) this.worker?.unref();
  }

  async terminate(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.sampleRate = null;
    if (w) await w.terminate();
  }
}

const thread = new EspeakThread();

/** Locale → eSpeak voice where the obvious lower-casing does not name one. */
const LANGUAGE_VOICES: Record<string, string> = {
  en: 'en-us',
  'en-gb': 'en',
  'en-ie': 'en',
  'en-au': 'en',
  'en-nz': 'en',
  zh: 'cmn',
  'zh-cn': 'cmn',
  'zh-sg': 'cmn',
  'zh-tw': 'cmn',
  'zh-hans': 'cmn',
  'zh-hant': 'cmn',
  'zh-hk': 'yue',
  'zh-mo': 'yue',
  yue: 'yue',
  'fr-fr': 'fr',
  'es-es': 'es',
  'es-mx': 'es-419',
  'es-us': 'es-419',
  'pt-pt': 'pt',
  'de-de': 'de',
  'it-it': 'it',
  'ja-jp': 'ja',
  'ko-kr': 'ko',
  nb: 'nb',
  no: 'nb',
};

/** Voices to try, best first: the requested voice, then what the language suggests, then English. */
export function espeakVoiceCandidates(voice: string, language: string): string[] {
  const out: string[] = [];
  const add = (v: string | undefined) => {
    if (v && !out.includes(v)) out.push(v);
  };
  const v = voice.trim();
  add(v);
  add(v.toLowerCase());
  const lang = language.trim().toLowerCase().replace(/_/g, '-');
  const base = lang.split('-')[0];
  add(LANGUAGE_VOICES[lang]);
  add(lang);
  add(LANGUAGE_VOICES[base]);
  add(base);
  if (!v) add('en-us'); // no voice asked for and an unknown language: still speak
  return out.filter((x) => /^[a-z0-9-]+$/i.test(x));
}

/** Control characters confuse eSpeak's text parser; the rest is its business. */
function cleanText(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ').trim();
}

function clampInt(name: string, v: number | undefined, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  if (!Number.isFinite(v) || v < min || v > max) throw new RangeError(`EspeakTts: ${name} must be within ${min}..${max}, got ${v}`);
  return Math.round(v);
}

export class EspeakTts implements TtsProvider {
  readonly name = 'espeak';
  private readonly opts: Voicing;
  private readonly log: Logger;

  constructor(options: EspeakOptions = {}) {
    this.opts = { rate: clampInt('rate', options.rate, 175, 80, 450), pitch: clampInt('pitch', options.pitch, 50, 0, 100) };
    this.log = (options.log ?? silentLogger).child({ component: 'espeak-tts' });
  }

  /** Loads the worker and the eSpeak data ahead of the first call (optional; ~0.1–0.5 s). */
  async warmUp(): Promise<void> {
    const req = { ctx: { callId: 'warmup', workflow: '', language: 'en-US', parameters: {} }, text: 'ok', voice: 'en-us', language: 'en-US', signal: new AbortController().signal };
    for await (const chunk of this.synthesize(req)) void chunk;
  }

  /** Stops the shared worker thread (tests, shutdown); the next call starts a new one. */
  static async shutdown(): Promise<void> {
    await thread.terminate();
  }

  /**
   * Streams 8 kHz μ-law as eSpeak produces it (≈ 100 ms per chunk). On abort it stops the
   * synthesis, yields nothing more and throws ProviderError kind 'aborted' (also when the
   * signal is already aborted on entry). An unknown voice falls back to the request's
   * language; text with nothing to say yields no audio.
   */
  async *synthesize(req: TtsRequest): AsyncGenerator<Ulaw, void, undefined> {
    const { signal } = req;
    const aborted = () => new ProviderError('espeak', 'aborted', 'synthesis aborted');
    if (signal.aborted) throw aborted();
    if (typeof req.text !== 'string') throw new ProviderError('espeak', 'bad_request', 'text must be a string');
    const text = cleanText(req.text);
    if (!text) return;
    const voices = espeakVoiceCandidates(req.voice ?? '', req.language ?? '');

    const abortBuf = new SharedArrayBuffer(4);
    const flag = new Int32Array(abortBuf);
    const inbox: (RequestMsg | { type: 'crash'; message: string })[] = [];
    let wake: (() => void) | null = null;
    const notify = () => {
      wake?.();
      wake = null;
    };
    const onAbort = () => {
      Atomics.store(flag, 0, 1);
      notify();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    let id = 0;
    let resampler: StreamingResampler | null = null;
    const t0 = performance.now();
    let samples8k = 0;
    try {
      const r = await thread.request(text, voices, this.opts, abortBuf, (m) => {
        inbox.push(m);
        notify();
      }, this.log);
      id = r.id;
      resampler = await StreamingResampler.create(r.sampleRate, 8000);
      for (;;) {
        if (signal.aborted) throw aborted();
        const m = inbox.shift();
        if (!m) {
          await new Promise<void>((res) => (wake = res));
          continue;
        }
        if (m.type === 'audio') {
          const pcm = resampler.push(m.samples);
          if (pcm.length) {
            samples8k += pcm.length;
            yield encodeUlaw(pcm);
          }
        } else if (m.type === 'done') {
          if (m.aborted || signal.aborted) throw aborted();
          const tail = resampler.flush();
          if (tail.length) {
            samples8k += tail.length;
            yield encodeUlaw(tail);
          }
          const ms = performance.now() - t0;
          this.log.debug({ callId: req.ctx?.callId, voice: m.voice, chars: text.length, audioMs: samples8k / 8, wallMs: Math.round(ms), rtf: samples8k ? ms / (samples8k / 8) : 0 }, 'synthesized');
          return;
        } else if (m.type === 'error') {
          throw new ProviderError('espeak', m.kind, m.message);
        } else {
          throw new ProviderError('espeak', 'server', `eSpeak worker failed: ${m.message}`);
        }
      }
    } finally {
      // Also reached when the consumer stops iterating early: stop the worker's synthesis too.
      Atomics.store(flag, 0, 1);
      signal.removeEventListener('abort', onAbort);
      if (id) thread.release(id);
      resampler?.destroy();
    }
  }
}
