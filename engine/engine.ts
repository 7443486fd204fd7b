// The composition root: builds every long-lived part once (DSP shards, providers per workflow,
// cache, metrics) and owns the table of live calls. server.ts only routes into it.
import type { Config } from './config.ts';
import { loadWorkflows, type Workflow } from './workflow.ts';
import { log as rootLog, type Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics/registry.ts';
import { onSession } from './metrics/live.ts';
import { DspShards } from '../workers/shards.ts';
import { buildProviders, type Providers } from './providers/registry.ts';
import { ProviderHealth } from './providers/health.ts';
import { ResponseCache } from './cache/index.ts';
import { CallSession, type MediaSocket } from './call/session.ts';
import { cacheVoice, registryVoice } from './call/dialogue.ts';
import { warmUpDetection } from './language/detect.ts';

const RECENT_CALLS = 1000;

/** What the engine needs of a live call, whatever its transport (Media Streams or relay). */
export interface LiveCall {
  readonly state: string;
  /** One socket message, as received (the session parses and validates it). */
  onMessage(data: ArrayBuffer | string, isBinary: boolean): void;
  /** The socket closed under the session (Twilio hung up, or the connection dropped). */
  closed(code: number, reason: string): void;
  end(outcome: string, code?: number, reason?: string): void;
  /** An exception escaped while handling this call: end it (1011), log and count it, nothing else. */
  fail(err: unknown, where: string): void;
}

export interface Engine {
  readonly config: Config;
  readonly log: Logger;
  readonly workflows: Map<string, Workflow>;
  readonly metrics: Metrics;
  readonly dsp: DspShards;
  readonly health: ProviderHealth;
  readonly cache?: ResponseCache;
  /** Live calls of both modes, by socket id: capacity, /health and shutdown see them all. */
  readonly calls: Map<string, LiveCall>;
  /** Recent sessions (live and ended) by callSid, bounded, for /calls/:sid and tests. */
  readonly recent: Map<string, CallSession>;
  readonly startedAt: number;
  draining: boolean;
  providersFor(workflow: Workflow): Providers;
  workflow(id: string | undefined): Workflow | undefined;
  newMediaSession(socket: MediaSocket): CallSession;
  close(): Promise<void>;
}

export async function createEngine(config: Config, opts: { log?: Logger; providers?: (wf: Workflow) => Providers; /** In-process DSP for benchmarks (bench/load/inline-dsp.ts). */ dsp?: DspShards } = {}): Promise<Engine> {
  const log = opts.log ?? rootLog;
  const workflows = loadWorkflows(config.WORKFLOWS_DIR);
  if (!workflows.has(config.DEFAULT_WORKFLOW)) throw new Error(`DEFAULT_WORKFLOW=${config.DEFAULT_WORKFLOW}: no such workflow in ${config.WORKFLOWS_DIR} (have: ${[...workflows.keys()].join(', ')})`);
  const metrics = createMetrics();
  const health = new ProviderHealth();

  // Build (and so validate) every workflow's providers at startup: a missing key fails now.
  const providers = new Map<string, Providers>();
  for (const wf of workflows.values()) providers.set(wf.id, opts.providers?.(wf) ?? buildProviders(wf, config, { log, health }));

  // Load TTS engines now (espeak-ng takes ~1 s to initialise) rather than on the first caller.
  await Promise.all([...providers.values()].map((p) => (p.tts as { warmUp?: () => Promise<void> }).warmUp?.().catch((e) => log.warn({ err: e }, 'TTS warm-up failed'))));

  if (config.PERFORMANCE_LANGUAGE_OPTIMIZATION) warmUpDetection();

  const dsp = opts.dsp ?? new DspShards({ threads: config.DSP_THREADS, defaults: { denoise: config.DSP_DENOISE, vadMode: config.DSP_VAD_MODE as 0 | 1 | 2 | 3 }, log });

  let cache: ResponseCache | undefined;
  if (config.PERFORMANCE_CACHE_ENABLED) {
    cache = await ResponseCache.create(config, { log });
    for (const wf of workflows.values()) {
      const p = providers.get(wf.id)!;
      const voices: Record<string, string> = {};
      const ttsVoice = new Map<string, string>(); // cache voice key → the TTS provider's voice
      for (const [lang, v] of Object.entries(wf.voices)) {
        voices[lang] = cacheVoice(p.tts.name, v);
        ttsVoice.set(voices[lang], v);
      }
      const synth = wf.mode === 'media' ? (text: string, voice: string, language: string) => synthesize(p, wf, text, ttsVoice.get(voice) ?? '', language) : undefined;
      cache
        .prewarm(wf, voices, synth)
        .then((r) => log.info({ workflow: wf.id, ...r }, 'cache pre-warmed'))
        .catch((e) => log.warn({ err: e, workflow: wf.id }, 'cache pre-warm failed'));
    }
  }

  const calls = new Map<string, LiveCall>();
  const recent = new Map<string, CallSession>();
  const remember = (s: CallSession) => {
    recent.delete(s.callSid);
    recent.set(s.callSid, s);
    if (recent.size > RECENT_CALLS) recent.delete(recent.keys().next().value!);
  };
  const engine: Engine = {
    config,
    log,
    workflows,
    metrics,
    dsp,
    health,
    cache,
    calls,
    recent,
    startedAt: Date.now(),
    draining: false,
    providersFor: (wf) => providers.get(wf.id)!,
    workflow: (id) => workflows.get(id || config.DEFAULT_WORKFLOW),
    newMediaSession(socket) {
      const resolve = (id: string | undefined) => {
        const wf = engine.workflow(id) ?? workflows.get(config.DEFAULT_WORKFLOW)!;
        return { workflow: wf, ...providers.get(wf.id)! };
      };
      const session = new CallSession(socket, { config, resolve, dsp, metrics, log, cache, voiceFor: registryVoice });
      session.started$.subscribe(() => remember(session));
      onSession(engine, session); // metrics/live.ts follows its turns
      return session;
    },
    async close() {
      await cache?.close();
      await dsp.close();
    },
  };
  return engine;
}

/** Full synthesis of one text (cache pre-warm). */
async function synthesize(p: Providers, wf: Workflow, text: string, voice: string, language: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const signal = AbortSignal.timeout(30_000);
  for await (const a of p.tts.synthesize({ ctx: { callId: 'prewarm', workflow: wf.id, language, parameters: {} }, text, voice, language, signal })) parts.push(a);
  return Buffer.concat(parts);
}
