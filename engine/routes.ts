// The route groups beyond the core Media Streams surface, in one list so main.ts and the
// end-to-end tests serve the same engine.
import type { RouteGroup } from './server.ts';

export const routeGroups: RouteGroup[] = [];
