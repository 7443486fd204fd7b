// PostgreSQL for the history suites: this project's machines (and CI) run it at 127.0.0.1:5432
// with trust auth and a database `test`. Each run gets its own schema, dropped afterwards, so
// runs and other users of that database never see each other's rows. Where it cannot be reached
// the suites that need it skip, saying so.
import pg from 'pg';

export const PG_BASE_URL = process.env.HISTORY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Why PostgreSQL cannot be used here, or null when it can. */
export async function postgresMissing(): Promise<string | null> {
  const c = new pg.Client({ connectionString: PG_BASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('select 1');
    return null;
  } catch (e) {
    return `PostgreSQL not reachable at ${PG_BASE_URL} (${(e as Error).message}): set HISTORY_TEST_DATABASE_URL or start it`;
  } finally {
    await c.end().catch(() => {});
  }
}

/** A fresh schema; the URL puts it first on the search path. drop() removes it and all in it. */
export async function pgSchema(prefix = 'weaver_history_test'): Promise<{ url: string; schema: string; drop(): Promise<void> }> {
  const schema = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: PG_BASE_URL });
  await admin.connect();
  await admin.query(`create schema "${schema}"`);
  await admin.end();
  const url = new URL(PG_BASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    schema,
    async drop() {
      const c = new pg.Client({ connectionString: PG_BASE_URL });
      await c.connect();
      await c.query(`drop schema if exists "${schema}" cascade`);
      await c.end();
    },
  };
}
