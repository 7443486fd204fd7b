// Structured JSON logs (pino). Every component takes a child logger with its own bindings
// (callId, component) so a call's lines can be grepped out of a busy engine.
import pino from 'pino';

export type Logger = pino.Logger;

const options: pino.LoggerOptions = {
  level: process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
  base: { app: 'call-flow-weaver' },
  timestamp: pino.stdTimeFunctions.isoTime,
};

export const log: Logger = pino(options);

/** For command-line tools whose stdout is their report (JSON): logs go to stderr instead. */
export const stderrLog: Logger = pino(options, pino.destination(2));
