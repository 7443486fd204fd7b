// The call history store, one suite run against both databases it supports: SQLite (a temp file)
// and PostgreSQL (a schema of its own in the machine's `test` database; skipped, saying why, when
// PostgreSQL cannot be reached).
import { describe, it, expect, afterAll } from 'vitest';
import type { Kysely } from 'kysely';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HistoryStore, type StoreOptions } from '../../engine/history/store.ts';
import { MIGRATIONS } from '../../engine/history/migrations.ts';
import type { CallUpsert, HistoryOp, TurnRow } from '../../engine/history/schema.ts';
import { postgresMissing, pgSchema } from './pg.ts';

const pgMissing = await postgresMissing();

const dir = mkdtempSync(join(tmpdir(), 'weaver-history-'));
const schemas: Array<Awaited<ReturnType<typeof pgSchema>>> = [];
let files = 0;
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  for (const s of schemas) await s.drop();
});

/** Opens an empty store (SQLite: a new file; PostgreSQL: a new schema). */
async function openEmpty(kind: 'sqlite' | 'postgres', extra: Partial<StoreOptions> = {}): Promise<{ store: HistoryStore; opts: StoreOptions }> {
  let opts: StoreOptions;
  if (kind === 'sqlite') opts = { path: join(dir, `h${files++}.sqlite`), ...extra };
  else {
    const s = await pgSchema();
    schemas.push(s);
    opts = { databaseUrl: s.url, ...extra };
  }
  return { store: await HistoryStore.open(opts), opts };
}

const T0 = Date.UTC(2025, 0, 6, 9, 0, 0); // a Monday, 09:00 UTC

function call(sid: string, over: Partial<CallUpsert> = {}): HistoryOp {
  return { op: 'call', row: { sid, started_at: T0, mode: 'media', workflow: 'demo', instance: 'test', ...over } };
}

function turn(sid: string, idx: number, over: Partial<TurnRow> = {}): HistoryOp {
  return {
    op: 'turn',
    row: {
      call_sid: sid,
      leg: 'MZ1',
      idx,
      at: T0 + idx * 5000,
      offset_ms: idx * 5000,
      user_text: idx === 0 ? null : `question ${idx}`,
      answer_text: `answer ${idx}`,
      heard_text: null,
      source: idx === 0 ? 'greeting' : 'llm',
      provider: null,
      stt_provider: null,
      tts_provider: null,
      hedges: null,
      hedged_to: null,
      failovers: null,
      failed_over_to: null,
      speculation: null,
      language: 'en-US',
      stt_language: null,
      language_switch: null,
      interrupted: 0,
      hangover_ms: 500,
      stt_ms: 120,
      response_ms: 80,
      tts_ms: 40,
      send_ms: 1,
      turn_ms: idx === 0 ? null : 241,
      overhead_ms: 1,
      audio_bytes: 8000,
      ok: idx === 0 ? null : 1,
      ...over,
    },
  };
}

const event = (sid: string | null, at: number, kind: string, name: string, detail?: object): HistoryOp => ({
  op: 'event',
  row: { id: `${sid}-${kind}-${name}-${at}`, call_sid: sid, at, kind, name, detail: detail ? JSON.stringify(detail) : null },
});

for (const kind of ['sqlite', 'postgres'] as const) {
  const skip = kind === 'postgres' && pgMissing !== null;
  describe.skipIf(skip)(`history store on ${kind}${skip ? ` (skipped: ${pgMissing})` : ''}`, () => {
    it('migrates a new store to the latest schema once; reopening applies nothing', async () => {
      const { store, opts } = await openEmpty(kind);
      expect(store.dialect).toBe(kind);
      expect(store.migrated).toEqual(Object.keys(MIGRATIONS));
      expect(await store.schemaVersion()).toBe(Object.keys(MIGRATIONS).at(-1));
      await store.write([call('CA1')]);
      await store.close();
      const again = await HistoryStore.open(opts);
      expect(again.migrated).toEqual([]);
      expect((await again.getCall('CA1'))?.call.workflow).toBe('demo');
      await again.close();
    });

    it('upgrades a store made by the first schema: the route columns are added and the old rows kept', async () => {
      const { store, opts } = await openEmpty(kind);
      await store.write([call('CA9'), turn('CA9', 1)]);
      // Back to the first migration's schema, as a store written before the route columns would be.
      const [first, ...later] = Object.keys(MIGRATIONS);
      const db = (store as unknown as { db: Kysely<any> }).db;
      for (const name of [...later].reverse()) await MIGRATIONS[name].down!(db);
      await db.deleteFrom('history_migration').where('name', '!=', first).execute();
      await expect(db.selectFrom('turns').select('hedged_to').execute()).rejects.toThrow();
      await store.close();

      const again = await HistoryStore.open(opts);
      expect(again.migrated).toEqual(later);
      const routed = { provider: 'openai-b', stt_provider: 'simulated', tts_provider: 'espeak, espeak#1', hedges: 1, hedged_to: JSON.stringify([{ role: 'llm', from: 'openai-a', to: 'openai-b' }]), failovers: 1, failed_over_to: JSON.stringify([{ role: 'tts', from: 'espeak', to: 'espeak#1', midStream: true }]), speculation: 'contradicted' };
      await again.write([turn('CA9', 2, routed)]);
      const d = (await again.getCall('CA9'))!;
      expect(d.turns.map((t) => t.user_text)).toEqual(['question 1', 'question 2']);
      expect(d.turns[0]).toMatchObject({ provider: null, hedged_to: null, speculation: null });
      expect(d.turns[1]).toMatchObject(routed);
      await again.close();
    });

    it('merges a call written in parts: later fields fill in, nothing is blanked, the earliest start wins', async () => {
      const { store } = await openEmpty(kind);
      await store.write([{ op: 'call', row: { sid: 'CA2', started_at: T0 + 2000, status: 'ringing', caller: '+15550001111', direction: 'inbound' } }]);
      await store.write([call('CA2', { started_at: T0 + 3000, language: 'en-US', languages: ',en-US,' })]);
      await store.write([call('CA2', { started_at: T0 + 3000, ended_at: T0 + 60_000, outcome: 'hangup', quality: 50, turns: 2, language: 'es-ES', languages: ',en-US,es-ES,' })]);
      const d = await store.getCall('CA2');
      expect(d?.call).toMatchObject({ sid: 'CA2', started_at: T0 + 2000, status: 'ringing', caller: '+15550001111', direction: 'inbound', mode: 'media', workflow: 'demo', ended_at: T0 + 60_000, outcome: 'hangup', quality: 50, turns: 2, language: 'es-ES' });
      expect(typeof d?.call.started_at).toBe('number');
      await store.close();
    });

    it('returns a call with its turns (stage timings, transcripts) and events in order', async () => {
      const { store } = await openEmpty(kind);
      await store.write([call('CA3'), turn('CA3', 2), turn('CA3', 0), turn('CA3', 1, { interrupted: 1, heard_text: 'answ', ok: 0 }), event('CA3', T0 + 9, 'status', 'completed'), event('CA3', T0 + 1, 'status', 'ringing', { sequence: 0 })]);
      const d = (await store.getCall('CA3'))!;
      expect(d.turns.map((t) => t.idx)).toEqual([0, 1, 2]);
      expect(d.turns[1]).toMatchObject({ user_text: 'question 1', answer_text: 'answer 1', heard_text: 'answ', interrupted: 1, hangover_ms: 500, stt_ms: 120, response_ms: 80, tts_ms: 40, send_ms: 1, turn_ms: 241, ok: 0 });
      expect(d.events.map((e) => e.name)).toEqual(['ringing', 'completed']);
      expect(JSON.parse(d.events[0].detail!)).toEqual({ sequence: 0 });
      // A turn written twice is kept once; the second write brings what a later barge-in changed.
      await store.write([turn('CA3', 2, { interrupted: 1, heard_text: 'ans', ok: 0 }), turn('CA3', 2, { interrupted: 1, heard_text: 'answ', ok: 0 })]);
      const again = (await store.getCall('CA3'))!.turns;
      expect(again).toHaveLength(3);
      expect(again[2]).toMatchObject({ idx: 2, interrupted: 1, heard_text: 'answ', ok: 0, user_text: 'question 2', turn_ms: 241 });
      expect(await store.getCall('CA-none')).toBeUndefined();
      await store.close();
    });

    it('lists calls newest first, filtered by time, workflow, outcome, language, text, and pages with a cursor', async () => {
      const { store } = await openEmpty(kind);
      const ops: HistoryOp[] = [];
      for (let i = 0; i < 25; i++) {
        const sid = `CA${String(i).padStart(3, '0')}`;
        ops.push(
          call(sid, { started_at: T0 + i * 60_000, workflow: i % 2 ? 'demo-relay' : 'demo', mode: i % 2 ? 'relay' : 'media', outcome: i % 5 === 0 ? 'error' : 'hangup', languages: i === 7 ? ',en-US,zh-HK,' : ',en-US,' }),
          turn(sid, 1, { user_text: i === 11 ? 'Do you treat CHILDREN?' : i === 12 ? 'a 100% refund' : 'hello', at: T0 + i * 60_000 }),
        );
      }
      await store.write(ops);
      const all = await store.listCalls({ limit: 1000 });
      expect(all.calls).toHaveLength(25);
      expect(all.calls[0].sid).toBe('CA024');
      expect(all.nextCursor).toBeUndefined();

      // Pages: no call twice, none missed, same order.
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listCalls({ limit: 7, cursor });
        seen.push(...page.calls.map((c) => c.sid));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toEqual(all.calls.map((c) => c.sid));

      expect((await store.listCalls({ from: T0 + 10 * 60_000, to: T0 + 13 * 60_000 })).calls.map((c) => c.sid)).toEqual(['CA012', 'CA011', 'CA010']);
      expect((await store.listCalls({ workflow: 'demo-relay', limit: 100 })).calls).toHaveLength(12);
      expect((await store.listCalls({ outcome: 'error' })).calls.map((c) => c.sid)).toEqual(['CA020', 'CA015', 'CA010', 'CA005', 'CA000']);
      expect((await store.listCalls({ language: 'zh-HK' })).calls.map((c) => c.sid)).toEqual(['CA007']);
      expect((await store.listCalls({ language: 'zh' })).calls).toEqual([]); // a language, not a prefix
      expect((await store.listCalls({ q: 'children' })).calls.map((c) => c.sid)).toEqual(['CA011']);
      expect((await store.listCalls({ q: '100%' })).calls.map((c) => c.sid)).toEqual(['CA012']);
      expect((await store.listCalls({ q: '%' })).calls.map((c) => c.sid)).toEqual(['CA012']); // % is a character, not a wildcard
      expect((await store.listCalls({ q: 'CA003' })).calls.map((c) => c.sid)).toEqual(['CA003']);
      await expect(store.listCalls({ cursor: 'garbage' })).rejects.toThrow(/cursor/);
      await store.close();
    });

    it('computes trends per workflow and language: percentiles, cache hit rate, sources, quality; self-tests left out', async () => {
      const { store } = await openEmpty(kind);
      const ops: HistoryOp[] = [call('CA-a', { workflow: 'demo' }), call('CA-b', { workflow: 'demo-relay' }), call('CA-s', { workflow: 'demo', direction: 'selftest' })];
      // demo: 10 turns in the first hour, turn_ms 100..1000, 4 cache hits, 7 within target.
      for (let i = 1; i <= 10; i++) ops.push(turn('CA-a', i, { at: T0 + i * 1000, turn_ms: i * 100, source: i <= 4 ? 'cache-exact' : 'llm', ok: i <= 7 ? 1 : 0, language: i <= 8 ? 'en-US' : 'es-ES' }));
      // demo-relay: 2 turns in the second hour.
      for (let i = 1; i <= 2; i++) ops.push(turn('CA-b', i, { at: T0 + 3_600_000 + i * 1000, turn_ms: 50, source: 'llm', ok: 1 }));
      ops.push(turn('CA-s', 1, { at: T0 + 5000, turn_ms: 9999, source: 'fallback', ok: 0 }));
      await store.write(ops);
      const tr = await store.trends({ from: T0, to: T0 + 2 * 3_600_000 });
      expect(tr.bucketMs).toBe(3_600_000);
      const demo = tr.series.find((s) => s.workflow === 'demo')!;
      expect(demo.points).toHaveLength(1);
      expect(demo.points[0]).toMatchObject({ t: T0, calls: 1, turns: 10, p50: 500, p95: 1000, cacheHitRate: 0.4, bySource: { 'cache-exact': 4, llm: 6 }, quality: 70 });
      const relay = tr.series.find((s) => s.workflow === 'demo-relay')!;
      expect(relay.points.map((p) => p.t)).toEqual([T0 + 3_600_000]);
      const byLang = await store.trends({ from: T0, to: T0 + 3_600_000, by: 'language', workflow: 'demo' });
      expect(byLang.series.map((s) => [s.language, s.points[0].turns]).sort()).toEqual([
        ['en-US', 8],
        ['es-ES', 2],
      ]);
      await store.close();
    });

    it('redacts personal data in stored transcripts and masks numbers when asked', async () => {
      const { store } = await openEmpty(kind, { redact: 'pii', maskNumbers: true });
      await store.write([
        call('CA-p', { caller: '+15551234567', callee: 'sip:alice@example.com' }),
        turn('CA-p', 1, { user_text: 'My card is 4111 1111 1111 1111 and mail me at jo.smith@example.com, booking AB12CD', answer_text: 'Thank you Mrs Hughes, see you at 10am on the 22nd.' }),
      ]);
      const d = (await store.getCall('CA-p'))!;
      expect(d.call.caller).toBe('+1******4567');
      expect(d.call.callee).toBe('sip:a****@example.com');
      expect(d.turns[0].user_text).toBe('My card is [number] and mail me at [email], booking [reference]');
      expect(d.turns[0].answer_text).toBe('Thank you Mrs [name], see you at 10am on the 22nd.');
      await store.close();

      const { store: none } = await openEmpty(kind, { redact: 'transcripts' });
      await none.write([call('CA-q'), turn('CA-q', 1, { user_text: 'my secret', heard_text: 'x' })]);
      const t = (await none.getCall('CA-q'))!.turns[0];
      expect([t.user_text, t.answer_text, t.heard_text, t.turn_ms]).toEqual(['', '', '', 241]);
      await none.close();
    });

    it('purges calls older than the retention cut with their turns and events', async () => {
      const { store } = await openEmpty(kind);
      await store.write([call('CA-old', { started_at: T0 - 86_400_000 }), turn('CA-old', 1, { at: T0 - 86_000_000 }), event('CA-old', T0 - 86_000_000, 'status', 'completed'), event(null, T0 - 86_000_000, 'alert', 'old alert'), call('CA-new'), turn('CA-new', 1)]);
      expect(await store.purge(T0 - 1000)).toEqual({ calls: 1, turns: 1, events: 2 });
      expect(await store.getCall('CA-old')).toBeUndefined();
      expect((await store.listCalls()).calls.map((c) => c.sid)).toEqual(['CA-new']);
      expect((await store.getCall('CA-new'))!.turns).toHaveLength(1);
      await store.close();
    });
  });
}
