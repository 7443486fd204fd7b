// GET /metrics (Prometheus exposition), GET /metrics/live (the same numbers as rolling
// percentiles, JSON: the dashboard and the load generator read it) and
// GET /calls/:sid/metrics (one call's per-turn breakdown).
import type { RouteGroup } from '../server.ts';
import { guard, send, sendJson } from '../http.ts';
import { callReport } from '../metrics/call-report.ts';

export const metricsRoutes: RouteGroup = (app, engine) => {
  const { live } = engine;

  app.get('/metrics', (res) => {
    const g = guard(res);
    (engine.cluster?.metrics() ?? engine.metrics.registry.metrics()).then( // every process's, under a supervisor
      (text) => send(res, g, '200 OK', engine.metrics.registry.contentType, text),
      (e: Error) => {
        engine.log.error({ err: e }, 'metrics exposition failed');
        send(res, g, '500 Internal Server Error', 'text/plain', `metrics failed: ${e.message}`);
      },
    );
  });

  app.get('/metrics/live', (res, req) => {
    const g = guard(res);
    const raw = new URLSearchParams(req.getQuery() ?? '').get('window');
    const windowS = raw === null ? undefined : Number(raw);
    if (windowS !== undefined && !(Number.isInteger(windowS) && windowS >= 1 && windowS <= 300)) {
      return sendJson(res, g, '400 Bad Request', { error: 'window must be an integer number of seconds, 1..300' });
    }
    sendJson(res, g, '200 OK', live.snapshot(windowS));
  });

  app.get('/calls/:sid/metrics', (res, req) => {
    const g = guard(res);
    let sid: string;
    try {
      sid = decodeURIComponent(req.getParameter(0) ?? '');
    } catch {
      return sendJson(res, g, '400 Bad Request', { error: 'malformed call sid' });
    }
    const s = engine.recent.get(sid);
    if (!s) return sendJson(res, g, '404 Not Found', { error: `no recent call ${sid}` });
    sendJson(res, g, '200 OK', callReport(s));
  });
};
