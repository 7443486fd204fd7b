// The call history's HTTP surface (engine/history/), behind WEAVER_API_TOKEN like the rest of the
// engine's API:
//   GET  /calls                 stored calls, newest first: filters (from, to, workflow, outcome,
//                               language, mode, direction, q) and a cursor; ?format=csv|ndjson exports
//   GET  /history/calls/:sid    one stored call: turns with transcripts and stage timings, events
//   GET  /history/trends        latency percentiles, cache hit rate, answers by source, quality per
//                               workflow/language over time
//   GET  /history/events        engine-wide events (alerts)
//   GET  /history/status        the targets the pages compare against, and the history's health
//   POST /selftest              a simulated call of each mode, each stage's timing against the targets
// and the pages, which ask for the token in the browser: /dashboard/calls (list and trends) and
// /dashboard/calls/:sid (the call inspector). GET /calls/:sid (routes/calls.ts) falls back to the
// store through sendStoredCall when the call is not live or recent on this instance.
import { readFileSync } from 'node:fs';
import type { HttpResponse } from 'uWebSockets.js';
import { z } from 'zod';
import type { RouteGroup } from '../server.ts';
import type { Engine } from '../engine.ts';
import { guard, readBody, requestInfo, send, sendJson, type RequestInfo } from '../http.ts';
import { checkApiAuth } from '../calls/api-auth.ts';
import { HistoryUnavailableError } from '../history/index.ts';
import { callSummary, csvCallRow, csvCallsHeader, csvTurnRow, csvTurnsHeader, storedCallView, storedEvent } from '../history/view.ts';
import { runSelfTest, type SelfTestMode } from '../history/selftest.ts';
import type { CallFilter } from '../history/store.ts';
import type { StoreClient } from '../history/client.ts';

const page = (name: string) => readFileSync(new URL(`../dashboard/${name}`, import.meta.url));
const PAGES: Array<[string, Buffer, string]> = [
  ['/dashboard/calls', page('calls.html'), 'text/html; charset=utf-8'],
  ['/dashboard/calls/:sid', page('call.html'), 'text/html; charset=utf-8'],
  ['/dashboard/history.css', page('history.css'), 'text/css; charset=utf-8'],
  ['/dashboard/history.js', page('history.js'), 'text/javascript; charset=utf-8'],
];

/** Calls in one export at most; past it the export ends and says so (X-Export-Truncated). */
export const EXPORT_MAX_CALLS = 50_000;

/** A time as ISO 8601 or Unix milliseconds. */
const time = z.string().transform((s, ctx) => {
  const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
  if (!Number.isFinite(t)) {
    ctx.addIssue({ code: 'custom', message: 'an ISO 8601 time or Unix milliseconds' });
    return z.NEVER;
  }
  return t;
});
const word = z.string().min(1).max(200);

const ListQuery = z.strictObject({
  from: time.optional(),
  to: time.optional(),
  workflow: word.optional(),
  outcome: word.optional(),
  language: word.optional(),
  mode: z.enum(['media', 'relay']).optional(),
  direction: word.optional(),
  q: word.optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  cursor: z.string().max(400).optional(),
  format: z.enum(['json', 'csv', 'ndjson']).default('json'),
  /** CSV: a line per call (default) or per turn. */
  rows: z.enum(['calls', 'turns']).default('calls'),
});

const TrendQuery = z.strictObject({
  from: time.optional(),
  to: time.optional(),
  bucket: z.enum(['minute', 'hour', 'day']).optional(),
  workflow: word.optional(),
  language: word.optional(),
  by: z.enum(['workflow', 'language', 'both', 'none']).optional(),
});

const EventQuery = z.strictObject({ from: time.optional(), to: time.optional(), kind: word.optional(), limit: z.coerce.number().int().min(1).max(1000).optional() });

const SelfTestBody = z.strictObject({ modes: z.array(z.enum(['media', 'relay'])).min(1).optional() });

const BUCKET_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

type Guard = { aborted: boolean };

function parseQuery<T extends z.ZodTypeAny>(schema: T, query: string): { ok: true; value: z.infer<T> } | { ok: false; error: string } {
  const r = schema.safeParse(Object.fromEntries(new URLSearchParams(query)));
  return r.success ? { ok: true, value: r.data } : { ok: false, error: r.error.issues.map((i) => `${i.path.join('.') || '(query)'}: ${i.message}`).join('; ') };
}

/** Checks the bearer token; answers and returns false when it fails. */
function authorised(engine: Engine, res: HttpResponse, g: Guard, info: RequestInfo): boolean {
  const auth = checkApiAuth(engine.config, info.headers);
  if (!auth.ok) send(res, g, auth.status, 'application/json', JSON.stringify({ error: auth.error }), auth.headers);
  return auth.ok;
}

/** Answers a failed store read: 503 when there is no store, 400 for a bad cursor, else 500. */
function storeFailed(engine: Engine, res: HttpResponse, g: Guard, e: unknown): void {
  if (e instanceof HistoryUnavailableError) return sendJson(res, g, '503 Service Unavailable', { error: e.message });
  const msg = (e as Error).message ?? String(e);
  if (/bad cursor/.test(msg)) return sendJson(res, g, '400 Bad Request', { error: 'cursor: not one this API gave' });
  engine.log.warn({ err: e }, 'call history read failed');
  sendJson(res, g, '500 Internal Server Error', { error: `call history read failed: ${msg}` });
}

/** GET /calls/:sid for a call this instance no longer holds in memory: from the store, or 404. */
export function sendStoredCall(engine: Engine, sid: string, res: HttpResponse, g: Guard): void {
  let reader;
  try {
    reader = engine.history.reader();
  } catch {
    return sendJson(res, g, '404 Not Found', { error: `no call ${sid} on this instance (call history ${engine.history.status})` });
  }
  reader.getCall(sid).then(
    (d) => (d ? sendJson(res, g, '200 OK', storedCallView(d)) : sendJson(res, g, '404 Not Found', { error: `no call ${sid} on this instance or in the call history` })),
    (e) => storeFailed(engine, res, g, e),
  );
}

async function exportCalls(engine: Engine, res: HttpResponse, g: Guard, f: CallFilter, format: 'csv' | 'ndjson', rows: 'calls' | 'turns'): Promise<void> {
  const reader = engine.history.reader();
  const parts: string[] = [format === 'ndjson' ? '' : rows === 'turns' ? csvTurnsHeader() : csvCallsHeader()];
  let cursor = f.cursor;
  let n = 0;
  let truncated = false;
  do {
    const page = await reader.listCalls({ ...f, cursor, limit: 500 });
    const turns = format === 'ndjson' || rows === 'turns' ? await reader.turnsOf(page.calls.map((c) => c.sid)) : [];
    if (format === 'csv' && rows === 'turns') parts.push(...turns.map(csvTurnRow));
    else if (format === 'csv') parts.push(...page.calls.map(csvCallRow));
    else {
      const bySid = new Map<string, typeof turns>();
      for (const t of turns) bySid.set(t.call_sid, [...(bySid.get(t.call_sid) ?? []), t]);
      for (const c of page.calls) parts.push(JSON.stringify({ ...storedCallView({ call: c, turns: bySid.get(c.sid) ?? [], events: [] }), events: undefined }) + '\n');
    }
    n += page.calls.length;
    cursor = page.nextCursor;
    if (cursor && n >= EXPORT_MAX_CALLS) truncated = true;
  } while (cursor && !truncated && !g.aborted);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  send(res, g, '200 OK', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson', parts.join(''), {
    'Content-Disposition': `attachment; filename="calls-${rows === 'turns' && format === 'csv' ? 'turns-' : ''}${stamp}.${format}"`,
    'X-Export-Calls': String(n),
    ...(truncated ? { 'X-Export-Truncated': `stopped at ${EXPORT_MAX_CALLS} calls; continue with cursor=${cursor}` } : {}),
  });
}

/** Where the engine listens, for the self-test's loopback calls. */
function loopbackUrl(engine: Engine, info: RequestInfo): string {
  const { HOST, PORT } = engine.config;
  const port = PORT || Number(/:(\d+)$/.exec(info.headers.host ?? '')?.[1]);
  const host = HOST === '0.0.0.0' || HOST === '::' || HOST === '' ? '127.0.0.1' : HOST.includes(':') ? `[${HOST}]` : HOST;
  return `http://${host}:${port}`;
}

export const historyRoutes: RouteGroup = (app, engine) => {
  let selfTestRunning = false;

  /** An authorised GET whose query `schema` validates; `answer` reads the store and returns the JSON. */
  const read = <S extends z.ZodTypeAny>(path: string, schema: S, answer: (reader: StoreClient, q: z.infer<S>, ctx: { res: HttpResponse; g: Guard; param?: string }) => Promise<unknown> | undefined) =>
    app.get(path, (res, req) => {
      const info = requestInfo(req);
      const param = path.includes(':') ? (req.getParameter(0) ?? '') : undefined;
      const g = guard(res);
      if (!authorised(engine, res, g, info)) return;
      const q = parseQuery(schema, info.query);
      if (!q.ok) return sendJson(res, g, '400 Bad Request', { error: q.error });
      let reader: StoreClient;
      try {
        reader = engine.history.reader();
      } catch (e) {
        return storeFailed(engine, res, g, e);
      }
      answer(reader, q.value, { res, g, param })?.then(
        (body) => sendJson(res, g, '200 OK', body),
        (e) => storeFailed(engine, res, g, e),
      );
    });

  read('/calls', ListQuery, (reader, { format, rows, ...f }, { res, g }) => {
    if (format !== 'json') return void exportCalls(engine, res, g, f, format, rows).catch((e) => storeFailed(engine, res, g, e));
    return reader.listCalls(f).then((page) => ({ calls: page.calls.map(callSummary), nextCursor: page.nextCursor }));
  });

  read('/history/calls/:sid', z.strictObject({}), (_reader, _q, { res, g, param }) => {
    let sid: string;
    try {
      sid = decodeURIComponent(param ?? '');
    } catch {
      return void sendJson(res, g, '400 Bad Request', { error: 'malformed call sid' });
    }
    sendStoredCall(engine, sid, res, g);
  });

  read('/history/trends', TrendQuery, (reader, { bucket, ...f }) =>
    reader.trends({ ...f, bucketMs: bucket ? BUCKET_MS[bucket] : undefined }).then((t) => ({ ...t, targetMs: engine.config.PERFORMANCE_TARGET_LATENCY, qualityThresholdPct: engine.config.QUALITY_ALERT_THRESHOLD, history: engine.history.health() })),
  );

  read('/history/events', EventQuery, (reader, q) => reader.events(q).then((rows) => ({ events: rows.map((e) => ({ callSid: e.call_sid ?? undefined, ...storedEvent(e) })) })));

  app.post('/selftest', (res, req) => {
    const info = requestInfo(req);
    const g = guard(res);
    if (!authorised(engine, res, g, info)) return;
    readBody(res, 4096).then(
      async (body) => {
        let modes: SelfTestMode[] | undefined;
        if (body.length > 0) {
          let raw: unknown;
          try {
            raw = JSON.parse(body.toString('utf8'));
          } catch {
            return sendJson(res, g, '400 Bad Request', { error: 'body must be JSON: {"modes": ["media", "relay"]} (or empty)' });
          }
          const p = SelfTestBody.safeParse(raw);
          if (!p.success) return sendJson(res, g, '400 Bad Request', { error: p.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ') });
          modes = p.data.modes;
        }
        if (engine.draining) return sendJson(res, g, '503 Service Unavailable', { error: 'the engine is shutting down' });
        if (selfTestRunning) return sendJson(res, g, '409 Conflict', { error: 'a self-test is already running' });
        selfTestRunning = true;
        try {
          const report = await runSelfTest(engine, loopbackUrl(engine, info), modes);
          engine.log.info({ pass: report.pass, legs: report.legs.map((l) => ({ mode: l.mode, ok: l.ok, turnMs: l.turns.map((t) => t.turnMs), error: l.error })) }, 'self-test');
          sendJson(res, g, '200 OK', report);
        } catch (e) {
          sendJson(res, g, '500 Internal Server Error', { error: `self-test failed: ${(e as Error).message}` });
        } finally {
          selfTestRunning = false;
        }
      },
      (e) => send(res, g, '413 Payload Too Large', 'text/plain', String(e.message)),
    );
  });

  app.get('/history/status', (res, req) => {
    const info = requestInfo(req);
    const g = guard(res);
    if (!authorised(engine, res, g, info)) return;
    sendJson(res, g, '200 OK', { targetMs: engine.config.PERFORMANCE_TARGET_LATENCY, qualityThresholdPct: engine.config.QUALITY_ALERT_THRESHOLD, history: engine.history.health() });
  });

  for (const [path, body, type] of PAGES) app.get(path, (res) => send(res, guard(res), '200 OK', type, body, { 'Cache-Control': 'no-store' }));
};
