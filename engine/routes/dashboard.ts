// GET /dashboard: a self-contained page (no CDN: the engine may run with no internet) that
// polls GET /metrics/live once a second and draws the live numbers.
import { readFileSync } from 'node:fs';
import type { RouteGroup } from '../server.ts';
import { guard, send } from '../http.ts';

const PAGE = readFileSync(new URL('../dashboard/page.html', import.meta.url));

export const dashboardRoutes: RouteGroup = (app) => {
  app.get('/dashboard', (res) => {
    send(res, guard(res), '200 OK', 'text/html; charset=utf-8', PAGE, { 'Cache-Control': 'no-store' });
  });
};
