// Schema migrations of the call history (schema.ts), run by Kysely's Migrator at open, the same
// on SQLite and PostgreSQL: only types both read alike (text, bigint, integer, double precision).
// Append a migration to change the schema; never edit one that has shipped. Every statement is
// IF NOT EXISTS so two engines migrating one SQLite file at once (Kysely's SQLite adapter takes no
// lock) converge instead of failing.
import { Migrator, PostgresAdapter, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/**
 * ALTER TABLE … ADD COLUMN, if the column is not there yet. PostgreSQL says IF NOT EXISTS itself;
 * SQLite has no such clause, so its columns are read first and a column another engine added in
 * the meantime (no migration lock on SQLite) is not an error.
 */
async function addColumns(db: Kysely<any>, table: string, columns: Array<[name: string, type: 'text' | 'integer']>): Promise<void> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    for (const [name, type] of columns) await sql`alter table ${sql.table(table)} add column if not exists ${sql.ref(name)} ${sql.raw(type)}`.execute(db);
    return;
  }
  const have = new Set((await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(db)).rows.map((r) => r.name));
  for (const [name, type] of columns) {
    if (have.has(name)) continue;
    try {
      await db.schema.alterTable(table).addColumn(name, type).execute();
    } catch (e) {
      if (!/duplicate column/i.test((e as Error).message)) throw e;
    }
  }
}

export const MIGRATIONS: Record<string, Migration> = {
  '2025-01-001-calls-turns-events': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('calls')
        .ifNotExists()
        .addColumn('sid', 'text', (c) => c.primaryKey())
        .addColumn('mode', 'text')
        .addColumn('workflow', 'text')
        .addColumn('direction', 'text')
        .addColumn('caller', 'text')
        .addColumn('callee', 'text')
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .addColumn('duration_ms', 'bigint')
        .addColumn('outcome', 'text')
        .addColumn('status', 'text')
        .addColumn('language', 'text')
        .addColumn('languages', 'text')
        .addColumn('instance', 'text')
        .addColumn('turns', 'integer')
        .addColumn('quality', 'double precision')
        .addColumn('turn_p50_ms', 'double precision')
        .addColumn('turn_p95_ms', 'double precision')
        .addColumn('barge_ins', 'integer')
        .addColumn('protocol_errors', 'integer')
        .execute();
      await db.schema.createIndex('calls_started_at').ifNotExists().on('calls').columns(['started_at', 'sid']).execute();
      await db.schema.createIndex('calls_workflow_started_at').ifNotExists().on('calls').columns(['workflow', 'started_at']).execute();

      await db.schema
        .createTable('turns')
        .ifNotExists()
        .addColumn('call_sid', 'text', (c) => c.notNull())
        .addColumn('leg', 'text', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('offset_ms', 'double precision')
        .addColumn('user_text', 'text')
        .addColumn('answer_text', 'text')
        .addColumn('heard_text', 'text')
        .addColumn('source', 'text')
        .addColumn('provider', 'text')
        .addColumn('hedges', 'integer')
        .addColumn('speculation', 'text')
        .addColumn('language', 'text')
        .addColumn('stt_language', 'text')
        .addColumn('language_switch', 'text')
        .addColumn('interrupted', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('hangover_ms', 'double precision')
        .addColumn('stt_ms', 'double precision')
        .addColumn('response_ms', 'double precision')
        .addColumn('tts_ms', 'double precision')
        .addColumn('send_ms', 'double precision')
        .addColumn('turn_ms', 'double precision')
        .addColumn('overhead_ms', 'double precision')
        .addColumn('audio_bytes', 'integer')
        .addColumn('ok', 'integer')
        .addPrimaryKeyConstraint('turns_pk', ['call_sid', 'leg', 'idx'])
        .execute();
      await db.schema.createIndex('turns_at').ifNotExists().on('turns').column('at').execute();

      await db.schema
        .createTable('events')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('call_sid', 'text')
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('detail', 'text')
        .execute();
      await db.schema.createIndex('events_call_sid').ifNotExists().on('events').columns(['call_sid', 'at']).execute();
      await db.schema.createIndex('events_at').ifNotExists().on('events').column('at').execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['events', 'turns', 'calls']) await db.schema.dropTable(t).ifExists().execute();
    },
  },
  // Per turn, which provider served each role and what it took (engine/providers/route.ts): the LLM's
  // winner goes in the first migration's `provider`, its hedge count (all roles) in `hedges`.
  '2025-02-001-turn-routes': {
    async up(db: Kysely<any>) {
      await addColumns(db, 'turns', [
        ['stt_provider', 'text'],
        ['tts_provider', 'text'],
        ['hedged_to', 'text'],
        ['failovers', 'integer'],
        ['failed_over_to', 'text'],
      ]);
    },
    async down(db: Kysely<any>) {
      for (const c of ['stt_provider', 'tts_provider', 'hedged_to', 'failovers', 'failed_over_to']) await db.schema.alterTable('turns').dropColumn(c).execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/** Brings the schema to the latest migration; returns the names applied now. Retries a race with another engine. */
export async function migrateToLatest(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<string[]> {
  // PostgreSQL: Kysely looks for its tables in every schema unless told one, so a store in a
  // schema of its own (search_path) would take another schema's tables for its own.
  const schema = dialect === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s : undefined;
  const migrator = new Migrator({ db, provider, migrationTableName: 'history_migration', migrationLockTableName: 'history_migration_lock', migrationTableSchema: schema });
  let last: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    last = error;
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
  }
  throw last instanceof Error ? last : new Error(String(last));
}

/** The latest applied migration, for /health and tests. */
export async function schemaVersion(db: Kysely<any>): Promise<string | undefined> {
  const r = await sql<{ name: string }>`select name from history_migration order by name desc limit 1`.execute(db);
  return r.rows[0]?.name;
}
