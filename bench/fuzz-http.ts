// Hostile HTTP for `npm run reliability`: malformed and oversized form bodies to the Twilio
// webhooks, odd query strings, many requests at once, and slow clients (headers or body dripped a
// byte at a time) — while a well-formed webhook request must still be answered.
import { connect } from 'node:net';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';

export interface HttpFuzzResult {
  requests: number;
  /** Client-side statuses by route (path without query) and status. */
  byRoute: Record<string, Record<string, number>>;
  /** 4xx answers from the two counted webhooks, as the client saw them: route → status → n. */
  webhook4xx: Record<string, Record<string, number>>;
  slowClients: { opened: number; closedByEngine: number; closeAfterS: { p50: number | null; max: number | null }; stillOpenAtEnd: number; goodRequestsAnsweredMeanwhile: number; goodRequestsFailed: number; goodRequestFailures: { atS: number; why: string }[]; goodRequestMs: { p50: number | null; max: number | null } };
}

const WEBHOOKS = new Set(['/twilio/voice', '/twilio/status']);

const PATHS = [
  '/twilio/voice',
  '/twilio/status',
  '/twilio/relay/action',
  '/twilio/voice?workflow=%ZZ',
  '/twilio/voice?workflow=' + 'x'.repeat(8000),
  '/twilio/voice?workflow[]=demo&workflow=demo',
  '/twilio/voice?' + 'a=1&'.repeat(2000),
  '/twilio/status?%E0%A4%A',
  '/calls/%00',
  '/health?x[]=1',
];

/** `count` hostile requests, `concurrency` at a time. */
export async function hostileRequests(base: string, count: number, concurrency = 200): Promise<Pick<HttpFuzzResult, 'requests' | 'byRoute' | 'webhook4xx'>> {
  const byRoute: HttpFuzzResult['byRoute'] = {};
  const webhook4xx: HttpFuzzResult['webhook4xx'] = {};
  const body = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
    fc.dictionary(fc.constantFrom('CallSid', 'CallStatus', 'StreamEvent', 'SequenceNumber', 'Timestamp', 'From', 'To', 'x'), fc.string({ maxLength: 40 })).map((d) => new URLSearchParams(d).toString()),
    fc.constant('CallSid=' + '%'.repeat(3000)),
    fc.constant('x='.repeat(600_000)), // over the 64 KiB webhook limit
  );
  const bodies = fc.sample(body, { numRuns: count, seed: 7 });
  for (let i = 0; i < count; i += concurrency) {
    await Promise.all(
      bodies.slice(i, i + concurrency).map(async (b, j) => {
        const path = PATHS[(i + j) % PATHS.length];
        const route = path.split('?')[0];
        const r = await fetch(base + path, { method: 'POST', body: b, headers: { 'content-type': 'application/x-www-form-urlencoded' } }).catch(() => undefined);
        const k = r ? String(r.status) : 'refused';
        await r?.arrayBuffer().catch(() => undefined);
        (byRoute[route] ??= {})[k] = (byRoute[route][k] ?? 0) + 1;
        if (r && r.status >= 400 && r.status < 500 && WEBHOOKS.has(route)) (webhook4xx[route] ??= {})[k] = (webhook4xx[route][k] ?? 0) + 1;
      }),
    );
  }
  return { requests: count, byRoute, webhook4xx };
}

/**
 * `count` slow clients on the webhook for up to `holdMs`: half drip their headers, half send
 * headers promising a body and drip that, one byte every `dripMs`. Meanwhile a good webhook
 * request every second must be answered.
 */
export async function slowClients(base: string, count: number, holdMs: number, dripMs = 500): Promise<HttpFuzzResult['slowClients']> {
  const { hostname, port } = new URL(base);
  const t0 = performance.now();
  const closedAfter: number[] = [];
  let open = 0;
  const head = 'POST /twilio/voice HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\n';
  const sockets = Array.from({ length: count }, (_, k) => {
    const s = connect(Number(port), hostname);
    open++;
    let byte = 0;
    const headersSlow = k % 2 === 0;
    s.once('connect', () => {
      if (!headersSlow) s.write(head);
    });
    const drip = setInterval(() => {
      if (s.destroyed) return;
      s.write(headersSlow ? head[byte++ % head.length] : 'a');
    }, dripMs);
    s.on('error', () => {});
    s.on('data', () => {});
    let ended = false;
    s.once('close', () => {
      clearInterval(drip);
      open--;
      if (!ended) closedAfter.push((performance.now() - t0) / 1000);
    });
    return { s, stop: () => ((ended = true), clearInterval(drip), s.destroy()) };
  });
  const probe = await probeWebhook(base, holdMs);
  const stillOpen = open;
  for (const c of sockets) c.stop();
  const sorted = [...closedAfter].sort((a, b) => a - b);
  return {
    opened: count,
    closedByEngine: closedAfter.length,
    closeAfterS: { p50: sorted.length ? Math.round(sorted[Math.floor(sorted.length / 2)] * 10) / 10 : null, max: sorted.length ? Math.round(sorted[sorted.length - 1] * 10) / 10 : null },
    stillOpenAtEnd: stillOpen,
    goodRequestsAnsweredMeanwhile: probe.answered,
    goodRequestsFailed: probe.failures.length,
    goodRequestFailures: probe.failures,
    goodRequestMs: probe.ms,
  };
}

/**
 * A well-formed webhook request every second for `holdMs`, each with a 5 s timeout, sent from a
 * worker thread: the bench's main thread draws fuzz samples and drives hundreds of sockets, and a
 * probe there timed that work (its first request went unanswered in every full run), not the engine.
 */
function probeWebhook(base: string, holdMs: number): Promise<{ answered: number; failures: { atS: number; why: string }[]; ms: { p50: number | null; max: number | null } }> {
  const code = `
    const { parentPort, workerData: { url, holdMs } } = require('node:worker_threads');
    (async () => {
      const t0 = performance.now(), ms = [], failures = [];
      let answered = 0;
      while (performance.now() - t0 < holdMs) {
        const sentAt = performance.now();
        let why = '';
        const r = await fetch(url, { method: 'POST', body: 'CallSid=CAslowcheck', headers: { 'content-type': 'application/x-www-form-urlencoded' }, signal: AbortSignal.timeout(5000) })
          .catch((e) => ((why = e.name + ': ' + ((e.cause && e.cause.message) || e.message)), undefined));
        if (r) await r.arrayBuffer().catch(() => undefined);
        if (r && r.status === 200) (answered++, ms.push(performance.now() - sentAt));
        else failures.push({ atS: Math.round((sentAt - t0) / 100) / 10, why: r ? 'status ' + r.status : why });
        await new Promise((res) => setTimeout(res, 1000));
      }
      ms.sort((a, b) => a - b);
      const round = (x) => (x === undefined ? null : Math.round(x));
      parentPort.postMessage({ answered, failures, ms: { p50: round(ms[Math.floor(ms.length / 2)]), max: round(ms[ms.length - 1]) } });
    })();`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { url: `${base}/twilio/voice`, holdMs } });
    w.once('message', (m) => (resolve(m), void w.terminate()));
    w.once('error', reject);
  });
}
