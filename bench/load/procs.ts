// The benchmark's processes: the engine (bench-engine.ts) and the load generator
// (generator.ts --child), each forked separately so the generator's CPU is not the engine's,
// plus CPU and RSS sampling of the engine process from /proc (Linux; includes its worker
// threads).
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GenStats, LoadOptions } from './generator.ts';
import type { LiveSnapshot } from '../../engine/metrics/live.ts';

/**
 * Children run .ts through ts-hooks.mjs, which (unlike tsx's own loader on Node 20) also
 * works in their worker threads; other flags we run under are kept, tsx's are dropped.
 */
function tsxArgv(): string[] {
  const argv: string[] = [];
  const own = process.execArgv;
  for (let i = 0; i < own.length; i++) {
    const a = own[i];
    if (a.startsWith('--inspect')) continue;
    if ((a === '--import' || a === '--require' || a === '--loader') && /[\\/]tsx[\\/]|^tsx$/.test(own[i + 1] ?? '')) {
      i++;
      continue;
    }
    argv.push(a);
  }
  return [...argv, '--import', new URL('./ts-hooks.mjs', import.meta.url).href];
}

function once<T>(child: ChildProcess, pick: (m: any) => T | undefined, what: string, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const onMsg = (m: unknown) => {
      const v = pick(m);
      if (v !== undefined) {
        cleanup();
        resolve(v);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`${what}: process exited with ${code}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMsg);
      child.off('exit', onExit);
    };
    child.on('message', onMsg);
    child.once('exit', onExit);
  });
}

export interface EngineInfo {
  pid: number;
  /** WEAVER_PROCESSES > 1 (bench-cluster.ts): the supervisor and every engine process. */
  pids?: number[];
  port: number;
  mediaPort: number;
  transport: string;
  dsp: string;
  hedging: boolean;
  denoise: string;
  cache: boolean;
  dspThreads: number;
}

/** One engine process's share of the load (WEAVER_PROCESSES > 1): how SO_REUSEPORT spread the calls. */
export interface ProcessShare {
  pid: number;
  activeCalls: number;
  frameLagP50: number | null;
  frameLagP99: number | null;
}

export interface EngineProc {
  info: EngineInfo;
  baseUrl: string;
  mediaUrl: string;
  /** The engine's live snapshot; under a supervisor the worst process's, with each process's share in `processes`. */
  live(windowS?: number): Promise<LiveSnapshot & { processes?: ProcessShare[] }>;
  stop(): Promise<void>;
}

/**
 * The Node/V8 flags `npm start` gives the engine (package.json), so the bench measures the engine
 * as it runs. None today: a 32 MB young generation (--max-semi-space-size=32) was tried and made
 * no difference beyond run-to-run noise (800 calls, 12 s holds, two runs each).
 */
export const ENGINE_NODE_FLAGS: string[] = [];

/** The flags this run gives the engine: ENGINE_NODE_FLAGS, or BENCH_ENGINE_NODE_FLAGS when set (A/B runs). */
function engineNodeFlags(): string[] {
  const own = process.env.BENCH_ENGINE_NODE_FLAGS;
  return own === undefined ? ENGINE_NODE_FLAGS : own.split(/\s+/).filter(Boolean);
}

export async function startEngine(env: Record<string, string>): Promise<EngineProc> {
  const several = Number(env.WEAVER_PROCESSES ?? process.env.WEAVER_PROCESSES ?? 1) > 1;
  const child = fork(fileURLToPath(new URL(several ? './bench-cluster.ts' : './bench-engine.ts', import.meta.url)), [], {
    execArgv: [...tsxArgv(), ...engineNodeFlags()],
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const info = await once<EngineInfo>(child, (m) => (m?.type === 'ready' ? m : undefined), 'the engine to start', several ? 240_000 : 60_000); // several engines start at once
  const baseUrl = `http://127.0.0.1:${info.port}`;
  return {
    info,
    baseUrl,
    mediaUrl: `ws://127.0.0.1:${info.mediaPort}/twilio/media`,
    async live(windowS) {
      const one = async () => {
        // A new connection each time, so the kernel may hand it to any of the port's processes.
        const r = await fetch(`${baseUrl}/metrics/live${windowS ? `?window=${windowS}` : ''}`, { headers: { connection: 'close' } });
        if (!r.ok) throw new Error(`/metrics/live answered ${r.status}`);
        return (await r.json()) as LiveSnapshot;
      };
      if (!info.pids) return one();
      return worstOf(await snapshotsOfEach(one, info.pids.length - 1));
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'stop' });
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface GeneratorProc {
  pid: number;
  target(n: number, rampMs?: number): void;
  relayTarget(n: number, rampMs?: number): void;
  /** The generator's performance.now(), to ask for stats since a moment. */
  now(): Promise<number>;
  stats(sinceMs?: number, samples?: boolean): Promise<GenStats>;
  stop(graceMs?: number): Promise<void>;
}

export async function startGenerator(opts: LoadOptions): Promise<GeneratorProc> {
  const child = fork(fileURLToPath(new URL('./generator.ts', import.meta.url)), ['--child'], {
    execArgv: tsxArgv(),
    env: { ...process.env, UV_THREADPOOL_SIZE: '2' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.send({ type: 'init', opts });
  await once(child, (m) => (m?.type === 'ready' ? true : m?.type === 'error' ? (() => { throw new Error(m.message); })() : undefined), 'the load generator to start', 30_000);
  let id = 0;
  return {
    pid: child.pid!,
    target: (n, rampMs) => child.send({ type: 'target', n, rampMs }),
    relayTarget: (n, rampMs) => child.send({ type: 'relay-target', n, rampMs }),
    async now() {
      const my = ++id;
      child.send({ type: 'now', id: my });
      return once<number>(child, (m) => (m?.type === 'now' && m.id === my ? m.now : undefined), 'generator clock', 30_000);
    },
    async stats(sinceMs = 0, samples = false) {
      const my = ++id;
      child.send({ type: 'stats', id: my, sinceMs, samples });
      return once<GenStats>(child, (m) => (m?.type === 'stats' && m.id === my ? m.stats : undefined), 'generator stats', 60_000);
    },
    async stop(graceMs = 0) {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'stop', graceMs });
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs + 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** One /metrics/live snapshot from each of `n` engine processes (as many as 40 requests find). */
async function snapshotsOfEach(one: () => Promise<LiveSnapshot>, n: number): Promise<LiveSnapshot[]> {
  const byPid = new Map<number, LiveSnapshot>();
  for (let i = 0; i < 40 && byPid.size < n; i++) {
    const s = await one();
    byPid.set(s.pid, s);
  }
  return [...byPid.values()];
}

/**
 * Several processes' snapshots as one for the capacity verdict: the frame lag and turn latency of
 * the worst process (the one whose calls suffer most), calls summed, the cache hit rate over all.
 */
function worstOf(snaps: LiveSnapshot[]): LiveSnapshot & { processes: ProcessShare[] } {
  const worstLag = snaps.reduce((a, b) => ((b.frameLag.p99 ?? -1) > (a.frameLag.p99 ?? -1) ? b : a));
  const worstTurn = snaps.reduce((a, b) => ((b.stages.turn.p99 ?? -1) > (a.stages.turn.p99 ?? -1) ? b : a));
  const hits = snaps.reduce((a, s) => a + s.cache.hits, 0);
  const misses = snaps.reduce((a, s) => a + s.cache.misses, 0);
  return {
    ...worstLag,
    frameLag: { ...worstLag.frameLag, count: snaps.reduce((a, s) => a + s.frameLag.count, 0) },
    stages: { ...worstLag.stages, turn: worstTurn.stages.turn },
    activeCalls: snaps.reduce((a, s) => a + s.activeCalls, 0),
    cache: { ...worstLag.cache, hits, misses, hitRate: hits + misses ? hits / (hits + misses) : null },
    processes: snaps.map((s) => ({ pid: s.pid, activeCalls: s.activeCalls, frameLagP50: s.frameLag.p50, frameLagP99: s.frameLag.p99 })),
  };
}

/** CPU and RSS of the engine: every process of it under bench-cluster.ts. */
export function sampleEngine(info: EngineInfo): ProcSample | null {
  const samples = (info.pids ?? [info.pid]).map(sampleProc).filter((s): s is ProcSample => s !== null);
  if (samples.length === 0) return null;
  const sum = (k: 'cpuMs' | 'mainCpuMs' | 'rssBytes') => samples.reduce((a, s) => a + s[k], 0);
  return { at: samples[0].at, cpuMs: sum('cpuMs'), mainCpuMs: sum('mainCpuMs'), rssBytes: sum('rssBytes') };
}

// ------------------------------------------------------------------------------ /proc

const TICKS_PER_S = 100; // USER_HZ on Linux

export interface ProcSample {
  at: number;
  /** user + system CPU time of the whole process (all threads), ms. */
  cpuMs: number;
  /** Of which its main thread's (the event loop: sockets, calls, DSP dispatch); the rest is DSP workers, GC and other threads. */
  mainCpuMs: number;
  rssBytes: number;
}

/** user + system CPU ms in a /proc stat line (fields after the command name, which may hold spaces). */
function statCpuMs(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_S;
}

export function sampleProc(pid: number): ProcSample | null {
  try {
    const cpuMs = statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    // The main thread's task id is the process id.
    const mainCpuMs = statCpuMs(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    return { at: performance.now(), cpuMs, mainCpuMs, rssBytes: rss ? Number(rss[1]) * 1024 : NaN };
  } catch {
    return null;
  }
}

/** CPU use between two samples, in cores (1 = one core busy): all threads, or the main threads alone. */
export function coresUsed(a: ProcSample, b: ProcSample, of: 'cpuMs' | 'mainCpuMs' = 'cpuMs'): number {
  return (b[of] - a[of]) / Math.max(1, b.at - a.at);
}
