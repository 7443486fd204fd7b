// The route groups beyond the core Media Streams surface, in one list so main.ts and the
// end-to-end tests serve the same engine.
import type { RouteGroup } from './server.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { relayRoutes } from './routes/relay.ts';
import { callRoutes } from './routes/calls.ts';
import { historyRoutes } from './routes/history.ts';

export const routeGroups: RouteGroup[] = [metricsRoutes, dashboardRoutes, relayRoutes, callRoutes, historyRoutes];
