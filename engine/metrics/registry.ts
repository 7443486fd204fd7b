// Prometheus metrics (prom-client). One registry per engine so tests can run several
// engines in one process without their counters mixing.
import client from 'prom-client';

export const STAGES = ['stt', 'response', 'tts', 'turn', 'overhead'] as const;

export function createMetrics() {
  const registry = new client.Registry();
  const m = {
    registry,
    callsActive: new client.Gauge({ name: 'weaver_calls_active', help: 'Calls in progress', labelNames: ['mode'], registers: [registry] }),
    callsTotal: new client.Counter({ name: 'weaver_calls_total', help: 'Calls ended, by outcome', labelNames: ['mode', 'outcome'], registers: [registry] }),
    protocolErrors: new client.Counter({ name: 'weaver_protocol_errors_total', help: 'Rejected inbound socket messages, by kind', labelNames: ['transport', 'kind'], registers: [registry] }),
    errors: new client.Counter({ name: 'weaver_errors_total', help: 'Errors by kind', labelNames: ['kind'], registers: [registry] }),
    framesIn: new client.Counter({ name: 'weaver_frames_in_total', help: 'Inbound media frames', registers: [registry] }),
    framesOut: new client.Counter({ name: 'weaver_frames_out_total', help: 'Outbound media messages', registers: [registry] }),
    turns: new client.Counter({ name: 'weaver_turns_total', help: 'Answered turns by response source', labelNames: ['source'], registers: [registry] }),
    bargeIns: new client.Counter({ name: 'weaver_barge_ins_total', help: 'Caller interruptions that stopped the agent', registers: [registry] }),
    stageMs: new client.Histogram({
      name: 'weaver_turn_stage_ms',
      help: 'Per-turn latency by stage (DESIGN.md §4), milliseconds',
      labelNames: ['stage'],
      buckets: [5, 10, 25, 50, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2500, 5000],
      registers: [registry],
    }),
    frameLagMs: new client.Histogram({
      name: 'weaver_frame_lag_ms',
      help: 'Inbound frame arrival to end of DSP, milliseconds',
      buckets: [0.5, 1, 2, 5, 10, 20, 50, 100],
      registers: [registry],
    }),
  };
  client.collectDefaultMetrics({ register: registry });
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
