// Turn taking end to end (issue 13): the caller simulator plays Twilio against a real engine
// with its default DSP (Silero VAD, echo cancellation) and turn detector. Noisy lines are answered
// turn by turn; the agent's own echo never interrupts it, while a caller talking over the echo
// still does; a complete question is answered sooner than one that trails off.
// Structure and ordering only: no timing thresholds.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { simulateCall } from '../../bench/load/twilio-sim.ts';
import { startTestEngine, fixture, labels, type TestEngine } from '../support/engine.ts';

const SPEED = 2;
const LABELS = labels('call-3turns');
const TRANSCRIPTS = ['What are your opening hours on weekdays?', 'Is there parking at the clinic?', 'Do you treat children?'];
/** The first utterance of the call, then silence: the caller asks once and listens. */
const askOnce = (tailMs: number): Uint8Array => {
  const first = fixture('call-3turns.ulaw').subarray(0, (LABELS[0].endMs + 200) * 8);
  const out = new Uint8Array(first.length + tailMs * 8).fill(0xff);
  out.set(first);
  return out;
};

let t: TestEngine;
beforeAll(async () => {
  // Cache off: every answer goes through the (local) LLM and TTS, as a real deployment's would.
  t = await startTestEngine({ DSP_THREADS: 2, PERFORMANCE_CACHE_ENABLED: false });
});
afterAll(async () => {
  await t?.stop();
});

const userTurns = (callSid: string) => t.engine.recent.get(callSid)!.turns.filter((x) => x.index > 0);
const faqAnswer = (id: string) => t.engine.workflow('demo')!.faq.find((e) => e.id === id)!.answer;

describe('noisy lines', () => {
  for (const snr of [10, 5]) {
    it(`answers every turn of a call with pink noise at ${snr} dB SNR, turn by turn`, async () => {
      const r = await simulateCall({ baseUrl: t.url, audio: fixture(`call-3turns-pink${snr}db.ulaw`), transcripts: TRANSCRIPTS, labels: LABELS, speed: SPEED });
      const turns = userTurns(r.callSid);
      // One turn per utterance, each with its own transcript: no turn merged into the next by the noise, none split.
      expect(turns.map((x) => x.user)).toEqual(TRANSCRIPTS);
      for (const x of turns) expect(x.firstAudioSent).toBeDefined();
    });
  }
});

describe("the agent's own echo", () => {
  it('never interrupts the agent when the caller stays silent (echo at -6 dB, 120 ms)', async () => {
    const r = await simulateCall({ baseUrl: t.url, audio: askOnce(9000), transcripts: ['I have a dental emergency, what should I do?'], labels: LABELS, echo: { gainDb: -6, delayMs: 120 }, speed: SPEED, tailMs: 500 });
    const s = t.engine.recent.get(r.callSid)!;
    const [turn] = userTurns(r.callSid);
    expect(turn.answer).toBe(faqAnswer('emergency'));
    // Clears happen only while the caller really talks (over the greeting); none during the answer.
    expect(r.clears.filter((c) => c > LABELS[0].endMs)).toEqual([]);
    expect(turn.interrupted).toBe(false);
    expect(userTurns(r.callSid)).toHaveLength(1); // the echo never became a caller turn either
    expect(s.history.filter((m) => m.role === 'assistant').at(-1)!.content).toBe(faqAnswer('emergency'));
  });

  it('still stops the agent when the caller really talks over the echo', async () => {
    // The first answer is long; the caller's second utterance starts while it plays, echoing at -6 dB.
    const transcripts = ['I have a dental emergency, what should I do?', 'Where is the clinic located?', 'Thanks.'];
    const r = await simulateCall({ baseUrl: t.url, audio: fixture('call-3turns.ulaw'), transcripts, labels: LABELS, echo: { gainDb: -6, delayMs: 120 }, speed: SPEED });
    const during = (i: number) => r.clears.filter((c) => c > LABELS[i].startMs && c < LABELS[i].endMs);
    expect(during(1)).toHaveLength(1);
    // Every clear came while the caller was talking.
    expect(r.clears.every((c) => LABELS.some((l) => c > l.startMs && c < l.endMs + 300))).toBe(true);
    const [first] = userTurns(r.callSid);
    expect(first.interrupted).toBe(true);
    expect(userTurns(r.callSid).map((x) => x.user)).toContain(transcripts[1]);
  });
});

describe('adaptive end of turn', () => {
  it('answers a complete question sooner than the same speech whose words trail off', async () => {
    const call = (text: string) => simulateCall({ baseUrl: t.url, audio: askOnce(4000), transcripts: [text], labels: LABELS, speed: SPEED, tailMs: 500 });
    const complete = await call('Do you treat children?');
    const trailing = await call('Do you treat children and');
    const [a] = userTurns(complete.callSid);
    const [b] = userTurns(trailing.callSid);
    expect(a.user).toBe('Do you treat children?');
    expect(b.user).toBe('Do you treat children and');
    // The same audio: the complete question waited a shorter hangover, and its answer came sooner after the caller stopped.
    expect(a.speechEnd - a.lastVoiceAt).toBeLessThan(b.speechEnd - b.lastVoiceAt);
    expect(complete.responseAfter(LABELS[0].endMs)!).toBeLessThan(trailing.responseAfter(LABELS[0].endMs)!);
  });
});
