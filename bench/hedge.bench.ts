// Hedging and failover benchmark over SIMULATED providers (in-memory, latency drawn from a
// distribution; no network). Runs the real HedgedLlm chain, breaker and budget with the
// engine's default settings. Run: npx tsx bench/hedge.bench.ts  → bench/results/hedge.json
//
// heavy-tail: TTFT log-normal (median 120 ms, σ 0.25); 5 % of requests stall 2 s first.
//   Compared: the primary alone vs primary + secondary (same distribution) hedged.
// outage-fail-fast: the primary refuses every request (like ECONNREFUSED / 503); share of
//   turns served and time from the outage to the breaker opening.
// outage-hang: the primary accepts and never answers; same figures (failover then relies on
//   hedges within the budget and on FIRST_OUTPUT_TIMEOUT_MS).
import { mkdirSync, writeFileSync } from 'node:fs';
import { ProviderError, type LlmChunk, type LlmProvider, type LlmRequest } from '../adapters/kit/types.ts';
import { HedgedLlm } from '../engine/providers/chain.ts';
import { ProviderHealth } from '../engine/providers/health.ts';
import { HedgeBudget } from '../engine/providers/hedge.ts';
import { hedgeSettings } from '../engine/providers/registry.ts';
import { loadConfig } from '../engine/config.ts';

const config = loadConfig({});
const settings = hedgeSettings(config);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ProviderError('sim', 'aborted', 'aborted'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new ProviderError('sim', 'aborted', 'aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function gaussian(): number {
  const u = 1 - Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
}

type Mode = () => 'ok' | 'fail' | 'hang';
/** A simulated LLM: TTFT from the distribution, then 5 chunks 10 ms apart. */
function simulated(name: string, stallShare: number, mode: Mode = () => 'ok') {
  const stats = { started: 0 };
  const provider: LlmProvider = {
    name,
    async *stream(req: LlmRequest): AsyncGenerator<LlmChunk> {
      stats.started++;
      const m = mode();
      if (m === 'fail') {
        await sleep(1, req.signal);
        throw new ProviderError(name, 'server', 'simulated outage');
      }
      if (m === 'hang') await sleep(600_000, req.signal);
      const ttft = 120 * Math.exp(0.25 * gaussian()) + (Math.random() < stallShare ? 2000 : 0);
      await sleep(ttft, req.signal);
      for (let i = 0; i < 5; i++) {
        yield { text: `w${i} ` };
        await sleep(10, req.signal);
      }
    },
  };
  return { provider, stats };
}

const ctx = { callId: 'bench', workflow: 'bench', language: 'en-US', parameters: {} };

interface TurnResult {
  ttft: number | null;
  served: boolean;
}
async function turn(p: LlmProvider): Promise<TurnResult> {
  const t0 = performance.now();
  let ttft: number | null = null;
  try {
    let text = '';
    for await (const c of p.stream({ ctx, messages: [{ role: 'user', content: 'hi' }], signal: new AbortController().signal })) {
      ttft ??= performance.now() - t0;
      text += c.text;
    }
    return { ttft, served: text.length > 0 };
  } catch {
    return { ttft, served: false };
  }
}

/** Issues `n` turns at `rate` per second (all may overlap), returns results in issue order. */
async function load(p: LlmProvider, n: number, rate: number): Promise<TurnResult[]> {
  const out: Promise<TurnResult>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    out.push(turn(p));
  }
  return Promise.all(out);
}

function pct(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
const r1 = (x: number) => Math.round(x * 10) / 10;

async function heavyTail() {
  const WARM = 400;
  const N = 4000;
  const RATE = 800;
  // Without hedging: the primary alone.
  const solo = simulated('primary', 0.05);
  const soloRes = (await load(solo.provider, N, RATE)).map((r) => r.ttft!).filter((x) => x !== null);
  // With hedging: primary + secondary through the chain, default settings and budget.
  const a = simulated('primary', 0.05);
  const b = simulated('secondary', 0.05);
  const health = new ProviderHealth();
  const budget = new HedgeBudget(config.HEDGE_BUDGET_RATIO, config.HEDGE_BUDGET_WINDOW_MS);
  const chain = new HedgedLlm([{ name: 'primary', provider: a.provider }, { name: 'secondary', provider: b.provider }], { health, settings, budget });
  await load(chain, WARM, RATE); // fills the TTFT window the adaptive delay reads
  const hedgesBefore = budget.totalHedges;
  const startedBefore = a.stats.started + b.stats.started;
  const res = await load(chain, N, RATE);
  const ttfts = res.map((r) => r.ttft!).filter((x) => x !== null);
  const extra = a.stats.started + b.stats.started - startedBefore - N;
  const noHedge = { p50: r1(pct(soloRes, 0.5)), p99: r1(pct(soloRes, 0.99)) };
  const hedged = { p50: r1(pct(ttfts, 0.5)), p99: r1(pct(ttfts, 0.99)) };
  return {
    requests: N,
    noHedge,
    hedged,
    p99Cut: r1(noHedge.p99 / hedged.p99),
    extraRequestsPct: r1((100 * extra) / N),
    hedges: budget.totalHedges - hedgesBefore,
    hedgeDelayMs: r1(Math.min(settings.maxDelayMs, Math.max(settings.minDelayMs, health.ttftQuantile('primary', 0.95) ?? 0))),
    served: res.filter((r) => r.served).length / N,
  };
}

async function outage(kind: 'fail' | 'hang', n: number, rate: number) {
  let down = false;
  let downAt = 0;
  let openedAt: number | null = null;
  const a = simulated('primary', 0, () => (down ? kind : 'ok'));
  const b = simulated('secondary', 0);
  const health = new ProviderHealth();
  health.setBreakerOptions({ failureThreshold: config.BREAKER_FAILURES, failureRatio: config.BREAKER_FAILURE_RATIO, windowMs: config.BREAKER_WINDOW_MS, minRequests: config.BREAKER_MIN_REQUESTS, cooldownMs: config.BREAKER_COOLDOWN_MS });
  health.on('breaker-open', (e: { provider: string }) => {
    if (e.provider === 'primary' && openedAt === null) openedAt = performance.now();
  });
  const budget = new HedgeBudget(config.HEDGE_BUDGET_RATIO, config.HEDGE_BUDGET_WINDOW_MS);
  const chain = new HedgedLlm([{ name: 'primary', provider: a.provider }, { name: 'secondary', provider: b.provider }], { health, settings, budget });
  await load(chain, 200, rate); // healthy warm-up
  down = true;
  downAt = performance.now();
  const res = await load(chain, n, rate);
  const ttfts = res.map((r) => r.ttft).filter((x): x is number => x !== null);
  return {
    turns: n,
    servedPct: r1((100 * res.filter((r) => r.served).length) / n),
    breakerOpenAfterMs: openedAt === null ? null : r1(openedAt - downAt),
    ttftP50: r1(pct(ttfts, 0.5)),
    ttftP99: r1(pct(ttfts, 0.99)),
    primaryAttemptsDuringOutage: a.stats.started - 200,
  };
}

const t0 = performance.now();
const heavy = await heavyTail();
const failFast = await outage('fail', 1500, 500);
const hang = await outage('hang', 2500, 500);
const results = {
  note: 'SIMULATED providers (in-memory latency distributions), real HedgedLlm/breaker/budget with default config',
  settings: { ...settings, budgetRatio: config.HEDGE_BUDGET_RATIO, budgetWindowMs: config.HEDGE_BUDGET_WINDOW_MS, breakerFailures: config.BREAKER_FAILURES, breakerCooldownMs: config.BREAKER_COOLDOWN_MS },
  heavyTail: heavy,
  outageFailFast: failFast,
  outageHang: hang,
  runSeconds: r1((performance.now() - t0) / 1000),
};
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/hedge.json', import.meta.url), JSON.stringify(results, null, 2) + '\n');
console.log('heavy tail (5 % of primary requests stall 2 s), TTFT ms:');
console.table({
  'primary alone': { p50: heavy.noHedge.p50, p99: heavy.noHedge.p99, 'extra requests %': 0 },
  hedged: { p50: heavy.hedged.p50, p99: heavy.hedged.p99, 'extra requests %': heavy.extraRequestsPct },
});
console.log(`p99 cut ${heavy.p99Cut}× (goal ≥ 5×) for ${heavy.extraRequestsPct} % extra requests (goal ≤ 10 %); adaptive hedge delay ≈ ${heavy.hedgeDelayMs} ms`);
console.log('outages (primary down, secondary healthy):');
console.table({
  'fail-fast (refused / 5xx)': { 'served %': failFast.servedPct, 'breaker open after ms': failFast.breakerOpenAfterMs, 'TTFT p50': failFast.ttftP50, 'TTFT p99': failFast.ttftP99 },
  'hang (no answer)': { 'served %': hang.servedPct, 'breaker open after ms': hang.breakerOpenAfterMs, 'TTFT p50': hang.ttftP50, 'TTFT p99': hang.ttftP99 },
});
console.log(`run took ${results.runSeconds} s; written to bench/results/hedge.json`);
process.exit(0);
