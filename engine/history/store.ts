// The call history store: one Kysely schema (schema.ts, migrations.ts) over SQLite (better-sqlite3,
// embedded, the default) or PostgreSQL (pg, when DATABASE_URL is set). Writes come in batches from
// the write queue; reads serve GET /calls, /calls/:sid, the exports and the trends. better-sqlite3
// is synchronous, so the engine runs this class in a worker thread (worker.ts), never on the
// thread that carries the calls' audio; tests also drive it directly against both databases.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect, sql, type Expression, type SqlBool } from 'kysely';
import { migrateToLatest, schemaVersion } from './migrations.ts';
import { maskNumber, redactText, type RedactMode } from './redact.ts';
import type { CallRow, CallUpsert, EventRow, HistoryDatabase, HistoryOp, TurnRow } from './schema.ts';
import { percentile } from '../calls/call-view.ts';

export interface StoreOptions {
  /** SQLite file (default store); ':memory:' for a throwaway one. */
  path?: string;
  /** postgres://…: PostgreSQL instead of SQLite. */
  databaseUrl?: string;
  redact?: RedactMode;
  maskNumbers?: boolean;
}

export interface CallFilter {
  /** started_at ≥ from (Unix ms). */
  from?: number;
  /** started_at < to. */
  to?: number;
  workflow?: string;
  outcome?: string;
  mode?: string;
  direction?: string;
  /** Any language the call used. */
  language?: string;
  /** Words in the caller's or the agent's text (case-insensitive; ASCII only on SQLite), or a CallSid. */
  q?: string;
  /** Page size (1–1000, default 50). */
  limit?: number;
  /** From a previous page's nextCursor. */
  cursor?: string;
}

export interface CallPage {
  calls: CallRow[];
  /** Pass as `cursor` for the next (older) page; absent on the last page. */
  nextCursor?: string;
}

export interface CallDetail {
  call: CallRow;
  turns: TurnRow[];
  events: EventRow[];
}

export interface TrendFilter {
  from?: number;
  to?: number;
  /** Bucket width, ms (default: an hour for ranges up to 2 days, else a day). */
  bucketMs?: number;
  workflow?: string;
  language?: string;
  /** Series per workflow, per language, per both, or one series (default workflow). */
  by?: 'workflow' | 'language' | 'both' | 'none';
}

export interface TrendPoint {
  /** Bucket start, Unix ms. */
  t: number;
  calls: number;
  turns: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Cache hits among answered caller turns. */
  cacheHitRate: number | null;
  bySource: Record<string, number>;
  /** quality.ts over the bucket's caller turns, 0–100. */
  quality: number | null;
}

export interface Trends {
  from: number;
  to: number;
  bucketMs: number;
  by: NonNullable<TrendFilter['by']>;
  series: Array<{ workflow?: string | null; language?: string | null; points: TrendPoint[] }>;
  /** True when the range held more turns than one answer reads (the newest are used). */
  truncated: boolean;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TREND_ROW_LIMIT = 200_000;
/** Rows per INSERT: well under SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 200;

const CALL_COLUMNS: Array<keyof CallRow> = ['sid', 'mode', 'workflow', 'direction', 'caller', 'callee', 'started_at', 'ended_at', 'duration_ms', 'outcome', 'status', 'language', 'languages', 'instance', 'turns', 'quality', 'turn_p50_ms', 'turn_p95_ms', 'barge_ins', 'protocol_errors'];

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => '\\' + c);

export function encodeCursor(c: Pick<CallRow, 'started_at' | 'sid'>): string {
  return Buffer.from(`${c.started_at}:${c.sid}`).toString('base64url');
}

export function decodeCursor(s: string): { t: number; sid: string } | undefined {
  const raw = Buffer.from(s, 'base64url').toString('utf8');
  const i = raw.indexOf(':');
  const t = Number(raw.slice(0, i));
  return i > 0 && Number.isSafeInteger(t) ? { t, sid: raw.slice(i + 1) } : undefined;
}

/** Several upserts of one call in a batch → one: later fields win, the earliest start wins. */
function mergeCalls(ops: CallUpsert[]): CallUpsert[] {
  const bySid = new Map<string, CallUpsert>();
  for (const c of ops) {
    const prev = bySid.get(c.sid);
    if (!prev) {
      bySid.set(c.sid, { ...c });
      continue;
    }
    for (const [k, v] of Object.entries(c)) if (v !== undefined && v !== null) (prev as Record<string, unknown>)[k] = v;
    prev.started_at = Math.min(prev.started_at, c.started_at);
  }
  return [...bySid.values()];
}

export class HistoryStore {
  private constructor(
    readonly db: Kysely<HistoryDatabase>,
    readonly dialect: 'sqlite' | 'postgres',
    private readonly o: StoreOptions,
    readonly migrated: string[],
  ) {}

  /** Opens (creating if needed) and migrates the store; throws with the reason when it cannot. */
  static async open(o: StoreOptions): Promise<HistoryStore> {
    let db: Kysely<HistoryDatabase>;
    let dialect: 'sqlite' | 'postgres';
    if (o.databaseUrl) {
      const pg = (await import('pg')).default;
      const pool = new pg.Pool({
        connectionString: o.databaseUrl,
        max: 4,
        connectionTimeoutMillis: 5000,
        // A query on a connection that died without a close (a cut network) fails instead of waiting forever.
        query_timeout: 5000,
        // bigint columns (Unix ms, counts) as numbers: they stay far below 2^53.
        types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'))) as typeof pg.types.getTypeParser },
      });
      pool.on('error', () => {}); // an idle client's connection dropped: the next query reconnects or fails
      // A checked-out client (between a transaction's queries) has no pool listener: its 'error' on a
      // cut connection would be uncaught and end the store thread. Its queries fail and are counted instead.
      pool.on('connect', (client) => client.on('error', () => {}));
      db = new Kysely<HistoryDatabase>({ dialect: new PostgresDialect({ pool }) });
      dialect = 'postgres';
    } else {
      const path = o.path ?? 'data/history.sqlite';
      const Sqlite = (await import('better-sqlite3')).default;
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      const file = new Sqlite(path, { timeout: 5000 });
      try {
        file.pragma('journal_mode = WAL');
        file.pragma('synchronous = NORMAL');
      } catch (e) {
        file.close();
        throw e;
      }
      db = new Kysely<HistoryDatabase>({ dialect: new SqliteDialect({ database: file }) });
      dialect = 'sqlite';
    }
    try {
      const migrated = await migrateToLatest(db, dialect);
      return new HistoryStore(db, dialect, o, migrated);
    } catch (e) {
      await db.destroy().catch(() => {});
      throw e;
    }
  }

  schemaVersion(): Promise<string | undefined> {
    return schemaVersion(this.db);
  }

  /** Writes one batch in one transaction; redaction and masking happen here. Returns the records written. */
  async write(ops: HistoryOp[]): Promise<number> {
    const redact = this.o.redact ?? 'off';
    const mask = (v: string | null | undefined) => (this.o.maskNumbers ? maskNumber(v) : v);
    const calls = mergeCalls(ops.filter((o) => o.op === 'call').map((o) => o.row as CallUpsert)).map((c) => {
      const row = Object.fromEntries(CALL_COLUMNS.map((k) => [k, c[k] ?? null])) as unknown as CallRow;
      row.caller = mask(row.caller) ?? null;
      row.callee = mask(row.callee) ?? null;
      return row;
    });
    // A turn written again (its answer cut by a barge-in after it was recorded) replaces the first write; one row per key per statement.
    const byKey = new Map<string, TurnRow>();
    for (const o of ops) if (o.op === 'turn') byKey.set(`${o.row.call_sid}\u0000${o.row.leg}\u0000${o.row.idx}`, o.row);
    const turns = [...byKey.values()].map((t) => ({ ...t, user_text: redactText(t.user_text, redact), answer_text: redactText(t.answer_text, redact), heard_text: redactText(t.heard_text, redact) }));
    const events = ops.filter((o) => o.op === 'event').map((o) => o.row as EventRow);
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < calls.length; i += CHUNK) {
        await tx
          .insertInto('calls')
          .values(calls.slice(i, i + CHUNK))
          .onConflict((oc) =>
            oc.column('sid').doUpdateSet((eb) => {
              const set: Record<string, Expression<unknown>> = {};
              for (const k of CALL_COLUMNS) {
                if (k === 'sid') continue;
                if (k === 'started_at') set[k] = sql`case when excluded.started_at < calls.started_at then excluded.started_at else calls.started_at end`;
                else set[k] = eb.fn.coalesce(eb.ref(`excluded.${k}`), eb.ref(`calls.${k}`));
              }
              return set;
            }),
          )
          .execute();
      }
      for (let i = 0; i < turns.length; i += CHUNK) {
        await tx
          .insertInto('turns')
          .values(turns.slice(i, i + CHUNK))
          .onConflict((oc) =>
            oc.columns(['call_sid', 'leg', 'idx']).doUpdateSet((eb) => ({
              interrupted: eb.ref('excluded.interrupted'),
              heard_text: eb.ref('excluded.heard_text'),
              ok: eb.ref('excluded.ok'),
            })),
          )
          .execute();
      }
      for (let i = 0; i < events.length; i += CHUNK) {
        await tx
          .insertInto('events')
          .values(events.slice(i, i + CHUNK))
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
      }
    });
    return calls.length + turns.length + events.length;
  }

  async listCalls(f: CallFilter = {}): Promise<CallPage> {
    const limit = Math.min(1000, Math.max(1, Math.floor(f.limit ?? 50)));
    let q = this.db.selectFrom('calls').selectAll();
    if (f.from !== undefined) q = q.where('started_at', '>=', f.from);
    if (f.to !== undefined) q = q.where('started_at', '<', f.to);
    if (f.workflow) q = q.where('workflow', '=', f.workflow);
    if (f.outcome) q = q.where('outcome', '=', f.outcome);
    if (f.mode) q = q.where('mode', '=', f.mode);
    if (f.direction) q = q.where('direction', '=', f.direction);
    if (f.language) q = q.where(sql<SqlBool>`languages like ${`%,${escapeLike(f.language)},%`} escape '\\'`);
    if (f.q) {
      const p = `%${escapeLike(f.q.toLowerCase())}%`;
      q = q.where((eb) =>
        eb.or([
          eb('sid', '=', f.q!),
          sql<SqlBool>`exists (select 1 from turns t where t.call_sid = calls.sid and (lower(t.user_text) like ${p} escape '\\' or lower(t.answer_text) like ${p} escape '\\' or lower(t.heard_text) like ${p} escape '\\'))`,
        ]),
      );
    }
    if (f.cursor) {
      const c = decodeCursor(f.cursor);
      if (!c) throw new RangeError('bad cursor');
      q = q.where((eb) => eb.or([eb('started_at', '<', c.t), eb.and([eb('started_at', '=', c.t), eb('sid', '<', c.sid)])]));
    }
    const rows = await q.orderBy('started_at', 'desc').orderBy('sid', 'desc').limit(limit + 1).execute();
    const calls = rows.slice(0, limit);
    return { calls, nextCursor: rows.length > limit ? encodeCursor(calls[calls.length - 1]) : undefined };
  }

  async getCall(sid: string): Promise<CallDetail | undefined> {
    const call = await this.db.selectFrom('calls').selectAll().where('sid', '=', sid).executeTakeFirst();
    if (!call) return undefined;
    const [turns, events] = await Promise.all([
      this.db.selectFrom('turns').selectAll().where('call_sid', '=', sid).orderBy('at').orderBy('leg').orderBy('idx').execute(),
      this.db.selectFrom('events').selectAll().where('call_sid', '=', sid).orderBy('at').orderBy('id').execute(),
    ]);
    return { call, turns, events };
  }

  /** Turns of the calls on one page, for exports. */
  async turnsOf(sids: string[]): Promise<TurnRow[]> {
    if (sids.length === 0) return [];
    return this.db.selectFrom('turns').selectAll().where('call_sid', 'in', sids).orderBy('call_sid').orderBy('at').orderBy('idx').execute();
  }

  /** Engine-wide events (alerts) and any others in a time range, newest first. */
  async events(f: { from?: number; to?: number; kind?: string; limit?: number } = {}): Promise<EventRow[]> {
    let q = this.db.selectFrom('events').selectAll();
    if (f.from !== undefined) q = q.where('at', '>=', f.from);
    if (f.to !== undefined) q = q.where('at', '<', f.to);
    if (f.kind) q = q.where('kind', '=', f.kind);
    return q.orderBy('at', 'desc').limit(Math.min(1000, f.limit ?? 100)).execute();
  }

  /** Latency percentiles, cache hit rate, answers by source and quality per bucket and workflow/language. Self-test calls are left out. */
  async trends(f: TrendFilter = {}): Promise<Trends> {
    const to = f.to ?? Date.now();
    const from = f.from ?? to - 7 * DAY;
    const bucketMs = f.bucketMs ?? (to - from <= 2 * DAY ? HOUR : DAY);
    const by = f.by ?? 'workflow';
    let q = this.db
      .selectFrom('turns as t')
      .innerJoin('calls as c', 'c.sid', 't.call_sid')
      .select(['t.at', 't.call_sid', 't.language', 't.source', 't.turn_ms', 't.ok', 'c.workflow'])
      .where('t.at', '>=', from)
      .where('t.at', '<', to)
      .where('t.idx', '>', 0)
      .where((eb) => eb.or([eb('c.direction', 'is', null), eb('c.direction', '!=', 'selftest')]));
    if (f.workflow) q = q.where('c.workflow', '=', f.workflow);
    if (f.language) q = q.where('t.language', '=', f.language);
    const rows = await q.orderBy('t.at', 'desc').limit(TREND_ROW_LIMIT + 1).execute();
    const truncated = rows.length > TREND_ROW_LIMIT;
    const groups = new Map<string, { workflow?: string | null; language?: string | null; buckets: Map<number, typeof rows> }>();
    for (const r of rows.slice(0, TREND_ROW_LIMIT)) {
      const key = by === 'workflow' ? String(r.workflow) : by === 'language' ? String(r.language) : by === 'both' ? `${r.workflow}\u0000${r.language}` : '';
      let g = groups.get(key);
      if (!g) {
        g = { buckets: new Map() };
        if (by === 'workflow' || by === 'both') g.workflow = r.workflow;
        if (by === 'language' || by === 'both') g.language = r.language;
        groups.set(key, g);
      }
      const b = from + Math.floor((Number(r.at) - from) / bucketMs) * bucketMs;
      let list = g.buckets.get(b);
      if (!list) g.buckets.set(b, (list = []));
      list.push(r);
    }
    const series = [...groups.values()].map(({ buckets, ...key }) => ({
      ...key,
      points: [...buckets.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([t, list]): TrendPoint => {
          const ms = list.map((r) => r.turn_ms).filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
          const bySource: Record<string, number> = {};
          for (const r of list) if (r.source) bySource[r.source] = (bySource[r.source] ?? 0) + 1;
          const answered = list.filter((r) => r.source).length;
          const hits = (bySource['cache-exact'] ?? 0) + (bySource['cache-semantic'] ?? 0);
          const rated = list.filter((r) => r.ok !== null);
          const pct = (p: number) => (ms.length ? percentile(ms, p) : null);
          return {
            t,
            calls: new Set(list.map((r) => r.call_sid)).size,
            turns: list.length,
            p50: pct(50),
            p95: pct(95),
            p99: pct(99),
            cacheHitRate: answered ? hits / answered : null,
            bySource,
            quality: rated.length ? Math.round((1000 * rated.filter((r) => r.ok === 1).length) / rated.length) / 10 : null,
          };
        }),
    }));
    return { from, to, bucketMs, by, series, truncated };
  }

  /** Deletes calls that started before `before` (Unix ms) with their turns and events, and older engine-wide events. */
  async purge(before: number): Promise<{ calls: number; turns: number; events: number }> {
    return this.db.transaction().execute(async (tx) => {
      const old = tx.selectFrom('calls').select('sid').where('started_at', '<', before);
      const turns = await tx
        .deleteFrom('turns')
        .where((eb) => eb.or([eb('call_sid', 'in', old), eb('at', '<', before)]))
        .executeTakeFirst();
      const events = await tx
        .deleteFrom('events')
        .where((eb) => eb.or([eb('call_sid', 'in', old), eb('at', '<', before)]))
        .executeTakeFirst();
      const calls = await tx.deleteFrom('calls').where('started_at', '<', before).executeTakeFirst();
      return { calls: Number(calls.numDeletedRows), turns: Number(turns.numDeletedRows), events: Number(events.numDeletedRows) };
    });
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
