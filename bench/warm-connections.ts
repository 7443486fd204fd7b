// Warm connections (issue 14): first-token time of the real OpenAI adapter (the `openai` client
// through adapters/kit/http-pool.ts) against a loopback OpenAI fake over TLS (a certificate made
// at run time), behind a proxy that puts the server one round trip away (test/support/wan-delay.ts:
// half the RTT each way, plus one RTT before a new connection carries data, as a TCP handshake).
// The fake answers at once, so what is measured is the network: a new connection pays TCP + TLS
// 1.3 (two round trips) before the request's own round trip.
//
// Modes, per RTT:
//   cold          a new connection for every request (a fresh pool each time)
//   warm          one pool, each request after the previous one finished (keep-alive reuse)
//   preconnected  a fresh pool per call: onCallStart() when the call starts, the first request
//                 LEAD_MS later (the greeting and the caller's first words take longer)
//   preconnected, no lead  the request right at call start: it waits for the warm-up's handshake
//   warm h2       as warm, HTTP/2 negotiated by ALPN (PROVIDER_HTTP2=true)
// Turn gap: turns GAP_MS apart, with undici's (and Node fetch's) default 4 s keep-alive vs the
// pool's 60 s, the server keeping idle connections 120 s.
//
// Run: npx tsx bench/warm-connections.ts [--n 40] [--rtt 20,80] → bench/results/warm-connections.json
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { HttpPool } from '../adapters/kit/http-pool.ts';
import { OpenAiLlm } from '../adapters/openai/llm.ts';
import { startFakeOpenAi, type FakeOpenAi } from '../test/support/fake-openai.ts';
import { selfSignedCert } from '../test/support/tls-cert.ts';
import { startWanDelay, type WanDelay } from '../test/support/wan-delay.ts';

const { values: args } = parseArgs({ options: { n: { type: 'string', default: '40' }, rtt: { type: 'string', default: '20,80' }, gap: { type: 'string', default: '6000' }, 'gap-turns': { type: 'string', default: '6' } } });
const N = Number(args.n);
const RTTS = args.rtt!.split(',').map(Number);
const LEAD_MS = 500;
const GAP_MS = Number(args.gap);
const GAP_TURNS = Number(args['gap-turns']);

const cert = selfSignedCert();
const ctx = { callId: 'bench', workflow: 'bench', language: 'en-US', parameters: {} };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Time from the request to its first streamed token (ms), through the real adapter; reads the whole answer. */
async function firstToken(llm: OpenAiLlm): Promise<number> {
  const t0 = performance.now();
  let first = -1;
  for await (const c of llm.stream({ ctx, messages: [{ role: 'user', content: 'When do you open?' }], signal: new AbortController().signal })) {
    if (first < 0 && c.text) first = performance.now() - t0;
  }
  return first;
}

/** Until the pool has the connection back (undici frees it just after the body ends). */
async function idle(http: HttpPool): Promise<void> {
  while (!Object.values(http.agent.stats).some((s) => Number((s as { free?: number }).free) > 0)) await sleep(2);
}

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
};
const summary = (xs: number[], connections: number) => ({ n: xs.length, p50: +q(xs, 0.5).toFixed(1), p95: +q(xs, 0.95).toFixed(1), max: +Math.max(...xs).toFixed(1), connections });

function adapter(wan: WanDelay, http: HttpPool): OpenAiLlm {
  return new OpenAiLlm({ apiKey: 'k', baseURL: `https://127.0.0.1:${wan.port}/v1`, model: 'bench', http });
}

/** `n` requests on one pool, each after `pause()`; the first, which connects, not counted. */
async function sequential(llm: OpenAiLlm, n: number, pause: () => Promise<void>): Promise<number[]> {
  await firstToken(llm);
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    await pause();
    xs.push(await firstToken(llm));
  }
  return xs;
}
const warmRun = (llm: OpenAiLlm, http: HttpPool) => sequential(llm, N, () => idle(http));

/** N calls, each on a fresh pool: `before` runs at call start, then the call's first request. */
async function perCall(wan: WanDelay, pool: () => HttpPool, before: (llm: OpenAiLlm) => Promise<void>): Promise<number[]> {
  const xs: number[] = [];
  for (let i = 0; i < N; i++) {
    const http = pool();
    const llm = adapter(wan, http);
    await before(llm);
    xs.push(await firstToken(llm));
    await http.close();
  }
  return xs;
}

async function mode(wan: WanDelay, run: () => Promise<number[]>) {
  const c0 = wan.connections;
  const xs = await run();
  return summary(xs, wan.connections - c0);
}

async function perRtt(h1: FakeOpenAi, h2: FakeOpenAi, rtt: number) {
  const wan = await startWanDelay({ host: '127.0.0.1', port: h1.port }, rtt);
  const wan2 = await startWanDelay({ host: '127.0.0.1', port: h2.port }, rtt);
  const pools: HttpPool[] = [];
  const pool = (o: { http2?: boolean } = {}) => {
    const p = new HttpPool({ ca: cert.cert, ...o });
    pools.push(p);
    return p;
  };
  try {
    const cold = await mode(wan, () => perCall(wan, pool, async () => {}));
    const warm = await mode(wan, () => {
      const http = pool();
      return warmRun(adapter(wan, http), http);
    });
    const preconnected = await mode(wan, () =>
      perCall(wan, pool, async (llm) => {
        void llm.onCallStart();
        await sleep(LEAD_MS);
      }),
    );
    const preconnectedNoLead = await mode(wan, () => perCall(wan, pool, async (llm) => void llm.onCallStart()));
    const warmH2 = await mode(wan2, () => {
      const http = pool({ http2: true });
      return warmRun(adapter(wan2, http), http);
    });
    const h2Version = h2.requests.at(-1)?.httpVersion;
    return { rttMs: rtt, cold, warm, preconnected, preconnectedNoLead, warmH2: { ...warmH2, httpVersion: h2Version } };
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await Promise.all([wan.close(), wan2.close()]);
  }
}

/** Turns GAP_MS apart on one pool with the given idle keep-alive. */
async function turnGap(h1: FakeOpenAi, rtt: number, keepAliveMs: number) {
  const wan = await startWanDelay({ host: '127.0.0.1', port: h1.port }, rtt);
  const http = new HttpPool({ ca: cert.cert, keepAliveMs });
  try {
    return await mode(wan, () => sequential(adapter(wan, http), GAP_TURNS, () => sleep(GAP_MS)));
  } finally {
    await http.close();
    await wan.close();
  }
}

const started = Date.now();
const loadStart = loadavg();
const h1 = await startFakeOpenAi({ tls: cert, reply: 'We open at nine.', keepAliveMs: 120_000 });
const h2 = await startFakeOpenAi({ tls: { ...cert, http2: true }, reply: 'We open at nine.' });
const rtts = [];
for (const rtt of RTTS) {
  const r = await perRtt(h1, h2, rtt);
  rtts.push(r);
  console.log(`RTT ${rtt} ms: cold p50 ${r.cold.p50} p95 ${r.cold.p95} | warm ${r.warm.p50}/${r.warm.p95} | pre-connected ${r.preconnected.p50}/${r.preconnected.p95} | no lead ${r.preconnectedNoLead.p50}/${r.preconnectedNoLead.p95} | warm h2 ${r.warmH2.p50}/${r.warmH2.p95} (${r.warmH2.httpVersion})`);
}
const gapRtt = RTTS[RTTS.length - 1];
const [default4s, pool60s] = await Promise.all([turnGap(h1, gapRtt, 4000), turnGap(h1, gapRtt, 60_000)]);
console.log(`turns ${GAP_MS} ms apart, RTT ${gapRtt} ms: keep-alive 4 s p50 ${default4s.p50} (${default4s.connections} connections) | 60 s p50 ${pool60s.p50} (${pool60s.connections} connections)`);
await Promise.all([h1.close(), h2.close()]);

const results = {
  date: new Date(started).toISOString(),
  command: `npx tsx bench/warm-connections.ts --n ${N} --rtt ${RTTS.join(',')} --gap ${GAP_MS} --gap-turns ${GAP_TURNS}`,
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, node: process.version },
  loadAverage: { start: loadStart.map((x) => +x.toFixed(2)), end: loadavg().map((x) => +x.toFixed(2)) },
  setup: { leadMs: LEAD_MS, fake: 'test/support/fake-openai.ts over TLS 1.3 (self-signed, openssl), answer at once', proxy: 'test/support/wan-delay.ts', client: 'openai SDK via adapters/kit/http-pool.ts' },
  firstTokenMs: rtts,
  turnGap: { gapMs: GAP_MS, rttMs: gapRtt, keepAlive4s: default4s, keepAlive60s: pool60s },
  runSeconds: Math.round((Date.now() - started) / 1000),
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/warm-connections.json', import.meta.url), JSON.stringify(results, null, 2) + '\n');
console.log(`run took ${results.runSeconds} s; load average ${results.loadAverage.start.join(' ')} → ${results.loadAverage.end.join(' ')}; written to bench/results/warm-connections.json`);
