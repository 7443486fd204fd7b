// Hedging and failover benchmark. Runs the real HedgedLlm chain, breaker, hedge delay and budget
// with the engine's default settings, over SIMULATED providers (in-memory, latency drawn from a
// distribution; no network) and, for the issue's own set-up, over two loopback OpenAI-compatible
// servers through the real `openai` client. Run: npx tsx bench/hedge.bench.ts → bench/results/hedge.json
//
// Profiles: "fast" TTFT log-normal median 120 ms, σ 0.25; "hosted" median 400 ms, p95 900 ms
// (σ 0.49, the small-hosted-LLM figure of bench/results/bench-summary.md).
// heavy-tail: fast; 5 % of requests stall 2 s first. The primary alone vs primary + secondary.
// cold-start: a fresh engine (no samples), 30 sequential turns 1 s apart (a relay call), the
//   primary stalling 3 s on 6 of the 30 (random turns), the secondary healthy; 200 runs per
//   profile. Goal (issue 14): slowest first token < 1.5 s, ≤ 3 hedges beyond the stalls, every
//   answer from exactly one provider.
// fat-tail: warm, fast, the primary stalling 3 s on 20 % of 3000 requests at 200/s.
// overload: warm, fast; both providers refuse 25 % of requests (5xx), the primary stalls 20 %:
//   hedging must back off. latency shift: both 4× slower at once: the extra load hedging adds
//   over the next 1000 requests at 100/s until the delay catches up.
// k sweep: cold-start (turns back to back) for k = HEDGE_TAIL_MULTIPLE in 1.5…4, both profiles.
// loopback: two fake OpenAI servers (test/support/fake-openai.ts) in WEAVER_LLM_CHAIN, real
//   `openai` client, 30 turns 1 s apart, the primary's first token 3 s late on turn 0 and on 5
//   random others; 5 runs.
// outage-fail-fast: the primary refuses every request (like ECONNREFUSED / 503); share of
//   turns served and time from the outage to the breaker opening.
// outage-hang: the primary accepts and never answers; same figures (failover then relies on
//   hedges within the budget and on FIRST_OUTPUT_TIMEOUT_MS).
import { mkdirSync, writeFileSync } from 'node:fs';
import { ProviderError, type LlmChunk, type LlmProvider, type LlmRequest } from '../adapters/kit/types.ts';
import { HedgedLlm } from '../engine/providers/chain.ts';
import { ProviderHealth } from '../engine/providers/health.ts';
import { HedgeBudget, hedgeDelay, type HedgeSettings } from '../engine/providers/hedge.ts';
import { buildProviders, hedgeSettings } from '../engine/providers/registry.ts';
import { loadConfig } from '../engine/config.ts';
import { parseWorkflow } from '../engine/workflow.ts';
import { startFakeOpenAi } from '../test/support/fake-openai.ts';

const config = loadConfig({});
const settings = hedgeSettings(config);
const newBudget = () => new HedgeBudget({ maxTokens: config.HEDGE_BUDGET_TOKENS, ratio: config.HEDGE_BUDGET_RATIO });
const withK = (k: number): HedgeSettings => ({ ...settings, tailMultiple: k });

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
interface Profile {
  medianMs: number;
  sigma: number;
}
const FAST: Profile = { medianMs: 120, sigma: 0.25 };
const HOSTED: Profile = { medianMs: 400, sigma: Math.log(900 / 400) / 1.645 };
interface SimOptions {
  profile?: Profile;
  /** Whether this request stalls (drawn per request), and for how long. */
  stall?: () => boolean;
  stallMs?: number;
  mode?: Mode;
  /** Multiplies every TTFT (an overloaded provider). */
  slowdown?: () => number;
}
/** A simulated LLM: TTFT from the distribution, then 5 chunks 10 ms apart, each tagged with its name. */
function simulated(name: string, o: SimOptions = {}) {
  const stats = { started: 0, stalls: 0 };
  const { medianMs, sigma } = o.profile ?? FAST;
  const provider: LlmProvider = {
    name,
    async *stream(req: LlmRequest): AsyncGenerator<LlmChunk> {
      stats.started++;
      const m = o.mode?.() ?? 'ok';
      if (m === 'fail') {
        await sleep(1, req.signal);
        throw new ProviderError(name, 'server', 'simulated outage');
      }
      if (m === 'hang') await sleep(600_000, req.signal);
      const stall = o.stall?.() ?? false;
      if (stall) stats.stalls++;
      const ttft = medianMs * Math.exp(sigma * gaussian()) * (o.slowdown?.() ?? 1) + (stall ? (o.stallMs ?? 2000) : 0);
      await sleep(ttft, req.signal);
      for (let i = 0; i < 5; i++) {
        yield { text: `${name}.w${i} ` };
        await sleep(10, req.signal);
      }
    },
  };
  return { provider, stats };
}
const share = (p: number) => () => Math.random() < p;

const ctx = { callId: 'bench', workflow: 'bench', language: 'en-US', parameters: {} };

interface TurnResult {
  ttft: number | null;
  served: boolean;
  /** Names of the providers whose words are in the answer (one, unless the answer was mixed). */
  providers: Set<string>;
}
async function turn(p: LlmProvider, providerOf: (text: string) => string[] = (t) => t.match(/\S+(?=\.w\d)/g) ?? []): Promise<TurnResult> {
  const t0 = performance.now();
  let ttft: number | null = null;
  let text = '';
  try {
    for await (const c of p.stream({ ctx, messages: [{ role: 'user', content: 'hi' }], signal: new AbortController().signal })) {
      ttft ??= performance.now() - t0;
      text += c.text;
    }
    return { ttft, served: text.length > 0, providers: new Set(providerOf(text)) };
  } catch {
    return { ttft, served: false, providers: new Set(providerOf(text)) };
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

/**
 * A warm-up's burst starts and ends with a gentle second (40 requests/s). At a burst's edges the
 * rescued stalls are not interleaved with answers from the primary: hundreds of requests sent
 * before the first sample hedge their stalls at the prior's delay all at once, and after a
 * burst's last answers only its last stalls' rescues are left. Five such rescues in a row are
 * five consecutive breaker failures ("silent past its hedge"), which open the primary's breaker
 * for BREAKER_COOLDOWN_MS, and a scenario measured in that window measures the breaker.
 */
const gentle = (p: LlmProvider) => load(p, 40, 40);

/** Counts breaker openings: an open primary is skipped and cannot be hedged, which changes every figure. */
function breakerOpens(health: ProviderHealth): { n: number } {
  const c = { n: 0 };
  health.on('breaker-open', () => c.n++);
  return c;
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
  const solo = simulated('primary', { stall: share(0.05) });
  const soloRes = (await load(solo.provider, N, RATE)).map((r) => r.ttft!).filter((x) => x !== null);
  // With hedging: primary + secondary through the chain, default settings and budget.
  const a = simulated('primary', { stall: share(0.05) });
  const b = simulated('secondary', { stall: share(0.05) });
  const health = new ProviderHealth();
  const opens = breakerOpens(health);
  const budget = newBudget();
  const chain = new HedgedLlm([{ name: 'primary', provider: a.provider }, { name: 'secondary', provider: b.provider }], { health, settings, budget });
  await gentle(chain);
  await load(chain, WARM, RATE); // fills the TTFT window the adaptive delay reads
  await gentle(chain);
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
    hedgeDelayMs: hedgeDelay(health, 'primary', settings),
    served: res.filter((r) => r.served).length / N,
    breakerOpens: opens.n,
  };
}

async function outage(kind: 'fail' | 'hang', n: number, rate: number) {
  let down = false;
  let downAt = 0;
  let openedAt: number | null = null;
  const a = simulated('primary', { mode: () => (down ? kind : 'ok') });
  const b = simulated('secondary');
  const health = new ProviderHealth();
  health.setBreakerOptions({ failureThreshold: config.BREAKER_FAILURES, failureRatio: config.BREAKER_FAILURE_RATIO, windowMs: config.BREAKER_WINDOW_MS, minRequests: config.BREAKER_MIN_REQUESTS, cooldownMs: config.BREAKER_COOLDOWN_MS });
  health.on('breaker-open', (e: { provider: string }) => {
    if (e.provider === 'primary' && openedAt === null) openedAt = performance.now();
  });
  const budget = newBudget();
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

/** `n` of `turns` turn numbers at random (turn 0 always among them when `first`). */
function stallTurns(turns: number, n: number, first = false): Set<number> {
  const idx = Array.from({ length: turns }, (_, i) => i).filter((i) => !first || i > 0);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return new Set(first ? [0, ...idx.slice(0, n - 1)] : idx.slice(0, n));
}

interface RunResult {
  ttfts: number[];
  hedges: number;
  stallsHedged: number;
  /** Hedges on turns where the primary did not stall. */
  extraHedges: number;
  /** Answers holding words of more than one provider. */
  mixed: number;
  unserved: number;
}

/** `turns` sequential turns, `gapMs` apart (the caller speaking); `onTurn(i)` runs before turn i. */
async function relayRun(p: LlmProvider, budget: { totalHedges: number }, stalls: Set<number>, turns: number, gapMs: number, onTurn: (i: number) => void, providerOf?: (text: string) => string[]): Promise<RunResult> {
  const out: RunResult = { ttfts: [], hedges: 0, stallsHedged: 0, extraHedges: 0, mixed: 0, unserved: 0 };
  for (let i = 0; i < turns; i++) {
    onTurn(i);
    const before = budget.totalHedges;
    const r = await turn(p, providerOf);
    const hedged = budget.totalHedges - before;
    out.hedges += hedged;
    if (stalls.has(i)) out.stallsHedged += hedged;
    else out.extraHedges += hedged;
    if (r.providers.size !== 1) out.mixed++;
    if (!r.served || r.ttft === null) out.unserved++;
    else out.ttfts.push(r.ttft);
    if (gapMs) await new Promise((res) => setTimeout(res, gapMs));
  }
  return out;
}

const GOAL_TTFT_MS = 1500;
const GOAL_EXTRA_HEDGES = 3;
function summarize(runs: RunResult[]) {
  const all = runs.flatMap((r) => r.ttfts);
  const maxima = runs.map((r) => Math.max(...r.ttfts));
  const extra = runs.map((r) => r.extraHedges);
  const stalls = runs.length * 6;
  return {
    runs: runs.length,
    slowestFirstTokenMs: r1(Math.max(...maxima)),
    runSlowestP50Ms: r1(pct(maxima, 0.5)),
    ttftP50: r1(pct(all, 0.5)),
    ttftP99: r1(pct(all, 0.99)),
    stallsHedgedPct: r1((100 * runs.reduce((a, r) => a + r.stallsHedged, 0)) / stalls),
    extraHedgesMean: r1(extra.reduce((a, b) => a + b, 0) / runs.length),
    extraHedgesMax: Math.max(...extra),
    mixedAnswers: runs.reduce((a, r) => a + r.mixed, 0),
    unserved: runs.reduce((a, r) => a + r.unserved, 0),
    goalMetPct: r1((100 * runs.filter((r) => Math.max(...r.ttfts) < GOAL_TTFT_MS && r.extraHedges <= GOAL_EXTRA_HEDGES && r.mixed === 0 && r.unserved === 0).length) / runs.length),
  };
}

/** Fresh chains (no samples), 30 turns each, the primary stalling 3 s on 6 of them. */
async function coldStart(profile: Profile, runs: number, gapMs: number, s: HedgeSettings = settings) {
  const one = async () => {
    let current = 0;
    const stalls = stallTurns(30, 6);
    const a = simulated('primary', { profile, stall: () => stalls.has(current), stallMs: 3000 });
    const b = simulated('secondary', { profile });
    const budget = newBudget();
    const chain = new HedgedLlm([{ name: 'primary', provider: a.provider }, { name: 'secondary', provider: b.provider }], { health: new ProviderHealth(), settings: s, budget });
    return relayRun(chain, budget, stalls, 30, gapMs, (i) => (current = i));
  };
  const res = await Promise.all(Array.from({ length: runs }, one));
  return { firstHedgeDelayMs: hedgeDelay(new ProviderHealth(), 'primary', s), ...summarize(res) };
}

/** The set-up: two OpenAI-compatible endpoints (loopback fakes) in WEAVER_LLM_CHAIN, the real client. */
async function loopback(runs: number) {
  const one = async () => {
    const words = (name: string) => Array.from({ length: 5 }, (_, i) => `${name}.w${i}`).join(' ');
    const primary = await startFakeOpenAi({ reply: words('primary') });
    const secondary = await startFakeOpenAi({ reply: words('secondary') });
    try {
      const chain = JSON.stringify([
        { provider: 'openai', apiKey: 'k', baseURL: primary.baseURL, model: 'primary' },
        { provider: 'openai', apiKey: 'k', baseURL: secondary.baseURL, model: 'secondary' },
      ]);
      const p = buildProviders(parseWorkflow({ id: 'bench' }, 'bench'), loadConfig({ WEAVER_LLM_CHAIN: chain }), { health: new ProviderHealth() });
      const stalls = stallTurns(30, 6, true);
      const llm = p.llm as HedgedLlm;
      return await relayRun(llm, llm.budget, stalls, 30, 1000, (i) => primary.setFaults(stalls.has(i) ? [{ kind: 'slow-first', ms: 3000 }] : [], { kind: 'ok' }));
    } finally {
      await Promise.all([primary.close(), secondary.close()]);
    }
  };
  return summarize(await Promise.all(Array.from({ length: runs }, one)));
}

type Sim = ReturnType<typeof simulated>;
/** A warm two-provider chain: `warm` requests, then `change()`, then `n` measured requests at `rate`/s. */
async function warmRun(a: Sim, b: Sim, warm: number, n: number, rate: number, change = () => {}) {
  const budget = newBudget();
  const health = new ProviderHealth();
  const opens = breakerOpens(health);
  const chain = new HedgedLlm([{ name: a.provider.name, provider: a.provider }, { name: b.provider.name, provider: b.provider }], { health, settings, budget });
  await gentle(chain);
  await load(chain, warm, rate);
  await gentle(chain);
  change();
  const [h0, s0, st0] = [budget.totalHedges, a.stats.started + b.stats.started, a.stats.stalls];
  const res = await load(chain, n, rate);
  const ttfts = res.map((r) => r.ttft).filter((x): x is number => x !== null);
  const hedges = budget.totalHedges - h0;
  const stalls = a.stats.stalls - st0;
  return {
    requests: n,
    stalls,
    hedges,
    hedgesPerStall: stalls ? r1(hedges / stalls) : null,
    extraRequestsPct: r1((100 * (a.stats.started + b.stats.started - s0 - n)) / n),
    servedPct: r1((100 * res.filter((r) => r.served).length) / n),
    ttftP50: r1(pct(ttfts, 0.5)),
    ttftP99: r1(pct(ttfts, 0.99)),
    refusedByBudget: budget.refused,
    lowestTokens: r1(budget.lowest),
    mixedAnswers: res.filter((r) => r.served && r.providers.size !== 1).length,
    breakerOpens: opens.n,
  };
}

const sheds = (p: number): Mode => () => (Math.random() < p ? 'fail' : 'ok');
/** The primary stalling 3 s on 20 % of requests: the budget must not starve it. */
const fatTail = () => warmRun(simulated('primary', { stall: share(0.2), stallMs: 3000 }), simulated('secondary'), 300, 3000, 200);
/** Both providers overloaded (25 % of requests refused with a 5xx) and the primary stalling 20 %: hedges must back off. */
const overloadErrors = () => warmRun(simulated('primary', { stall: share(0.2), stallMs: 3000, mode: sheds(0.25) }), simulated('secondary', { mode: sheds(0.25) }), 300, 3000, 200);
/** Both providers 4× slower at once: the extra load hedging adds until the delay catches up. */
function latencyShift() {
  let slow = 1;
  return warmRun(simulated('primary', { slowdown: () => slow }), simulated('secondary', { slowdown: () => slow }), 500, 1000, 100, () => (slow = 4));
}

const K_VALUES = [1.5, 2, 2.5, 3, 4];
/** Cold start for each k, turns back to back (the delay and the bucket do not depend on time). */
async function kSweep(runs: number) {
  const rows = await Promise.all(
    [['fast', FAST] as const, ['hosted', HOSTED] as const].flatMap(([name, profile]) => K_VALUES.map(async (k) => ({ profile: name, k, ...(await coldStart(profile, runs, 0, withK(k))) }))),
  );
  return rows.map(({ profile, k, firstHedgeDelayMs, slowestFirstTokenMs, runSlowestP50Ms, ttftP99, extraHedgesMean, extraHedgesMax, goalMetPct }) => ({ profile, k, firstHedgeDelayMs, slowestFirstTokenMs, runSlowestP50Ms, ttftP99, extraHedgesMean, extraHedgesMax, goalMetPct }));
}

const t0 = performance.now();
const heavy = await heavyTail();
const [coldFast, coldHosted] = await Promise.all([coldStart(FAST, 200, 1000), coldStart(HOSTED, 200, 1000)]);
const wire = await loopback(5);
const fat = await fatTail();
const over = await overloadErrors();
const shift = await latencyShift();
const sweep = await kSweep(100);
const failFast = await outage('fail', 1500, 500);
const hang = await outage('hang', 2500, 500);
const results = {
  note: 'SIMULATED providers (in-memory latency distributions) except "loopback" (two fake OpenAI servers, real openai client); real HedgedLlm/breaker/budget with default config',
  settings: { ...settings, budgetTokens: config.HEDGE_BUDGET_TOKENS, budgetRatio: config.HEDGE_BUDGET_RATIO, breakerFailures: config.BREAKER_FAILURES, breakerCooldownMs: config.BREAKER_COOLDOWN_MS },
  heavyTail: heavy,
  coldStartFast: coldFast,
  coldStartHosted: coldHosted,
  loopback: wire,
  fatTail: fat,
  overloadErrors: over,
  latencyShift: shift,
  kSweep: sweep,
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
const goalRow = (s: ReturnType<typeof summarize>) => ({
  'slowest TTFT': s.slowestFirstTokenMs,
  'run-slowest p50': s.runSlowestP50Ms,
  'TTFT p99': s.ttftP99,
  'stalls hedged %': s.stallsHedgedPct,
  'extra hedges mean/max': `${s.extraHedgesMean} / ${s.extraHedgesMax}`,
  'mixed answers': s.mixedAnswers,
  'goal met %': s.goalMetPct,
});
console.log(`30 turns from cold, primary stalls 3 s on 6 (goal: slowest < ${GOAL_TTFT_MS} ms, ≤ ${GOAL_EXTRA_HEDGES} extra hedges, one provider per answer), ms:`);
console.table({ 'simulated fast (200 runs)': goalRow(coldFast), 'simulated hosted (200 runs)': goalRow(coldHosted), 'loopback openai (5 runs)': goalRow(wire) });
console.log('warm: fat tail (primary stalls 3 s on 20 %); overload (both refuse 25 %, primary stalls 20 %); latency shift (both 4× slower at once):');
console.table({ 'fat tail': fat, 'overload (5xx)': over, 'latency shift': shift });
console.log('k sweep (cold start, 100 runs each):');
console.table(sweep);
console.log('outages (primary down, secondary healthy):');
console.table({
  'fail-fast (refused / 5xx)': { 'served %': failFast.servedPct, 'breaker open after ms': failFast.breakerOpenAfterMs, 'TTFT p50': failFast.ttftP50, 'TTFT p99': failFast.ttftP99 },
  'hang (no answer)': { 'served %': hang.servedPct, 'breaker open after ms': hang.breakerOpenAfterMs, 'TTFT p50': hang.ttftP50, 'TTFT p99': hang.ttftP99 },
});
console.log(`run took ${results.runSeconds} s; written to bench/results/hedge.json`);
process.exit(0);
