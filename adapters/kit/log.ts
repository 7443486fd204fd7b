// The logger adapters and workers are given (they never import the engine's). A subset of
// pino's API, so the engine passes its pino child loggers straight in.

export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const nothing: LogFn = () => {};

/** Drops every line: the default when no logger is passed (tests, benches, plug-in code). */
export const silentLogger: Logger = { child: () => silentLogger, debug: nothing, info: nothing, warn: nothing, error: nothing };
