// The echo canceller under double talk: a caller who starts talking over the agent's echo at
// about the echo's own level (under the canceller's 6 dB double-talk test) must not wreck the
// filter. Before, the filter adapted on the caller, diverged, was zeroed, and the echo estimate
// went back to its worst case just as the caller started, so the barge-in came late. Now a frame
// that adapting makes worse is undone and the filter holds. A tuning-set echo case
// (bench/echo-fixtures.ts) through the real DSP; the agent speaks with eSpeak, as with no keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallDsp, FRAME_BYTES, loadDsp } from '../../workers/dsp-core.ts';
import { EspeakTts } from '../../adapters/local/espeak-tts.ts';
import { agentAudio, buildEchoCase, echoSpecs, type EchoCase } from '../../bench/echo-fixtures.ts';

let cases: EchoCase[];
beforeAll(async () => {
  await loadDsp();
  const agents = await agentAudio('tune');
  // −6 dB echo (the loudest) with a caller talking over it, on clean and noisy lines.
  cases = echoSpecs('tune')
    .filter((s) => s.gainDb === -6 && s.barge !== null)
    .map((s) => buildEchoCase(s, agents[s.agentIndex]));
});
afterAll(async () => {
  await EspeakTts.shutdown();
});

describe('echo canceller under double talk', () => {
  it('keeps its filter when a caller talks over a −6 dB echo, and the echo it reports stays under the caller', () => {
    let undone = 0;
    for (const c of cases) {
      const dsp = new CallDsp({ denoise: 'off', vadMode: 2, vad: 'webrtc' });
      const pcm = new Int16Array(FRAME_BYTES);
      const agentFrame = Math.round(c.agentAtMs / 20);
      const callerFrom = Math.ceil(c.caller!.startMs / 20);
      const callerTo = callerFrom + 25; // the caller's first 500 ms
      let resetsBefore = 0;
      const gaps: number[] = [];
      for (let f = 0; f < callerTo; f++) {
        if (f === agentFrame) dsp.queuePlayout(c.agent);
        const level = dsp.process(c.line, f * FRAME_BYTES, pcm, 0);
        if (f === callerFrom) resetsBefore = dsp.echoCanceller!.resets;
        if (f >= callerFrom && level > -35) gaps.push(level - dsp.lastEchoDb);
      }
      const ec = dsp.echoCanceller!;
      // By the time the caller talks, the canceller has found the echo's delay...
      expect(ec.delay, c.id).toBeGreaterThan(0);
      // ...and the caller's voice never makes it start over.
      expect(ec.resets - resetsBefore, c.id).toBe(0);
      // The echo left, as reported, stays well under the caller's loud frames (median gap).
      gaps.sort((a, b) => a - b);
      expect(gaps[Math.floor(gaps.length / 2)], c.id).toBeGreaterThan(6);
      undone += ec.undone;
      dsp.free();
    }
    // The guard did fire somewhere: these cases do put the caller under the double-talk test.
    expect(undone).toBeGreaterThan(0);
  });
});
