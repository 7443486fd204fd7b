// Live view of one engine: binds the scrape-time gauges to the engine's parts, follows every
// call's completed turns (cache hits and misses), counts provider hedges/failovers from the
// health events, keeps a once-a-second series for the dashboard, checks the performance alerts
// and writes the /health report. The composition root (engine.ts) owns one.
import type { Subscription } from 'rxjs';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from './registry.ts';
import type { ProviderHealth } from '../providers/health.ts';
import type { DspShards } from '../../workers/shards.ts';
import type { TurnRecord } from '../call/turn-record.ts';
import { PerformanceAlerts, type AlertEvent } from './alerts.ts';
import { STAGES, type Stage } from './registry.ts';
import type { WindowSummary } from './window.ts';

/** The engine's parts the collector reads (engine.ts passes itself). */
export interface LiveSources {
  readonly config: Config;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly health: ProviderHealth;
  readonly dsp: DspShards;
  readonly cache?: { stats(): object };
  /** Live calls by socket. */
  readonly calls: ReadonlyMap<string, { readonly state: string }>;
  readonly draining: boolean;
  readonly startedAt: number;
  /** Call history (engine/history/): degraded when configured on but not keeping calls; records the alerts. */
  readonly history?: { readonly degraded: boolean; health(): object; alert(ev: AlertEvent): void };
  /** Scale-out on Redis (engine/shared/): degraded while Redis is unreachable (calls go on with local state). */
  readonly shared?: { readonly degraded: boolean; health(): object };
  /** The other engine processes of this machine (engine/cluster/), when a supervisor runs several. */
  readonly cluster?: { health(): object };
}

/** What the collector needs from a call (both transports have it). */
export interface TurnSource {
  readonly callSid: string;
  readonly turnDone$: { subscribe(fn: (t: TurnRecord) => void): Subscription };
}

export interface SeriesPoint {
  /** Unix ms. */
  t: number;
  activeCalls: number;
  turnP50: number | null;
  turnP95: number | null;
  turnP99: number | null;
  frameLagP99: number | null;
  /** Cache hit rate over the alert window (null before any lookup). */
  cacheHitRate: number | null;
  turnsPerMin: number;
}

export interface LiveSnapshot {
  at: number;
  /** This process (several may share the port: engine/cluster/). */
  pid: number;
  status: 'ok' | 'degraded' | 'draining';
  uptimeS: number;
  activeCalls: number;
  callsByState: Record<string, number>;
  windowS: number;
  stages: Record<Stage, WindowSummary>;
  frameLag: WindowSummary;
  cache: { enabled: boolean; hits: number; misses: number; hitRate: number | null; windowHitRate: number | null };
  providers: ReturnType<ProviderHealth['snapshot']>['providers'];
  dsp: ReturnType<DspShards['stats']>;
  alerts: { targetMs: number; maxMs: number; active: AlertEvent[]; recent: AlertEvent[] };
  series: SeriesPoint[];
}

const SERIES_POINTS = 300;

export class LiveMetrics {
  readonly alerts: PerformanceAlerts;
  readonly series: SeriesPoint[] = [];
  cacheHits = 0;
  cacheMisses = 0;
  private readonly lookups: Array<{ t: number; hit: boolean }> = [];
  private readonly turnTimes: number[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly subs: Subscription[] = [];
  private readonly attached = new WeakSet<object>();

  constructor(
    private readonly engine: LiveSources,
    opts: { tickMs?: number; windowS?: number; minSamples?: number } = {},
  ) {
    const { config, metrics, log } = engine;
    this.alerts = new PerformanceAlerts({
      targetMs: config.PERFORMANCE_TARGET_LATENCY,
      maxMs: config.PERFORMANCE_MAX_LATENCY,
      windowS: opts.windowS ?? 60,
      minSamples: opts.minSamples,
      log: log.child({ component: 'perf-alerts' }),
    });
    this.alerts.on('alert', (ev: AlertEvent) => {
      metrics.alertActive.set({ kind: ev.kind }, ev.type === 'raised' ? 1 : 0);
      if (ev.type === 'raised') metrics.alertsRaised.inc({ kind: ev.kind });
      engine.history?.alert(ev);
    });
    metrics.sources.providers = () => engine.health.snapshot().providers;
    metrics.sources.dsp = () => engine.dsp.stats();
    metrics.sources.cache = () => engine.cache?.stats() as Record<string, unknown> | undefined;
    metrics.sources.rollingTurn = () => metrics.live.stages.turn.summary(this.alerts.windowS);
    this.subs.push(
      engine.health.events$.subscribe((ev) => {
        if (ev.type === 'hedge') metrics.hedges.inc({ provider: ev.provider, to: ev.to });
        else if (ev.type === 'failover') metrics.failovers.inc({ provider: ev.provider, to: ev.to, mid_stream: String(ev.midStream) });
        else metrics.breakerTransitions.inc({ provider: ev.provider, to: ev.type.slice('breaker-'.length) });
      }),
    );
    this.timer = setInterval(() => this.tick(), opts.tickMs ?? 1000);
    this.timer.unref();
  }

  /** Follows a session's completed turns. Idempotent. */
  attach(session: TurnSource): void {
    if (this.attached.has(session)) return;
    this.attached.add(session);
    session.turnDone$.subscribe((t) => this.onTurn(t));
  }

  private onTurn(t: TurnRecord): void {
    if (t.index === 0) return; // the greeting is not a caller turn
    const now = Date.now();
    this.turnTimes.push(now);
    if (!this.engine.cache || t.source === undefined) return;
    const hit = t.source === 'cache-exact' || t.source === 'cache-semantic';
    if (hit) this.cacheHits++;
    else this.cacheMisses++;
    this.engine.metrics.cacheLookups.inc({ result: t.source === 'cache-exact' ? 'hit_exact' : t.source === 'cache-semantic' ? 'hit_semantic' : 'miss' });
    this.lookups.push({ t: now, hit });
  }

  /** Once a second: drop old window entries, add a series point, check the alerts. */
  tick(): SeriesPoint {
    const now = Date.now();
    const windowMs = this.alerts.windowS * 1000;
    while (this.lookups.length && this.lookups[0].t < now - windowMs) this.lookups.shift();
    while (this.turnTimes.length && this.turnTimes[0] < now - 60_000) this.turnTimes.shift();
    const turn = this.engine.metrics.live.stages.turn.summary(this.alerts.windowS);
    const lag = this.engine.metrics.live.frameLag.summary(5);
    const hits = this.lookups.reduce((a, l) => a + (l.hit ? 1 : 0), 0);
    const point: SeriesPoint = {
      t: now,
      activeCalls: this.activeCalls(),
      turnP50: turn.p50,
      turnP95: turn.p95,
      turnP99: turn.p99,
      frameLagP99: lag.p99,
      cacheHitRate: this.lookups.length ? hits / this.lookups.length : null,
      turnsPerMin: this.turnTimes.length,
    };
    this.series.push(point);
    if (this.series.length > SERIES_POINTS) this.series.shift();
    this.alerts.evaluate(turn);
    return point;
  }

  private callsByState(): Record<string, number> {
    const byState: Record<string, number> = {};
    for (const s of this.engine.calls.values()) byState[s.state] = (byState[s.state] ?? 0) + 1;
    return byState;
  }

  activeCalls(): number {
    return this.engine.calls.size;
  }

  status(): LiveSnapshot['status'] {
    if (this.engine.draining) return 'draining';
    return this.alerts.active().length || this.engine.history?.degraded || this.engine.shared?.degraded ? 'degraded' : 'ok';
  }

  snapshot(windowS = this.alerts.windowS): LiveSnapshot {
    const { metrics } = this.engine;
    const callsByState = this.callsByState();
    const stages = Object.fromEntries(STAGES.map((s) => [s, metrics.live.stages[s].summary(windowS)])) as Record<Stage, WindowSummary>;
    const total = this.cacheHits + this.cacheMisses;
    const windowHits = this.lookups.reduce((a, l) => a + (l.hit ? 1 : 0), 0);
    return {
      at: Date.now(),
      pid: process.pid,
      status: this.status(),
      uptimeS: Math.round((Date.now() - this.engine.startedAt) / 1000),
      activeCalls: this.activeCalls(),
      callsByState,
      windowS,
      stages,
      frameLag: metrics.live.frameLag.summary(windowS),
      cache: {
        enabled: this.engine.cache !== undefined,
        hits: this.cacheHits,
        misses: this.cacheMisses,
        hitRate: total ? this.cacheHits / total : null,
        windowHitRate: this.lookups.length ? windowHits / this.lookups.length : null,
      },
      providers: this.engine.health.snapshot().providers,
      dsp: this.engine.dsp.stats(),
      alerts: { targetMs: this.alerts.targetMs, maxMs: this.alerts.maxMs, active: this.alerts.active(), recent: [...this.alerts.history] },
      series: [...this.series],
    };
  }

  /** GET /health: status (raised alerts degrade it), uptime, calls, DSP pool, providers, cache. */
  health(): object {
    return {
      status: this.status(),
      alerts: this.alerts.active(),
      uptimeS: Math.round((Date.now() - this.engine.startedAt) / 1000),
      calls: { active: this.engine.calls.size, byState: this.callsByState() },
      workers: this.engine.dsp.stats(),
      providers: this.engine.health.snapshot(),
      cache: this.engine.cache?.stats() ?? { enabled: false },
      history: this.engine.history?.health() ?? { status: 'off' },
      shared: this.engine.shared?.health() ?? { status: 'off' },
      ...(this.engine.cluster ? { cluster: this.engine.cluster.health() } : {}),
    };
  }

  stop(): void {
    clearInterval(this.timer);
    for (const s of this.subs) s.unsubscribe();
  }
}
