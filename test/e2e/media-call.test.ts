// End to end over loopback: the caller simulator plays Twilio against a real engine with the
// local providers (simulated STT, workflow responder, espeak-ng TTS) and the DSP worker pool.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import WebSocket from 'ws';
import { simulateCall } from '../../bench/load/twilio-sim.ts';
import { startTestEngine, fixture, labels, waitFor, type TestEngine } from '../support/engine.ts';

const SPEED = 2;
const CALL = fixture('call-3turns.ulaw');
const LABELS = labels('call-3turns');
const silence = (ms: number) => new Uint8Array((ms / 1000) * 8000).fill(0xff);

let t: TestEngine;
beforeAll(async () => {
  t = await startTestEngine({ DSP_THREADS: 2, PERFORMANCE_CACHE_ENABLED: false });
});
afterAll(async () => {
  await t?.stop();
});

const faqAnswer = (id: string) => t.engine.workflow('demo')!.faq.find((e) => e.id === id)!.answer;
const userTurns = (callSid: string) => t.engine.recent.get(callSid)!.turns.filter((x) => x.index > 0);

describe('a Media Streams call end to end', () => {
  it('greets, answers every caller turn from the workflow, and tracks playout with marks', async () => {
    const transcripts = ['What are your opening hours on weekdays?', 'Is there parking at the clinic?', 'Do you treat children?'];
    const r = await simulateCall({ baseUrl: t.url, audio: CALL, transcripts, speed: SPEED });
    expect(r.twiml).toContain('<Connect><Stream url="wss://');
    const s = t.engine.recent.get(r.callSid)!;
    // The agent greeted first (turn 0) and its audio reached the caller.
    expect(s.turns[0].source).toBe('greeting');
    expect(s.turns[0].audioBytes).toBeGreaterThan(0);
    // Each labelled utterance became one turn with the next transcript, answered by the FAQ.
    expect(userTurns(r.callSid).map((x) => x.user)).toEqual(transcripts);
    const heard = s.history.filter((m) => m.role === 'assistant').map((m) => m.content);
    for (const [i, id] of ['hours-weekday', 'parking', 'kids'].entries()) {
      expect(userTurns(r.callSid)[i].answer).toBe(faqAnswer(id));
      expect(faqAnswer(id).startsWith(heard[i + 1])).toBe(true); // whole answer, or the part heard before a barge-in
    }
    // Every turn has the DESIGN.md §4 breakdown.
    for (const x of userTurns(r.callSid)) {
      expect(x.sttFinal).toBeGreaterThanOrEqual(x.speechEnd);
      expect(x.firstAudioSent).toBeGreaterThanOrEqual(x.responseStart!);
      expect(x.latency.turnMs).toBeGreaterThan(0);
    }
    // Marks follow the answers' audio; every one Twilio echoed (played or cleared) was ours,
    // and every one we sent was echoed but, at most, the one still playing at hang-up.
    expect(r.marksSent.length).toBeGreaterThanOrEqual(1);
    expect(r.marksEchoed.every((m) => r.marksSent.includes(m))).toBe(true);
    expect(r.marksSent.length - r.marksEchoed.length).toBeLessThanOrEqual(1);
    expect(r.agentAudio.some((b) => b !== 0xff)).toBe(true);
    expect(r.closeCode).toBe(1000);
  });

  it('stops the agent when the caller barges in: clear, abort, and only the heard part kept', async () => {
    // The first answer is long; the caller's second utterance starts while it plays.
    const transcripts = ['I have a dental emergency, what should I do?', 'Where is the clinic located?', 'Thanks.'];
    const r = await simulateCall({ baseUrl: t.url, audio: CALL, transcripts, speed: SPEED });
    // Exactly one clear while the caller talked over the first answer (utterance 2); the
    // caller may also have cut the greeting short during utterance 1.
    const during = (i: number) => r.clears.filter((c) => c > LABELS[i].startMs && c < LABELS[i].endMs);
    expect(during(1)).toHaveLength(1);
    expect(r.clears.every((c) => LABELS.some((l) => c > l.startMs && c < l.endMs))).toBe(true);
    const s = t.engine.recent.get(r.callSid)!;
    const first = userTurns(r.callSid)[0];
    expect(first.interrupted).toBe(true);
    const full = faqAnswer('emergency');
    const kept = s.history.find((m, i) => m.role === 'assistant' && s.history[i - 1]?.content === transcripts[0])!.content;
    expect(kept.length).toBeLessThan(full.length);
    expect(full.startsWith(kept)).toBe(true);
    // The call goes on: the barge-in utterance was answered.
    expect(userTurns(r.callSid).map((x) => x.user)).toContain(transcripts[1]);
  });

  it('turns DTMF digits into caller input', async () => {
    const r = await simulateCall({ baseUrl: t.url, audio: silence(1500), transcripts: [], dtmf: [{ atMs: 1000, digit: '1' }], speed: SPEED, tailMs: 4000 });
    const turns = userTurns(r.callSid);
    expect(turns).toHaveLength(1);
    expect(turns[0].user).toBe(t.engine.workflow('demo')!.dtmf['1']);
    expect(turns[0].source).toBe('llm');
  });

  it('a digit pressed during the greeting clears its playback before answering the digit', async () => {
    const r = await simulateCall({ baseUrl: t.url, audio: silence(1500), transcripts: [], dtmf: [{ atMs: 400, digit: '1' }], speed: SPEED, tailMs: 4000 });
    expect(r.clears).toHaveLength(1);
    expect(r.clears[0]).toBeGreaterThanOrEqual(400);
    const s = t.engine.recent.get(r.callSid)!;
    expect(s.turns[0].source).toBe('greeting');
    expect(s.turns[0].interrupted).toBe(true);
    expect(userTurns(r.callSid).map((x) => x.user)).toEqual([t.engine.workflow('demo')!.dtmf['1']]);
  });

  it('hangs up after a goodbye only once its audio has played', async () => {
    const r = await simulateCall({ baseUrl: t.url, audio: CALL.subarray(0, 8000 * 9), transcripts: ['Thanks, goodbye!'], speed: SPEED, tailMs: 8000 });
    expect(r.closeCode).toBe(1000);
    expect(r.closeReason).toContain('agent ended the call');
    expect(t.engine.recent.get(r.callSid)!.turns.at(-1)!.answer).toBe(t.engine.workflow('demo')!.goodbye);
    // Playback had drained: every mark of the goodbye was echoed as played before the close.
    const goodbyeMarks = r.marksSent.filter((m) => m.startsWith('t1-'));
    expect(goodbyeMarks.length).toBeGreaterThan(0);
    expect(goodbyeMarks.every((m) => r.marksEchoed.includes(m))).toBe(true);
    expect(r.clears.every((c) => c < LABELS[0].endMs)).toBe(true); // the goodbye itself was not cut
  });

  it('still hangs up after a goodbye when a short noise during it transcribes to nothing', async () => {
    // 160 ms of speech well into the goodbye's playback: enough to open a turn (100 ms), too short
    // for a barge-in (300 ms); the simulated STT has no transcript left, so it hears nothing.
    const at = (LABELS[0].endMs + 1800) * 8;
    const audio = new Uint8Array(8000 * 12).fill(0xff);
    audio.set(CALL.subarray(0, LABELS[0].endMs * 8)); // the first utterance only, then silence
    const burst = ((LABELS[1].startMs + 400) * 8) & ~1;
    audio.set(CALL.subarray(burst, burst + 1280), at);
    const r = await simulateCall({ baseUrl: t.url, audio, transcripts: ['Thanks, goodbye!'], speed: SPEED, tailMs: 8000 });
    const s = t.engine.recent.get(r.callSid)!;
    expect(s.turns.at(-1)!.answer).toBe(t.engine.workflow('demo')!.goodbye);
    expect(r.clears.filter((c) => c > LABELS[0].endMs)).toEqual([]); // the noise was not a barge-in
    expect(r.closeReason).toContain('agent ended the call');
  });

  it('ends cleanly on stop and frees the call', async () => {
    const r = await simulateCall({ baseUrl: t.url, audio: silence(500), transcripts: [], speed: SPEED, tailMs: 200 });
    expect(r.closeCode).toBe(1000);
    const s = t.engine.recent.get(r.callSid)!;
    expect(s.state).toBe('ended');
    await waitFor(() => t.engine.calls.size === 0, 'the call table to empty');
  });

  it('keeps two simultaneous calls apart', async () => {
    const a = ['Are you open on Saturday?', 'How much is teeth whitening?', 'Do you accept dental insurance?'];
    const b = ['Are you taking new patients?', 'What payment methods do you take?', 'How much does a cleaning cost?'];
    const [ra, rb] = await Promise.all([
      simulateCall({ baseUrl: t.url, audio: CALL, transcripts: a, speed: SPEED }),
      simulateCall({ baseUrl: t.url, audio: CALL, transcripts: b, speed: SPEED }),
    ]);
    expect(userTurns(ra.callSid).map((x) => x.user)).toEqual(a);
    expect(userTurns(rb.callSid).map((x) => x.user)).toEqual(b);
    const said = (sid: string) => userTurns(sid).map((x) => x.answer).join(' ');
    expect(said(ra.callSid)).toContain(faqAnswer('hours-saturday').slice(0, 20));
    expect(said(ra.callSid)).not.toContain(faqAnswer('new-patients').slice(0, 20));
    expect(said(rb.callSid)).toContain(faqAnswer('new-patients').slice(0, 20));
  });
});

describe('bad input on the media socket', () => {
  it('is logged and counted, the call goes on, and another call is untouched', async () => {
    const transcripts = ['Is there parking at the clinic?'];
    const audio = CALL.subarray(0, 8000 * 9); // first utterance only
    const [bad, good] = await Promise.all([
      simulateCall({
        baseUrl: t.url,
        audio,
        transcripts,
        speed: SPEED,
        inject: (ws, sid) => {
          ws.send('this is not json');
          ws.send(Buffer.from([1, 2, 3]), { binary: true });
          ws.send(JSON.stringify({ event: 'teleport', streamSid: sid }));
          ws.send(JSON.stringify({ event: 'media', streamSid: sid, media: { payload: '%%%not-base64%%%' } }));
          ws.send(JSON.stringify({ event: 'media', streamSid: 'MZ-someone-else', media: { payload: 'AAAA' } }));
          ws.send(JSON.stringify({ event: 'media', streamSid: sid, media: { payload: 'A'.repeat(200_000) } }));
        },
      }),
      simulateCall({ baseUrl: t.url, audio, transcripts, speed: SPEED }),
    ]);
    const s = t.engine.recent.get(bad.callSid)!;
    expect(s.errors).toMatchObject({ not_json: 1, binary_frame: 1, unknown_event: 1, bad_payload: 1, wrong_stream: 1, oversized: 1 });
    expect(userTurns(bad.callSid).map((x) => x.user)).toEqual(transcripts);
    expect(t.engine.recent.get(good.callSid)!.errors).toEqual({});
    expect(userTurns(good.callSid).map((x) => x.user)).toEqual(transcripts);
    const metrics = await t.engine.metrics.registry.getSingleMetricAsString('weaver_protocol_errors_total');
    expect(metrics).toMatch(/kind="not_json"} [1-9]/);
  });

  it('rejects media before start without dropping the socket, then serves the call', async () => {
    const ws = new WebSocket(t.url.replace('http', 'ws') + '/twilio/media');
    await new Promise((r) => ws.once('open', r));
    const got: any[] = [];
    ws.on('message', (d) => got.push(JSON.parse(d.toString())));
    ws.send(JSON.stringify({ event: 'media', streamSid: 'MZX', media: { payload: 'AAAA' } }));
    ws.send(JSON.stringify({ event: 'start', sequenceNumber: '1', streamSid: 'MZX', start: { streamSid: 'MZX', accountSid: 'AC', callSid: 'CA-early', tracks: ['inbound'], customParameters: {}, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } } }));
    await waitFor(() => got.some((m) => m.event === 'media'), 'the greeting audio');
    expect(t.engine.recent.get('CA-early')!.errors).toEqual({ wrong_order: 1 });
    ws.close();
  });
});
