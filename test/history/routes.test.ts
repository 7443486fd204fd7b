// Which provider answered each turn, and the hedges and failovers it took, from a real relay call
// to the call history's API and exports. The LLM chain is two openai clients against two loopback
// OpenAI fakes (test/support/fake-openai.ts): the primary answers the first turn, hangs before its
// first token on the second (hedged: the secondary answers), and stalls mid-answer on the third
// (the secondary finishes it). The hedge delay and the stall limit are mechanisms here, not
// measurements: nothing about durations is asserted.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateRelayCall, type RelayCallResult } from '../../bench/load/relay-sim.ts';
import { startTestEngine, waitFor, type TestEngine } from '../support/engine.ts';
import { startFakeOpenAi, type FakeOpenAi } from '../support/fake-openai.ts';
import { chromiumMissing, launchChromium } from '../support/chromium.ts';

const browserMissing = chromiumMissing();
const TOKEN = 'routes-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };
const ANSWER = 'We are open from nine in the morning until five in the evening, Monday to Friday, and on Saturday mornings.';
const SAID = ['When are you open?', 'Do you treat children?', 'Is there parking?'];

const dir = mkdtempSync(join(tmpdir(), 'weaver-routes-'));
let a: FakeOpenAi;
let b: FakeOpenAi;
let t: TestEngine;
let call: RelayCallResult;

beforeAll(async () => {
  a = await startFakeOpenAi({ reply: ANSWER, chunkDelayMs: 5, faults: [{ kind: 'ok' }, { kind: 'hang' }, { kind: 'stall', afterChunks: 3 }] });
  b = await startFakeOpenAi({ reply: ANSWER, chunkDelayMs: 5, continuation: 'rest' });
  const chain = [a, b].map((f, i) => ({ provider: 'openai', apiKey: 'k', baseURL: f.baseURL, model: 'm', name: `openai-${'ab'[i]}` }));
  t = await startTestEngine({
    WEAVER_API_TOKEN: TOKEN,
    HISTORY_PATH: join(dir, 'history.sqlite'),
    HISTORY_FLUSH_MS: 20,
    PERFORMANCE_CACHE_ENABLED: false,
    RELAY_SPEAKING_CHARS_PER_S: 100_000,
    WEAVER_LLM_CHAIN: JSON.stringify(chain),
    // The secondary is started only for the hang (hedge) or the stall (failover), never for a loopback answer's ordinary wait.
    HEDGE_MIN_DELAY_MS: 1500,
    HEDGE_MAX_DELAY_MS: 1500,
    STREAM_STALL_TIMEOUT_MS: 1000,
    FIRST_OUTPUT_TIMEOUT_MS: 20_000,
  });
  call = await simulateRelayCall({ baseUrl: t.url, workflow: 'demo-relay', steps: SAID, answerTimeoutMs: 20_000 });
  await waitFor(() => t.engine.registry.recentRelay.get(call.callSid)?.state === 'ended', 'the call to end');
}, 90_000);

afterAll(async () => {
  await t?.stop();
  await Promise.all([a?.close(), b?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

/** One CSV line's fields (RFC 4180 quoting; no line breaks inside fields here). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)) {
    out.push(m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1]);
    if (m[2] === '') break;
  }
  return out;
}

/** The stored call, once the write queue has flushed it with all three turns. */
async function stored(): Promise<any> {
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${t.url}/history/calls/${call.callSid}`, { headers: auth });
    if (r.status === 200) {
      const c = await r.json();
      if (c.turns.length === SAID.length && c.endedAt) return c;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('the call never reached the store');
}

describe('provider, hedges and failovers per turn, in the call history', () => {
  it('the caller heard every answer whole, each word once', () => {
    expect(call.turns.map((x) => x.answer.trim())).toEqual([ANSWER, ANSWER, ANSWER]);
    // Wire facts behind the routes below: the primary's hung request was aborted; the secondary served turns 2 and 3.
    expect(a.requests.filter((r) => r.route === 'chat')).toHaveLength(3);
    expect(a.requests.filter((r) => r.route === 'chat')[1].aborted).toBe(true);
    expect(b.requests.filter((r) => r.route === 'chat')).toHaveLength(2);
  });

  it('stores and returns the provider that won, the hedge and the failover of each turn', async () => {
    const c = await stored();
    const routes = c.turns.map((x: any) => ({ index: x.index, providers: x.providers, hedges: x.hedges, hedgedTo: x.hedgedTo, failovers: x.failovers, failedOverTo: x.failedOverTo, speculation: x.speculation }));
    expect(routes).toEqual([
      { index: 1, providers: { llm: 'openai-a' }, hedges: 0, hedgedTo: [], failovers: 0, failedOverTo: [], speculation: 'none' },
      { index: 2, providers: { llm: 'openai-b' }, hedges: 1, hedgedTo: [{ role: 'llm', from: 'openai-a', to: 'openai-b' }], failovers: 0, failedOverTo: [], speculation: 'none' },
      // The primary said the start of the third answer, the secondary finished it.
      { index: 3, providers: { llm: 'openai-a, openai-b' }, hedges: 0, hedgedTo: [], failovers: 1, failedOverTo: [{ role: 'llm', from: 'openai-a', to: 'openai-b', midStream: true }], speculation: 'none' },
    ]);
    // The live view of the same call (this instance still holds it) says the same.
    const live = await (await fetch(`${t.url}/calls/${call.callSid}`, { headers: auth })).json();
    expect(live.turns.map((x: any) => [x.providers.llm, x.hedges, x.failovers])).toEqual([
      ['openai-a', 0, 0],
      ['openai-b', 1, 0],
      ['openai-a, openai-b', 0, 1],
    ]);
  });

  it('exports them in the turns CSV and in NDJSON', async () => {
    await stored();
    const csv = (await (await fetch(`${t.url}/calls?format=csv&rows=turns`, { headers: auth })).text()).trim().split('\r\n').map(csvFields);
    const head = csv[0];
    expect(head).toEqual(expect.arrayContaining(['sttProvider', 'llmProvider', 'ttsProvider', 'hedges', 'hedgedTo', 'failovers', 'failedOverTo', 'speculation']));
    const cols = ['llmProvider', 'hedges', 'hedgedTo', 'failovers', 'failedOverTo', 'speculation'].map((n) => head.indexOf(n));
    const rows = csv.slice(1).filter((f) => f[0] === call.callSid);
    expect(rows.map((f) => cols.map((i) => f[i]))).toEqual([
      ['openai-a', '0', '', '0', '', 'none'],
      ['openai-b', '1', 'llm openai-a→openai-b', '0', '', 'none'],
      ['openai-a, openai-b', '0', '', '1', 'llm openai-a→openai-b (mid-answer)', 'none'],
    ]);
    const nd = (await (await fetch(`${t.url}/calls?format=ndjson`, { headers: auth })).text()).trim().split('\n').map((l) => JSON.parse(l));
    const mine = nd.find((r) => r.callSid === call.callSid);
    expect(mine.turns.map((x: any) => x.hedgedTo.map((h: any) => h.to))).toEqual([[], ['openai-b'], []]);
    expect(mine.turns[2].failedOverTo).toEqual([{ role: 'llm', from: 'openai-a', to: 'openai-b', midStream: true }]);
  });

  it.skipIf(browserMissing !== null)(`shows each turn's provider, hedge and failover in the inspector, in a real browser${browserMissing ? ` (skipped: ${browserMissing})` : ''}`, async () => {
    await stored();
    const b = await launchChromium();
    try {
      const page = await b.newPage();
      await page.goto(`${t.url}/dashboard/calls/${call.callSid}#token=${TOKEN}`);
      await page.waitForFunction(() => Number(document.body.dataset.loaded) >= 1, undefined, { timeout: 10_000 });
      // Beside each turn's bar: who answered, ⇉ hedges, ↪ failovers.
      const beside = await page.locator('#waterfall [data-testid="route"]').allTextContents();
      expect(beside).toEqual(['openai-a', 'openai-b ⇉1', 'openai-a, openai-b ↪1']);
      const table = await page.locator('#turn-table tr[data-turn]').evaluateAll((rows) => rows.map((r) => Object.fromEntries(Array.from(r.querySelectorAll('td'), (td) => [td.getAttribute('data-col'), td.textContent]))));
      expect(table.map((r) => [r.llm, r.hedges, r.failovers])).toEqual([
        ['openai-a', '0', '0'],
        ['openai-b', '1 (llm openai-a→openai-b)', '0'],
        ['openai-a, openai-b', '0', '1 (llm openai-a→openai-b (mid-answer))'],
      ]);
    } finally {
      await b.close();
    }
  }, 60_000);
});
