// GET /metrics, /metrics/live and /calls/:sid/metrics on a real engine after a real call over
// loopback (caller simulator → uWebSockets.js → session → DSP pool → local providers), and the
// alert path from the rolling window to /health and the Prometheus gauge.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { simulateCall } from '../../bench/load/twilio-sim.ts';
import { startTestEngine, fixture, type TestEngine } from '../support/engine.ts';
import type { AlertEvent } from '../../engine/metrics/alerts.ts';

let t: TestEngine;
let callSid = '';
beforeAll(async () => {
  t = await startTestEngine({ PERFORMANCE_CACHE_ENABLED: false, PERFORMANCE_TARGET_LATENCY: 250, PERFORMANCE_MAX_LATENCY: 400 });
  const silence = new Uint8Array(8000).fill(0xff);
  const utt = fixture('human-utt2.ulaw');
  const audio = new Uint8Array(silence.length + utt.length);
  audio.set(silence);
  audio.set(utt, silence.length);
  const r = await simulateCall({ baseUrl: t.url, audio, transcripts: ['Is there parking at the clinic?'], speed: 2, tailMs: 4000 });
  callSid = r.callSid;
}, 60_000);
afterAll(async () => {
  await t?.stop();
});

const get = async (path: string) => {
  const r = await fetch(t.url + path);
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
};

/** The value of one sample line of the exposition, e.g. value(text, 'weaver_frames_in_total'). */
const value = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(series + ' ') || l.startsWith(series + '{') && l.split(' ')[0] === series);
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

describe('GET /metrics', () => {
  it('serves the Prometheus exposition with the call counted', async () => {
    const r = await get('/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/text\/plain/);
    expect(value(r.text, 'weaver_frames_in_total')).toBeGreaterThan(100);
    expect(value(r.text, 'weaver_turn_stage_ms_count{stage="turn",mode="media"}')).toBeGreaterThanOrEqual(1);
    expect(value(r.text, 'weaver_turn_stage_ms_count{stage="turn",mode="relay"}')).toBeUndefined(); // no relay call here
    expect(value(r.text, 'weaver_frame_lag_ms_count')).toBeGreaterThan(100);
    expect(value(r.text, 'weaver_dsp_threads')).toBe(1);
    expect(r.text).toMatch(/weaver_calls_total\{mode="media",outcome="[a-z-]+"\} 1/);
    expect(r.text).toMatch(/weaver_provider_breaker_state\{provider="workflow",role="llm"\} 0/);
    for (const name of ['weaver_calls_active', 'weaver_cache_lookups_total', 'weaver_provider_hedges_total', 'weaver_errors_total', 'weaver_performance_alert_active', 'process_resident_memory_bytes']) {
      expect(r.text).toContain(`# TYPE ${name}`);
    }
  });
});

describe('GET /calls/:sid/metrics', () => {
  it("gives one call's per-turn breakdown", async () => {
    const r = await get(`/calls/${callSid}/metrics`);
    expect(r.status).toBe(200);
    const rep = JSON.parse(r.text);
    expect(rep.callSid).toBe(callSid);
    const caller = rep.turns.filter((x: { index: number }) => x.index > 0);
    expect(caller).toHaveLength(1);
    const turn = caller[0];
    expect(turn.source).toBe('llm');
    expect(turn.latency.turnMs).toBeGreaterThan(0);
    expect(turn.at.firstAudioSent).toBeGreaterThanOrEqual(turn.at.speechEnd);
    expect(turn.at.sttFinal).toBeGreaterThanOrEqual(turn.at.speechEnd);
    expect(rep.summary.answered).toBe(1);
    expect(rep.summary.turnMs.median).toBe(turn.latency.turnMs);
  });

  it('answers 404 for an unknown call and 400 for a malformed sid', async () => {
    expect((await get('/calls/CAnope/metrics')).status).toBe(404);
    expect((await get('/calls/%E0%A4%A/metrics')).status).toBe(400);
  });
});

describe('GET /metrics/live', () => {
  it('gives rolling percentiles per stage and frame lag', async () => {
    const live = JSON.parse((await get('/metrics/live?window=300')).text);
    expect(live.stages.turn.count).toBeGreaterThanOrEqual(1);
    expect(live.stages.turn.p50).toBeGreaterThan(0);
    expect(live.frameLag.count).toBeGreaterThan(100);
    expect(live.alerts).toMatchObject({ targetMs: 250, maxMs: 400 });
    expect(live.providers.map((p: { provider: string }) => p.provider)).toContain('workflow');
    expect((await get('/metrics/live?window=0')).status).toBe(400);
  });
});

describe('performance alerts', () => {
  it('slow turns raise an alert: event, gauge, and /health degraded; fast turns clear it', async () => {
    const live = t.engine.live;
    const events: AlertEvent[] = [];
    live.alerts.on('alert', (e: AlertEvent) => events.push(e));
    for (let i = 0; i < 30; i++) t.engine.metrics.stageMs.observe({ stage: 'turn' }, 900);
    live.tick();
    expect(events.map((e) => e.kind).sort()).toEqual(['turn_p95_over_target', 'turn_p99_over_max']);
    const health = JSON.parse((await get('/health')).text);
    expect(health.status).toBe('degraded');
    expect(health.alerts).toHaveLength(2);
    expect(value((await get('/metrics')).text, 'weaver_performance_alert_active{kind="turn_p95_over_target"}')).toBe(1);
    for (let i = 0; i < 6000; i++) t.engine.metrics.stageMs.observe({ stage: 'turn' }, 100); // p99 then falls on these, whatever the real call's turn took
    live.tick();
    expect(events.filter((e) => e.type === 'cleared')).toHaveLength(2);
    expect(JSON.parse((await get('/health')).text).status).toBe('ok');
  });
});
