// The composition root (docs/architecture.md): builds and owns every long-lived part once —
// workflows, metrics, provider chains (warmed up before the first call, closed at shutdown), DSP
// shards, the response cache and its FAQ pre-warm, the call registry and live metrics — and makes
// the calls of both kinds. server.ts and routes/ only route into it.
import type { Config } from './config.ts';
import type { TtsProvider } from '../adapters/kit/types.ts';
import { configureSharedHttpPool } from '../adapters/kit/http-pool.ts';
import { loadWorkflows, type Workflow } from './workflow.ts';
import { log as rootLog, type Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics/registry.ts';
import { LiveMetrics } from './metrics/live.ts';
import { DspShards } from '../workers/shards.ts';
import { buildProviders, type Providers } from './providers/registry.ts';
import { ProviderHealth } from './providers/health.ts';
import { ResponseCache } from './cache/index.ts';
import { prewarmFaq } from './faq-prewarm.ts';
import { CallRegistry } from './calls/registry.ts';
import { openHistory, type History } from './history/index.ts';
import { openShared, type Shared } from './shared/index.ts';
import { joinCluster, type ClusterMember } from './cluster/member.ts';
import { MediaCall, type MediaSocket } from './call/media-call.ts';
import { RelayCall, type RelaySocket } from './call/relay-call.ts';
import type { EndedCall } from './calls/ended-call.ts';
import type { LiveCall } from './call/io.ts';
import { cacheVoice, workflowVoice } from './call/dialogue.ts';
import { Apologies } from './call/apologies.ts';
import { Predictor } from './call/prediction.ts';
import { chainVoice } from './language/registry.ts';
import { warmUpDetection } from './language/detect.ts';
import { Admission } from './admission.ts';

export type { LiveCall };
export type CallMode = 'media' | 'relay';

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
  /** Call records (status callbacks, handoffs) and recent calls of both kinds. */
  readonly registry: CallRegistry;
  /** Recent Media Streams calls by callSid (registry.recentMedia). */
  readonly recent: Map<string, MediaCall | EndedCall>;
  readonly live: LiveMetrics;
  /** Call history: every call, turn and event kept in a store (engine/history/). */
  readonly history: History;
  /** Cache, call registry and provider health shared through Redis (REDIS_URL; engine/shared/). */
  readonly shared?: Shared;
  /** This process's place among the supervisor's processes (WEAVER_PROCESSES > 1; engine/cluster/). */
  readonly cluster?: ClusterMember;
  readonly startedAt: number;
  /** Refuses new calls near the file-descriptor or memory limit (engine/admission.ts). */
  readonly admission: Admission;
  draining: boolean;
  providersFor(workflow: Workflow): Providers;
  workflow(id: string | undefined): Workflow | undefined;
  /** The one factory of calls: a call of `mode` on a new socket. */
  newCall(mode: CallMode, socket: MediaSocket & RelaySocket): MediaCall | RelayCall;
  close(): Promise<void>;
}

export interface EngineOptions {
  log?: Logger;
  providers?: (wf: Workflow) => Providers;
  /** In-process DSP for benchmarks (bench/load/inline-dsp.ts). */
  dsp?: DspShards;
}

export async function createEngine(config: Config, opts: EngineOptions = {}): Promise<Engine> {
  const log = opts.log ?? rootLog;
  const workflows = loadWorkflows(config.WORKFLOWS_DIR, (m) => log.warn(m));
  if (!workflows.has(config.DEFAULT_WORKFLOW)) throw new Error(`DEFAULT_WORKFLOW=${config.DEFAULT_WORKFLOW}: no such workflow in ${config.WORKFLOWS_DIR} (have: ${[...workflows.keys()].join(', ')})`);
  const metrics = createMetrics();
  const cluster = joinCluster(metrics.registry, Date.now()); // undefined unless a supervisor started this process
  const health = new ProviderHealth();

  configureSharedHttpPool({ http2: config.PROVIDER_HTTP2, keepAliveMs: config.PROVIDER_KEEPALIVE_MS });
  // Build (and so validate) every workflow's providers at startup: a missing key fails now.
  const providers = new Map<string, Providers>();
  for (const wf of workflows.values()) {
    const p = opts.providers?.(wf) ?? buildProviders(wf, config, { log, health });
    providers.set(wf.id, p);
    log.info({ workflow: wf.id, mode: wf.mode, stt: p.stt.name, llm: p.llm.name, tts: p.tts.name }, 'provider chains');
  }
  // Warm every provider up now (espeak-ng takes ~1 s to initialise) rather than on the first caller.
  await Promise.all([...providers.values()].flatMap((p) => [p.stt, p.llm, p.tts].map((x) => x.warmUp?.().catch((e) => log.warn({ err: e, provider: x.name }, 'provider warm-up failed')))));
  if (config.PERFORMANCE_LANGUAGE_OPTIMIZATION) warmUpDetection();

  const dsp = opts.dsp ?? new DspShards({ threads: config.DSP_THREADS, defaults: { denoise: config.DSP_DENOISE, vadMode: config.DSP_VAD_MODE as 0 | 1 | 2 | 3 }, log });

  let cache: ResponseCache | undefined;
  if (config.PERFORMANCE_CACHE_ENABLED) {
    cache = await ResponseCache.create(config, { log });
    for (const wf of workflows.values()) prewarm(cache, wf, providers.get(wf.id)!, log);
  }

  const calls = new Map<string, LiveCall>();
  const registry = new CallRegistry();
  const history = await openHistory(config, { log, metrics, registry }); // never throws: a store that cannot open leaves history off
  // Never throws either: a Redis that is down leaves the engine on local state, reconnecting.
  const shared = await openShared(config, { log, cache, registry, health, local: () => ({ calls: calls.size, status: live.status() }) });
  const resolve = (id: string | undefined) => {
    const workflow = engine.workflow(id) ?? workflows.get(config.DEFAULT_WORKFLOW)!;
    return { workflow, ...providers.get(workflow.id)! };
  };
  const apologies = await Apologies.create(
    [...workflows.values()].map((wf) => {
      const { tts } = providers.get(wf.id)!;
      return { wf, tts, voiceFor: (locale: string) => workflowVoice(wf, locale, tts.name, chainVoice) };
    }),
    synthesize,
    log,
  );
  log.info({ lines: apologies.size }, 'fallback lines pre-synthesised');
  const predictor = Predictor.fromConfig(config, metrics.cachePredictions);
  const callDeps = { config, metrics, log, cache: shared?.cache ?? cache, voiceFor: chainVoice, apology: (wf: string, locale: string) => apologies.get(wf, locale), predictor };
  // Reads the engine's draining flag when asked, so it is built before the engine object.
  const live = new LiveMetrics({
    config,
    metrics,
    log,
    health,
    dsp,
    cache,
    calls,
    history,
    shared,
    cluster,
    get draining() {
      return engine.draining;
    },
    get startedAt() {
      return engine.startedAt;
    },
  });

  const admission = new Admission(config, (r) =>
    r ? log.warn({ reason: r.reason, detail: r.text }, `refusing new calls: ${r.text}`) : log.info('admitting new calls again: resources back under their limits'),
  );

  const engine: Engine = {
    config,
    admission,
    log,
    workflows,
    metrics,
    dsp,
    health,
    cache,
    calls,
    registry,
    recent: registry.recentMedia,
    live,
    history,
    shared,
    cluster,
    startedAt: Date.now(),
    draining: false,
    providersFor: (wf) => providers.get(wf.id)!,
    workflow: (id) => workflows.get(id || config.DEFAULT_WORKFLOW),
    newCall(mode, socket) {
      const call =
        mode === 'media'
          ? new MediaCall(socket, { ...callDeps, dsp, resolve })
          : new RelayCall(socket, {
              ...callDeps,
              resolve: (id) => {
                const r = resolve(id);
                return { workflow: r.workflow, llm: r.llm, ttsName: r.tts.name };
              },
            });
      call.started$.subscribe(() => registry.remember(call));
      live.attach(call); // its turns feed the live percentiles and alerts
      history.attach(call); // its start, turns and end are kept in the call history
      shared?.attach(call); // its owner, state and turn summaries are shared with the other instances
      return call;
    },
    async close() {
      live.stop();
      cluster?.stop();
      await history.close();
      await shared?.close();
      await cache?.close();
      await dsp.close();
      await Promise.all([...providers.values()].flatMap((p) => [p.stt, p.llm, p.tts].map((x) => x.close?.().catch((e) => log.warn({ err: e, provider: x.name }, 'provider close failed')))));
    },
  };
  return engine;
}

/** Fills the cache with the workflow's FAQ (and, in media mode, its audio) in the background. */
function prewarm(cache: ResponseCache, wf: Workflow, p: Providers, log: Logger): void {
  const voices: Record<string, string> = {};
  const ttsVoice = new Map<string, string>(); // cache voice key → the TTS provider's voice
  for (const [lang, v] of Object.entries(wf.voices)) {
    voices[lang] = cacheVoice(p.tts.name, v);
    ttsVoice.set(voices[lang], v);
  }
  const synth = wf.mode === 'media' ? (text: string, voice: string, language: string) => synthesize(p.tts, wf, text, ttsVoice.get(voice) ?? '', language) : undefined;
  prewarmFaq(cache, wf, voices, synth, log.child({ component: 'cache' })).then(
    (r) => log.info({ workflow: wf.id, ...r }, 'cache pre-warmed'),
    (e) => log.warn({ err: e, workflow: wf.id }, 'cache pre-warm failed'),
  );
}

/** Full synthesis of one text (cache pre-warm, fallback lines). */
async function synthesize(tts: TtsProvider, wf: Workflow, text: string, voice: string, language: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const signal = AbortSignal.timeout(30_000);
  for await (const a of tts.synthesize({ ctx: { callId: 'prewarm', workflow: wf.id, language, parameters: {} }, text, voice, language, signal })) parts.push(a);
  return Buffer.concat(parts);
}
