// Prometheus metrics (prom-client). One registry per engine so tests can run several
// engines in one process without their counters mixing.
//
// The latency histograms also feed rolling windows (window.ts): Prometheus gets cumulative
// buckets to scrape, while alerts, the dashboard and the load generator read exact-enough
// percentiles over the last seconds. Gauges that describe other parts of the engine (provider
// health, DSP pool, cache) read them at scrape time through `sources`, set once the engine
// exists (metrics/live.ts binds them).
import client from 'prom-client';
import { RollingWindow } from './window.ts';

export const STAGES = ['stt', 'response', 'tts', 'turn', 'overhead'] as const;
export type Stage = (typeof STAGES)[number];

/** Rolling windows keep this many seconds. */
export const LIVE_WINDOW_S = 300;

/** What the scrape-time gauges read; every field optional so a partial engine still scrapes. */
export interface MetricSources {
  providers?: () => Array<{ provider: string; role: string; requests: number; errors: number; errorRate: number; hedges: number; failovers: number; ttftMs: { p95: number | null }; breaker: string }>;
  dsp?: () => { threads: number; calls: number; tasks: number; framesProcessed: number; workerRestarts: number; framesLost: number; queueDepth: number };
  cache?: () => Record<string, unknown> | undefined;
  rollingTurn?: () => { p50: number | null; p95: number | null; p99: number | null };
}

const BREAKER_VALUE: Record<string, number> = { closed: 0, 'half-open': 1, open: 2 };

/** Makes `h.observe` also feed a rolling window chosen from the labels. */
function windowed<T extends string>(h: client.Histogram<T>, pick: (labels: Partial<Record<T, string | number>> | undefined) => RollingWindow | undefined): client.Histogram<T> {
  const orig = h.observe.bind(h) as (a: unknown, b?: unknown) => void;
  (h as { observe: unknown }).observe = (a: unknown, b?: unknown) => {
    if (typeof a === 'number') {
      orig(a);
      pick(undefined)?.observe(a);
    } else if (typeof b === 'number') {
      orig(a, b);
      pick(a as Partial<Record<T, string>>)?.observe(b);
    } else orig(a); // exemplar form
  };
  return h;
}

export function createMetrics() {
  const registry = new client.Registry();
  const sources: MetricSources = {};
  const live = {
    stages: Object.fromEntries(STAGES.map((s) => [s, new RollingWindow(LIVE_WINDOW_S)])) as Record<Stage, RollingWindow>,
    frameLag: new RollingWindow(LIVE_WINDOW_S),
  };
  const m = {
    registry,
    sources,
    live,
    callsActive: new client.Gauge({ name: 'weaver_calls_active', help: 'Calls in progress', labelNames: ['mode'], registers: [registry] }),
    callsTotal: new client.Counter({ name: 'weaver_calls_total', help: 'Calls ended, by outcome', labelNames: ['mode', 'outcome'], registers: [registry] }),
    protocolErrors: new client.Counter({ name: 'weaver_protocol_errors_total', help: 'Rejected inbound socket messages, by kind', labelNames: ['transport', 'kind'], registers: [registry] }),
    errors: new client.Counter({ name: 'weaver_errors_total', help: 'Errors by kind', labelNames: ['kind'], registers: [registry] }),
    webhookRejected: new client.Counter({ name: 'weaver_webhook_rejected_total', help: 'Twilio webhook requests refused (oversized or malformed body, bad signature, unknown workflow), by route and HTTP status', labelNames: ['route', 'status'], registers: [registry] }),
    socketsRefused: new client.Counter({ name: 'weaver_sockets_refused_total', help: 'New calls refused (transport webhook: the voice webhook; media, relay: the socket upgrade) and call sockets closed by a limit, by reason', labelNames: ['transport', 'reason'], registers: [registry] }),
    framesIn: new client.Counter({ name: 'weaver_frames_in_total', help: 'Inbound media frames', registers: [registry] }),
    framesOut: new client.Counter({ name: 'weaver_frames_out_total', help: 'Outbound media messages', registers: [registry] }),
    turns: new client.Counter({ name: 'weaver_turns_total', help: 'Answered turns by response source', labelNames: ['source'], registers: [registry] }),
    bargeIns: new client.Counter({ name: 'weaver_barge_ins_total', help: 'Caller interruptions that stopped the agent', registers: [registry] }),
    stageMs: windowed(
      new client.Histogram({
        name: 'weaver_turn_stage_ms',
        help: 'Per-turn latency by stage (docs/architecture.md, "Latency") and call mode (media, relay), milliseconds',
        labelNames: ['stage', 'mode'],
        buckets: [5, 10, 25, 50, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2500, 5000],
        registers: [registry],
      }),
      (l) => (l?.stage !== undefined ? live.stages[l.stage as Stage] : undefined),
    ),
    frameLagMs: windowed(
      new client.Histogram({
        name: 'weaver_frame_lag_ms',
        help: 'Inbound frame arrival to end of DSP, milliseconds',
        buckets: [0.5, 1, 2, 5, 10, 20, 50, 100],
        registers: [registry],
      }),
      () => live.frameLag,
    ),
    cacheLookups: new client.Counter({ name: 'weaver_cache_lookups_total', help: 'Response cache lookups on caller turns, by result (hit_exact, hit_semantic, miss)', labelNames: ['result'], registers: [registry] }),
    cachePredictions: new client.Counter({
      name: 'weaver_cache_predictions_total',
      help: 'Predicted next answers synthesised in the background, by outcome: made (started); then used (asked with its audio ready), late (asked before), wasted (not asked from the cache in the call), failed; dropped: not started, the syntheses were all busy',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    hedges: new client.Counter({ name: 'weaver_provider_hedges_total', help: 'Hedged requests: `provider` was slow to first output, so `to` was started too', labelNames: ['provider', 'to'], registers: [registry] }),
    failovers: new client.Counter({ name: 'weaver_provider_failovers_total', help: 'Failovers from a failed provider to the next', labelNames: ['provider', 'to', 'mid_stream'], registers: [registry] }),
    breakerTransitions: new client.Counter({ name: 'weaver_provider_breaker_transitions_total', help: 'Circuit breaker transitions', labelNames: ['provider', 'to'], registers: [registry] }),
    alertActive: new client.Gauge({ name: 'weaver_performance_alert_active', help: '1 while a performance alert is raised (p95 over target, p99 over max)', labelNames: ['kind'], registers: [registry] }),
    alertsRaised: new client.Counter({ name: 'weaver_performance_alerts_total', help: 'Performance alerts raised', labelNames: ['kind'], registers: [registry] }),
    // call history (engine/history/)
    historyWritten: new client.Counter({ name: 'weaver_history_written_total', help: 'Call history records (calls, turns, events) written to the store', registers: [registry] }),
    historyDropped: new client.Counter({ name: 'weaver_history_dropped_total', help: 'Call history records not stored, by reason (queue_full, write_failed, store_lost)', labelNames: ['reason'], registers: [registry] }),
    historyQueueDepth: new client.Gauge({ name: 'weaver_history_queue_depth', help: 'Call history records waiting for the store', registers: [registry] }),
    qualityScore: new client.Gauge({ name: 'weaver_quality_score', help: 'Share of caller turns over QUALITY_WINDOW_S answered within PERFORMANCE_TARGET_LATENCY with no error, fallback or cut-off, percent', registers: [registry] }),
    callsLowQuality: new client.Counter({ name: 'weaver_calls_low_quality_total', help: 'Calls that ended with a quality score below QUALITY_ALERT_THRESHOLD', registers: [registry] }),
  };

  new client.Gauge({
    name: 'weaver_turn_latency_rolling_ms',
    help: 'Rolling turn latency percentiles over the alert window, milliseconds',
    labelNames: ['quantile'],
    registers: [registry],
    collect() {
      const r = sources.rollingTurn?.();
      this.reset();
      if (!r) return;
      for (const [q, v] of [['0.5', r.p50], ['0.95', r.p95], ['0.99', r.p99]] as const) if (v !== null) this.set({ quantile: q }, v);
    },
  });

  const providerGauge = (name: string, help: string, value: (p: NonNullable<ReturnType<NonNullable<MetricSources['providers']>>>[number]) => number | null) =>
    new client.Gauge({
      name,
      help,
      labelNames: ['provider', 'role'],
      registers: [registry],
      collect() {
        this.reset();
        for (const p of sources.providers?.() ?? []) {
          const v = value(p);
          if (v !== null) this.set({ provider: p.provider, role: p.role }, v);
        }
      },
    });
  providerGauge('weaver_provider_breaker_state', 'Circuit breaker state: 0 closed, 1 half-open, 2 open', (p) => BREAKER_VALUE[p.breaker] ?? null);
  providerGauge('weaver_provider_error_rate', 'Share of failed outcomes among recent requests', (p) => p.errorRate);
  providerGauge('weaver_provider_requests', 'Requests made to the provider since start', (p) => p.requests);
  providerGauge('weaver_provider_errors', 'Failed requests since start', (p) => p.errors);
  providerGauge('weaver_provider_ttft_p95_ms', 'Rolling p95 time to first output, milliseconds', (p) => p.ttftMs.p95);

  const dspGauge = (name: string, help: string, key: keyof ReturnType<NonNullable<MetricSources['dsp']>>) =>
    new client.Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const s = sources.dsp?.();
        if (s) this.set(s[key]);
      },
    });
  dspGauge('weaver_dsp_threads', 'DSP worker threads (shards)', 'threads');
  dspGauge('weaver_dsp_calls', 'Calls pinned to DSP shards', 'calls');
  dspGauge('weaver_dsp_queue_depth', 'Frames waiting for a DSP task', 'queueDepth');
  dspGauge('weaver_dsp_tasks', 'DSP tasks run since start', 'tasks');
  dspGauge('weaver_dsp_frames_processed', 'Frames processed by the DSP pool since start', 'framesProcessed');
  dspGauge('weaver_dsp_worker_restarts', 'DSP worker threads replaced after a fault', 'workerRestarts');
  dspGauge('weaver_dsp_frames_lost', 'Caller frames dropped with a DSP batch whose worker died', 'framesLost');

  new client.Gauge({
    name: 'weaver_cache_stat',
    help: 'Response cache statistics (numeric fields of the cache stats), by name',
    labelNames: ['stat'],
    registers: [registry],
    collect() {
      this.reset();
      const s = sources.cache?.();
      if (!s) return;
      for (const [k, v] of Object.entries(s)) if (typeof v === 'number' && Number.isFinite(v)) this.set({ stat: k }, v);
    },
  });

  client.collectDefaultMetrics({ register: registry });
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
