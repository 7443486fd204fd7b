// The history's faults never reach a call: a store that cannot open leaves the engine serving calls
// with history off, one clear log line and /health degraded; a store lost mid-run (its thread
// killed; PostgreSQL's connection cut) drops records, counted, while the call in progress goes on
// and ends normally.
import { describe, it, expect, afterEach, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { startTcpRelay } from '../support/tcp-relay.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig, type Config } from '../../engine/config.ts';
import { createEngine } from '../../engine/engine.ts';
import { startServer } from '../../engine/server.ts';
import { routeGroups } from '../../engine/routes.ts';
import { RelayCaller } from '../../bench/load/relay-sim.ts';
import { waitFor } from '../support/engine.ts';
import { postgresMissing, pgSchema, PG_BASE_URL } from './pg.ts';

const TOKEN = 'faults-token';
const pgMissing = await postgresMissing();
const auth = { authorization: `Bearer ${TOKEN}` };
const dir = mkdtempSync(join(tmpdir(), 'weaver-history-faults-'));
const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An engine on loopback whose log lines are kept. */
async function engineWith(overrides: Partial<Record<keyof Config, unknown>>) {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const config = loadConfig({}, { PORT: 0, HOST: '127.0.0.1', DSP_THREADS: 1, CACHE_DIR: mkdtempSync(join(dir, 'cache-')), SHUTDOWN_GRACE_MS: 0, PERFORMANCE_CACHE_ENABLED: false, WEAVER_API_TOKEN: TOKEN, HISTORY_FLUSH_MS: 20, RELAY_SPEAKING_CHARS_PER_S: 100_000, ...overrides });
  const engine = await createEngine(config, { log });
  const server = await startServer(engine, routeGroups);
  const t = { engine, url: `http://127.0.0.1:${server.port}`, lines, stop: () => server.shutdown(0) };
  stops.push(t.stop);
  return t;
}

const health = async (url: string) => (await fetch(`${url}/health`)).json();
const droppedTotal = async (url: string, reason: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^weaver_history_dropped_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
};

describe('a store that cannot open', () => {
  it('leaves the engine answering calls with history off, one clear log line and /health degraded', async () => {
    const notADir = join(dir, 'a-file');
    writeFileSync(notADir, 'x');
    const t = await engineWith({ HISTORY_PATH: join(notADir, 'history.sqlite') });
    expect(t.engine.history.status).toBe('unavailable');
    const line = t.lines.find((l) => String(l.msg).startsWith('call history OFF'));
    expect(line?.level).toBe(50);
    expect(String(line?.msg)).toContain(join(notADir, 'history.sqlite'));

    const h = await health(t.url);
    expect(h.status).toBe('degraded');
    expect(h.history).toMatchObject({ status: 'unavailable', store: `sqlite ${join(notADir, 'history.sqlite')}` });
    expect(h.history.error).toMatch(/EEXIST|ENOTDIR/); // its folder is a file

    // Calls are answered all the same, and the live call view still works.
    const caller = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    await caller.connect();
    const turn = await caller.turn('Is there parking at the clinic?');
    expect(turn.answer).toMatch(/park/i);
    const live = await (await fetch(`${t.url}/calls/${caller.callSid}`, { headers: auth })).json();
    expect(live.turns.map((x: { user?: string }) => x.user)).toEqual(['Is there parking at the clinic?']);
    await caller.hangup();
    // The history API says why it has nothing.
    const r = await fetch(`${t.url}/calls`, { headers: auth });
    expect(r.status).toBe(503);
    expect((await r.json()).error).toMatch(/unavailable/);
  });

  it('is not degraded when history is switched off on purpose', async () => {
    const t = await engineWith({ HISTORY_ENABLED: false });
    expect(t.engine.history.status).toBe('off');
    const h = await health(t.url);
    expect(h.status).toBe('ok');
    expect(h.history.status).toBe('off');
  });
});

describe('a store lost mid-run', () => {
  it('SQLite: its thread dies during a call; the call goes on and ends normally, records are dropped and counted', async () => {
    const t = await engineWith({ HISTORY_PATH: join(dir, 'lost.sqlite') });
    const caller = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    await caller.connect();
    expect((await caller.turn('What are your opening hours on weekdays?')).answer).toMatch(/Monday/);
    await t.engine.history.killStoreForTest();
    await waitFor(() => t.engine.history.status === 'lost', 'the history to notice');
    const second = await caller.turn('Is there parking at the clinic?');
    expect(second.answer).toMatch(/park/i);
    expect(second.timedOut).toBe(false);
    await caller.hangup();
    const call = t.engine.registry.recentRelay.get(caller.callSid)!;
    await waitFor(() => call.state === 'ended', 'the call to end');
    expect(call.outcome).toBe('hangup');
    expect(call.turns).toHaveLength(2);
    await waitFor(() => t.engine.history.dropped.store_lost > 0, 'the drop to be counted');
    expect(await droppedTotal(t.url, 'store_lost')).toBeGreaterThan(0);
    const h = await health(t.url);
    expect(h.status).toBe('degraded');
    expect(h.history.status).toBe('lost');
    expect((await fetch(`${t.url}/calls`, { headers: auth })).status).toBe(503);
  });

  it.skipIf(pgMissing !== null)(`PostgreSQL: its connection is cut during a call; the call goes on, the failed writes are counted, and writing resumes when it is back${pgMissing ? ` (skipped: ${pgMissing})` : ''}`, async () => {
    const s = await pgSchema();
    stops.push(s.drop);
    // A TCP relay between the engine and PostgreSQL that the test can cut.
    const target = new URL(PG_BASE_URL);
    const relay = await startTcpRelay({ host: target.hostname, port: Number(target.port || 5432) });
    stops.push(() => relay.close());
    const url = new URL(s.url);
    url.host = `127.0.0.1:${relay.port}`;
    const t = await engineWith({ DATABASE_URL: url.toString() });
    expect(t.engine.history.status).toBe('ok');

    const caller = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    await caller.connect();
    expect((await caller.turn('What are your opening hours on weekdays?')).answer).toMatch(/Monday/);
    relay.cut();
    const second = await caller.turn('Is there parking at the clinic?');
    expect(second.answer).toMatch(/park/i);
    expect(second.timedOut).toBe(false);
    await waitFor(() => t.engine.history.dropped.write_failed > 0, 'a failed write to be counted', 20_000);
    expect((await health(t.url)).history.status).toBe('failing');
    expect(await droppedTotal(t.url, 'write_failed')).toBeGreaterThan(0);

    relay.restore(); // PostgreSQL is back: the pool reconnects and the next batch is written
    expect((await caller.turn('Do you treat children?')).answer).toMatch(/children/);
    await caller.hangup();
    await waitFor(() => t.engine.history.status === 'ok', 'writes to resume', 20_000);
    // The status turns ok with the first batch after the cut; the call's own record may be in the next one.
    let d: { turns?: { user: string }[] } = {};
    for (let i = 0; i < 100 && !d.turns; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      d = await (await fetch(`${t.url}/history/calls/${caller.callSid}`, { headers: auth })).json();
    }
    expect(d.turns?.map((x) => x.user)).toContain('Do you treat children?');
  }, 60_000);
});
