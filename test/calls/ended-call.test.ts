// An ended call stays in the registry as a summary (engine/calls/ended-call.ts), not as the call
// object with its pipeline and buffers; the summary still answers GET /calls/:sid (turns, latency,
// history) and /calls/:sid/metrics for calls of both kinds.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { startTestEngine, waitFor, type TestEngine } from '../support/engine.ts';
import { simulateRelayCall } from '../../bench/load/relay-sim.ts';
import { simulateCall } from '../../bench/load/twilio-sim.ts';
import { MediaCall } from '../../engine/call/media-call.ts';
import { RelayCall } from '../../engine/call/relay-call.ts';

const API = 'ended-api-token';
let t: TestEngine;
beforeAll(async () => {
  t = await startTestEngine({ PERFORMANCE_CACHE_ENABLED: false, WEAVER_API_TOKEN: API });
});
afterAll(async () => {
  await t?.stop();
});

const get = (path: string) => fetch(`${t.url}${path}`, { headers: { authorization: `Bearer ${API}` } }).then(async (r) => ({ status: r.status, body: await r.json() }));

describe('an ended call in the registry', () => {
  it('a media call: a summary that still gives its turns, latency, history and report', async () => {
    const silence = new Uint8Array(8000 * 1.5).fill(0xff);
    const r = await simulateCall({ baseUrl: t.url, audio: silence, transcripts: [], dtmf: [{ atMs: 600, digit: '1' }], speed: 2, tailMs: 2500 });
    await waitFor(() => t.engine.recent.get(r.callSid)?.state === 'ended', 'the call to end');
    const kept = t.engine.recent.get(r.callSid)!;
    expect(kept).not.toBeInstanceOf(MediaCall);
    expect(kept).toMatchObject({ mode: 'media', callSid: r.callSid, workflowId: 'demo', state: 'ended', outcome: 'stop' });
    expect(Object.keys(kept)).not.toContain('core');

    const said = t.engine.workflow('demo')!.dtmf['1'];
    const v = await get(`/calls/${r.callSid}`);
    expect(v.status).toBe(200);
    expect(v.body).toMatchObject({ mode: 'media', workflow: 'demo', sessionState: 'ended' });
    expect(v.body.turns.filter((x: any) => x.index > 0).map((x: any) => x.user)).toEqual([said]);
    expect(v.body.latency.turnMs.count).toBe(1);
    expect(v.body.history.map((m: any) => m.role)).toEqual(['assistant', 'user', 'assistant']);
    expect(v.body.history[1].content).toBe(said);

    const m = await get(`/calls/${r.callSid}/metrics`);
    expect(m.status).toBe(200);
    expect(m.body).toMatchObject({ callSid: r.callSid, state: 'ended', summary: { turns: 1, answered: 1 } });
  });

  it('a relay call: the same, with its protocol errors counted', async () => {
    const r = await simulateRelayCall({ baseUrl: t.url, workflow: 'demo-relay', steps: ['Is there parking at the clinic?'], answerTimeoutMs: 10_000 });
    await waitFor(() => t.engine.registry.recentRelay.get(r.callSid)?.state === 'ended', 'the call to end');
    const kept = t.engine.registry.recentRelay.get(r.callSid)!;
    expect(kept).not.toBeInstanceOf(RelayCall);
    expect(kept).toMatchObject({ mode: 'relay', state: 'ended', errors: {}, speculation: { adopted: 0 } });
    const v = await get(`/calls/${r.callSid}`);
    expect(v.body).toMatchObject({ mode: 'relay', workflow: 'demo-relay', sessionState: 'ended' });
    expect(v.body.turns.map((x: any) => x.user)).toEqual(['Is there parking at the clinic?']);
    expect(v.body.turns[0].answer).toMatch(/park/i);
  });
});
