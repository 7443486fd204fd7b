// Which provider served one request of a chain, and what it took: the hedges that fired and the
// failovers. The chain fills a Route in as the request runs (hedge.ts, chain.ts); the call reads it
// when the turn is over (engine/call/turn-record.ts). It travels beside the request's result (the
// stream a chain returns, or an STT result) in a WeakMap, so the kit's interfaces stay as they are
// and no adapter sees any of it: information flows one way, from the chain up to the turn.

export type RouteRole = 'stt' | 'llm' | 'tts';

export interface Route {
  readonly role: RouteRole;
  /** The providers whose output reached the caller, in order: one, or more when one finished another's answer. */
  readonly providers: string[];
  /** A hedge: `from` was silent past its hedge delay, so `to` was started too. */
  readonly hedges: Array<{ from: string; to: string }>;
  /** `from` failed (an error, a first-output timeout, or mid-answer: a stall or a cut stream) and `to` took over. */
  readonly failovers: Array<{ from: string; to: string; midStream: boolean }>;
}

const routes = new WeakMap<object, Route>();

export function newRoute(role: RouteRole): Route {
  return { role, providers: [], hedges: [], failovers: [] };
}

/** Keeps `route` beside `result` (returned as is). */
export function withRoute<T extends object>(result: T, route: Route): T {
  routes.set(result, route);
  return result;
}

/** The route of a chain's stream or STT result; undefined for anything a chain did not return. */
export function routeOf(result: unknown): Route | undefined {
  return typeof result === 'object' && result !== null ? routes.get(result) : undefined;
}
