// Provider health shared between instances. A breaker that opens here is announced on the
// `breakers` channel and kept under `breaker:<provider>` for the cool-down, so every instance
// opens its own breaker for that provider at once (and one that starts during the cool-down opens
// it at boot); each instance then probes the provider back on its own. Each instance also writes
// a heartbeat with its calls and provider health (`instance:<id>`, short TTL), which /health lists.
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { ProviderHealth } from '../providers/health.ts';
import type { RedisLink } from './redis-link.ts';

/** Reason prefix of a breaker opened on another instance's word (not announced again). */
export const REMOTE_REASON = 'remote:';
const HEARTBEAT_MS = 2000;
const HEARTBEAT_TTL_S = 10;

interface BreakerNotice {
  provider: string;
  origin: string;
  reason: string;
}

export interface InstanceBeat {
  instance: string;
  at: number;
  calls: number;
  status: string;
  openBreakers: string[];
}

export class SharedHealth {
  readonly counters = { breakersAnnounced: 0, breakersOpenedRemotely: 0 };
  private readonly channel: string;
  private timer?: NodeJS.Timeout;
  private instances: InstanceBeat[] = [];
  private readonly onMessage = (channel: string, message: string) => {
    if (channel === this.channel) this.remoteOpen(message);
  };

  constructor(
    private readonly link: RedisLink,
    private readonly cfg: Config,
    private readonly health: ProviderHealth,
    readonly instance: string,
    private readonly log: Logger,
    /** This instance's calls and status, for the heartbeat. */
    private readonly local: () => { calls: number; status: string },
  ) {
    this.channel = link.key('breakers');
  }

  async start(): Promise<void> {
    this.health.events$.subscribe((ev) => {
      if (ev.type !== 'breaker-open' || ev.reason.startsWith(REMOTE_REASON)) return;
      this.announce({ provider: ev.provider, origin: this.instance, reason: ev.reason });
    });
    this.link.sub.on('message', this.onMessage);
    // ioredis subscribes again by itself after a reconnect.
    await this.link.sub.subscribe(this.channel).catch((e) => this.log.warn({ err: (e as Error).message }, 'breaker channel: not subscribed yet (Redis down); will subscribe on reconnect'));
    await this.openAnnounced();
    this.link.cmd.on('ready', () => void this.openAnnounced()); // what was announced while we were cut off
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref();
    void this.beat();
  }

  /** The other instances' latest heartbeats (and this one's), as last read. */
  cluster(): InstanceBeat[] {
    return this.instances;
  }

  stop(): void {
    clearInterval(this.timer);
    this.link.sub.off('message', this.onMessage);
    this.link.write('instance-gone', (r) => r.del(this.link.key('instance', this.instance)));
  }

  private announce(n: BreakerNotice): void {
    this.counters.breakersAnnounced++;
    const msg = JSON.stringify(n);
    this.link.write('breaker-open', (r) => r.multi().set(this.link.key('breaker', n.provider), msg, 'PX', this.cfg.BREAKER_COOLDOWN_MS).publish(this.channel, msg).exec());
  }

  private remoteOpen(message: string): void {
    let n: BreakerNotice;
    try {
      n = JSON.parse(message);
    } catch {
      return;
    }
    if (n.origin === this.instance || typeof n.provider !== 'string') return;
    const b = this.health.breaker(n.provider);
    if (b.state === 'open') return;
    b.forceOpen(`${REMOTE_REASON} ${n.origin}: ${n.reason}`);
    this.counters.breakersOpenedRemotely++;
    this.log.warn({ provider: n.provider, from: n.origin, reason: n.reason }, 'breaker opened: another instance found this provider failing');
  }

  /** Breakers another instance opened within the cool-down (read at start and after a reconnect). */
  private async openAnnounced(): Promise<void> {
    const keys = await this.link.read('breakers-scan', async (r) => {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await r.scan(cursor, 'MATCH', this.link.key('breaker', '*'), 'COUNT', 200);
        cursor = next;
        found.push(...batch);
      } while (cursor !== '0' && found.length < 10_000);
      return found;
    });
    if (!keys?.length) return;
    const values = await this.link.read('breakers-get', (r) => r.mget(...keys));
    for (const v of values ?? []) if (v) this.remoteOpen(v);
  }

  private async beat(): Promise<void> {
    let local = { calls: 0, status: 'starting' };
    try {
      local = this.local(); // throws while the engine is still being built
    } catch {
      /* starting */
    }
    const { calls, status } = local;
    const me: InstanceBeat = { instance: this.instance, at: Date.now(), calls, status, openBreakers: this.health.snapshot().providers.filter((p) => p.breaker === 'open').map((p) => p.provider) };
    const setKey = this.link.key('instances');
    const k = this.link.key('instance', this.instance);
    if (!this.link.up) {
      this.instances = [me];
      return;
    }
    this.link.write('heartbeat', (r) => r.multi().set(k, JSON.stringify(me), 'EX', HEARTBEAT_TTL_S).sadd(setKey, this.instance).exec());
    const names = await this.link.read('instances', (r) => r.smembers(setKey));
    if (!names) return;
    const beats = names.length ? await this.link.read('instances-get', (r) => r.mget(...names.map((n) => this.link.key('instance', n)))) : [];
    const live: InstanceBeat[] = [me];
    const gone: string[] = [];
    names.forEach((n, i) => {
      if (n === this.instance) return;
      const raw = beats?.[i];
      if (raw) live.push(JSON.parse(raw));
      else gone.push(n);
    });
    if (gone.length) this.link.write('instances-prune', (r) => r.srem(setKey, ...gone));
    this.instances = live.sort((a, b) => a.instance.localeCompare(b.instance));
  }
}
