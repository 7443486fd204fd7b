import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { TurnDetector, classifyUtterance, turnDetectorFor, type Completeness, type TurnEvent } from '../../engine/call/turn-detector.ts';
import { ConfigSchema } from '../../engine/config.ts';

/** Runs a VAD pattern ("1" = speech frame, "0" = silence, 20 ms each) through a detector. */
function run(pattern: string, opts = { minSpeechMs: 100, endSilenceMs: 500 }): TurnEvent[] {
  const d = new TurnDetector(opts);
  const out: TurnEvent[] = [];
  [...pattern].forEach((c, i) => {
    const e = d.push(c === '1', i * 20);
    if (e && e.type !== 'voiced') out.push(e);
  });
  return out;
}

describe('TurnDetector', () => {
  it('ends a turn after the configured silence, not at a short pause', () => {
    const pause = '0'.repeat(15); // 300 ms inside the sentence
    const ev = run('1'.repeat(30) + pause + '1'.repeat(20) + '0'.repeat(30));
    expect(ev.map((e) => e.type)).toEqual(['start', 'end']);
    const end = ev[1] as Extract<TurnEvent, { type: 'end' }>;
    expect(end.lastVoiceAt).toBe((30 + 15 + 20 - 1) * 20);
    expect(end.at - end.lastVoiceAt).toBe(500);
  });

  it('ignores blips shorter than the minimum speech', () => {
    expect(run('11000000001100000000' + '0'.repeat(40))).toEqual([]);
  });

  it('honours a longer hangover', () => {
    const ev = run('1'.repeat(20) + '0'.repeat(40) + '1'.repeat(10) + '0'.repeat(60), { minSpeechMs: 100, endSilenceMs: 1000 });
    expect(ev.map((e) => e.type)).toEqual(['start', 'end']);
  });

  it('reports voiced time for barge-in decisions', () => {
    const d = new TurnDetector({ minSpeechMs: 100, endSilenceMs: 500 });
    let voiced = 0;
    for (let i = 0; i < 20; i++) {
      const e = d.push(true, i * 20);
      if (e?.type === 'voiced') voiced = e.voicedMs;
    }
    expect(voiced).toBe(400);
  });

  it('counts a short pause between words as speech for barge-in, a longer one not', () => {
    const voicedAfter = (pattern: string, pauseBridgeMs: number): number => {
      const d = new TurnDetector({ minSpeechMs: 100, endSilenceMs: 500, pauseBridgeMs });
      let voiced = 0;
      [...pattern].forEach((c, i) => {
        const e = d.push(c === '1', i * 20);
        if (e?.type === 'voiced') voiced = e.voicedMs;
      });
      return voiced;
    };
    // 10 frames, a 4-frame (80 ms) pause, 3 frames; then the same with a 6-frame (120 ms) pause.
    expect(voicedAfter('1111111111' + '0000' + '111', 100)).toBe(17 * 20);
    expect(voicedAfter('1111111111' + '000000' + '111', 100)).toBe(13 * 20);
    expect(voicedAfter('1111111111' + '0000' + '111', 0)).toBe(13 * 20);
  });

  it('the labelled fixture turns map to three turns when fed label-perfect VAD', () => {
    const labels = JSON.parse(readFileSync(new URL('../fixtures/audio/call-3turns.labels.json', import.meta.url), 'utf8'));
    const frames = Math.ceil(labels.durationMs / 20);
    let pattern = '';
    for (let i = 0; i < frames; i++) pattern += labels.speech.some((s: any) => i * 20 >= s.startMs && i * 20 < s.endMs) ? '1' : '0';
    expect(run(pattern).filter((e) => e.type === 'end')).toHaveLength(3);
  });
});

describe('TurnDetector on speech probabilities (issue 13)', () => {
  const base = { minSpeechMs: 100, endSilenceMs: 500, endSilenceMinMs: 200, endSilenceMaxMs: 900 };
  type F = { prob: number; levelDb?: number; echoDb?: number; echoShare?: number };
  const feed = (d: TurnDetector, frames: F[], from = 0): TurnEvent[] => {
    const out: TurnEvent[] = [];
    frames.forEach((f, i) => {
      const e = d.push(f, (from + i) * 20);
      if (e && e.type !== 'voiced') out.push(e);
    });
    return out;
  };
  const rep = (n: number, f: F): F[] => Array.from({ length: n }, () => f);

  it('holds a turn through a dip below the onset but above the offset (hysteresis)', () => {
    const d = new TurnDetector(base);
    const ev = feed(d, [...rep(20, { prob: 0.9 }), ...rep(30, { prob: 0.4 }), ...rep(10, { prob: 0.9 }), ...rep(40, { prob: 0.05 })]);
    expect(ev.map((e) => e.type)).toEqual(['start', 'end']);
    // Without hysteresis, 0.4 would not start a turn.
    expect(feed(new TurnDetector(base), rep(40, { prob: 0.4 }))).toEqual([]);
  });

  it('ends turns on a line whose VAD calls the noise speech, once the noise floor is known', () => {
    const d = new TurnDetector(base);
    // 2 s of noise at -40 dBFS flagged as speech by the VAD: the floor learns it, no turn.
    const noise = (n: number) => rep(n, { prob: 1, levelDb: -40 });
    expect(feed(d, [{ prob: 0, levelDb: -40 }, ...noise(100)])).toEqual([]);
    // Speech 15 dB above it, then the noise again: one turn that ends.
    const ev = feed(d, [...rep(40, { prob: 1, levelDb: -25 }), ...noise(40)], 101);
    expect(ev.map((e) => e.type)).toEqual(['start', 'end']);
  });

  it('raises the onset on a line whose non-speech probability runs high', () => {
    const d = new TurnDetector(base);
    feed(d, rep(400, { prob: 0.45, levelDb: -60 }));
    // 0.55 would start a turn on a quiet line; here the line sits near 0.45, so it does not.
    expect(feed(d, rep(20, { prob: 0.55, levelDb: -30 }), 400)).toEqual([]);
    expect(feed(d, rep(20, { prob: 0.95, levelDb: -30 }), 420).map((e) => e.type)).toEqual(['start']);
  });

  it('raises the onset on a line with other talkers behind the caller (babble), even while they count as speech', () => {
    // Babble: a VAD probability between 0.5 and 0.8, loud enough to pass the noise-floor gate, so
    // it is voiced and the non-speech tracker never sees it; the line's probability percentile does.
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const babble = (n: number): F[] => Array.from({ length: n }, () => ({ prob: 0.5 + 0.3 * rnd(), levelDb: -34 + 4 * rnd() }));
    const burst = rep(15, { prob: 0.7, levelDb: -32 }); // 300 ms of babble at its typical probability
    const caller = rep(15, { prob: 0.99, levelDb: -28 });
    const starts = (d: TurnDetector, tail: F[]) => feed(d, [...rep(50, { prob: 0.05, levelDb: -60 }), ...babble(400), ...rep(30, { prob: 0.05, levelDb: -60 }), ...tail]).filter((e) => e.type === 'start').length;
    const withOnly = (tail: F[], lineProbWindowMs?: number) => starts(new TurnDetector({ ...base, lineProbWindowMs }), tail) - starts(new TurnDetector({ ...base, lineProbWindowMs }), []);
    expect(withOnly(burst)).toBe(0);
    expect(withOnly(caller)).toBe(1);
    // Without it the babble's burst is a turn.
    expect(withOnly(burst, 0)).toBe(1);
  });

  describe('the foreground gate: the caller is the nearest talker', () => {
    let seed = 11;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    /** Other talkers behind the caller: a VAD probability of 0.6-1, levels within 6 dB of -36 dBFS. */
    const talkers = (n: number): F[] => Array.from({ length: n }, () => ({ prob: 0.6 + 0.4 * rnd(), levelDb: -36 + 6 * (2 * rnd() - 1) }));
    const steady = (n: number): F[] => rep(n, { prob: 0.02, levelDb: -36 });
    const caller = (n: number): F[] => rep(n, { prob: 0.99, levelDb: -16 });
    const kinds = (d: TurnDetector, frames: F[]) => feed(d, frames).map((e) => e.type);

    /** Events after 3 s of the talkers alone (the detector has learnt the line); the same talkers each time. */
    const after = (opts: Partial<typeof base> & { foregroundFrac?: number }, frames: () => F[]) => {
      seed = 11;
      const d = new TurnDetector({ ...base, ...opts });
      feed(d, talkers(150));
      return feed(d, frames(), 150).map((e) => e.type);
    };

    it('ends a turn when the level falls back to the talkers behind the caller, though the VAD still hears speech', () => {
      const call = () => [...caller(60), ...talkers(60), ...caller(40)];
      expect(after({}, call)).toEqual(['start', 'end', 'start']);
      // Without it the talkers hold a turn open: no question is ever answered.
      expect(after({ foregroundFrac: 0 }, call)).not.toContain('end');
    });

    it("starts no turn on a TV's loud stretch that reaches the gate but not the start margin, and still on the caller", () => {
      // After one turn of the caller (-16 dBFS) over talkers at -36: the gate is -30, a start needs -24.
      const loud = () => [...caller(60), ...talkers(60), ...rep(20, { prob: 0.9, levelDb: -27 }), ...talkers(40), ...caller(40)];
      expect(after({}, loud)).toEqual(['start', 'end', 'start']);
      // The stretch passes the gate (its frames are voiced): only the start waits for more.
      seed = 11;
      const d = new TurnDetector(base);
      feed(d, [...talkers(150), ...loud().slice(0, 140)]);
      expect(d.lastVoiced).toBe(true);
      expect(d.speaking).toBe(false);
    });

    it('leaves a stretch under the agent\'s echo to the echo gate: the start margin does not hold a barge-in back', () => {
      // The same -27 dBFS stretch, 400 ms, now with the agent's echo on the line (33 dB under it): a barge-in.
      const barge = (echoDb?: number) => () => [...caller(60), ...talkers(60), ...rep(20, { prob: 0.9, levelDb: -27, echoDb })];
      expect(after({}, barge(-60))).toEqual(['start', 'end', 'start']);
      expect(after({}, barge(undefined))).toEqual(['start', 'end']);
    });

    it('judges the level only where the background is speech: on steady noise a soft stretch stays in the turn', () => {
      // 600 ms of the caller, 800 ms of soft speech (-32.5 dBFS: out of the noise floor, short of the gate), the caller again.
      const soft = () => [...caller(30), ...rep(40, { prob: 0.95, levelDb: -32.5 }), ...caller(20)];
      expect(after({}, soft)).toEqual(['start', 'end', 'start']);
      expect(kinds(new TurnDetector(base), [...steady(150), ...soft()])).toEqual(['start']);
    });
  });

  it("does not take the agent's echo for the caller, but hears the caller above it", () => {
    const d = new TurnDetector({ ...base, echoMarginDb: 6 });
    // Speech-like frames no louder than the echo left in them: nothing.
    expect(feed(d, rep(60, { prob: 0.99, levelDb: -40, echoDb: -42 }))).toEqual([]);
    // The caller 20 dB above the echo: a turn.
    expect(feed(d, rep(20, { prob: 0.99, levelDb: -22, echoDb: -42 }), 60).map((e) => e.type)).toEqual(['start']);
  });

  it('counts the quieter syllables of a caller who stood out of the echo (hysteresis on the echo margin)', () => {
    const voicedMs = (echoHoldDb: number): number => {
      const d = new TurnDetector({ ...base, echoMarginDb: 6, echoHoldDb });
      let v = 0;
      // 100 ms at 20 dB over the echo, then 200 ms of quieter syllables 2 dB over it.
      [...rep(5, { prob: 0.99, levelDb: -22, echoDb: -42 }), ...rep(10, { prob: 0.99, levelDb: -40, echoDb: -42 })].forEach((f, i) => {
        const e = d.push(f, i * 20);
        if (e?.type === 'voiced') v = e.voicedMs;
      });
      return v;
    };
    expect(voicedMs(0)).toBe(300);
    expect(voicedMs(6)).toBe(0); // no hysteresis: the stretch stops at 100 ms, short of a turn
    // Frames 2 dB over the echo never start voicing on their own.
    expect(feed(new TurnDetector({ ...base, echoMarginDb: 6, echoHoldDb: 0 }), rep(60, { prob: 0.99, levelDb: -40, echoDb: -42 }))).toEqual([]);
    expect(() => new TurnDetector({ ...base, echoMarginDb: 6, echoHoldDb: 8 })).toThrow(/echoHoldDb/);
  });

  it('under echo, takes a stretch as speech only once a frame of it stood echoConfirmDb out of the echo', () => {
    const opts = { ...base, echoMarginDb: 6, echoHoldDb: 0, echoConfirmDb: 12 };
    // 600 ms at 8 dB over the echo (past the margin, short of the confirmation): residual echo or noise.
    expect(feed(new TurnDetector(opts), rep(30, { prob: 0.99, levelDb: -34, echoDb: -42 }))).toEqual([]);
    // The same, with one frame 14 dB out: a turn.
    const ev = feed(new TurnDetector(opts), [...rep(3, { prob: 0.99, levelDb: -34, echoDb: -42 }), { prob: 0.99, levelDb: -28, echoDb: -42 }, ...rep(6, { prob: 0.99, levelDb: -34, echoDb: -42 })]);
    expect(ev.map((e) => e.type)).toEqual(['start']);
    // No echo on the line: the confirmation does not apply.
    expect(feed(new TurnDetector(opts), rep(30, { prob: 0.99, levelDb: -34 })).map((e) => e.type)).toEqual(['start']);
  });

  it('under echo, takes a frame below the echo over the whole band as speech when its bands stand out (echoShareMin)', () => {
    // 600 ms of a caller 4 dB under the echo left, over the whole band: never out of it by 6 dB.
    const caller = (share: number) => rep(30, { prob: 0.99, levelDb: -46, echoDb: -42, echoShare: share });
    const opts = { ...base, echoMarginDb: 6, echoHoldDb: 0, echoShareMin: 0.5 };
    // Most of its energy in bands standing out of the echo: a turn.
    expect(feed(new TurnDetector(opts), caller(0.8)).map((e) => e.type)).toEqual(['start']);
    // The same frames with few bands out (residual echo), or with the band test off: none.
    expect(feed(new TurnDetector(opts), caller(0.3))).toEqual([]);
    expect(feed(new TurnDetector({ ...opts, echoShareMin: 1 }), caller(0.8))).toEqual([]);
    // From the deployment's settings (BARGE_IN_ECHO_SHARE, default 0.5).
    const fromConfig = turnDetectorFor({ ...ConfigSchema.parse({}), TURN_MIN_SPEECH_MS: 100 });
    expect(feed(fromConfig, caller(0.8)).map((e) => e.type)).toEqual(['start']);
  });

  it('judges a frame against the loudest echo estimate of the last three frames', () => {
    // The estimate swings with the agent's syllables; the echo left can lag it by a frame or two.
    const swinging = Array.from({ length: 60 }, (_, i): F => ({ prob: 0.99, levelDb: -35, echoDb: i % 3 === 0 ? -30 : -60 }));
    const quiet = rep(10, { prob: 0.01, levelDb: -60 });
    expect(feed(new TurnDetector({ ...base, echoMarginDb: 6 }), [...quiet, ...swinging])).toEqual([]);
  });

  it('waits a short hangover after a complete utterance and a long one after words that trail off', () => {
    const run = (text: string | null): Extract<TurnEvent, { type: 'end' }> => {
      const d = new TurnDetector(base);
      feed(d, rep(30, { prob: 0.9 }));
      if (text !== null) d.setTranscript(text, 'en-US');
      const end = feed(d, rep(60, { prob: 0.01 }), 30).find((e) => e.type === 'end');
      return end as Extract<TurnEvent, { type: 'end' }>;
    };
    const complete = run('What time do you open on Saturday?');
    const none = run(null);
    const trailing = run('I wanted to ask about my appointment and');
    expect(complete.completeness).toBe('complete');
    expect(none.completeness).toBe('unknown');
    expect(trailing.completeness).toBe('trailing');
    expect(complete.hangoverMs).toBeLessThan(none.hangoverMs);
    expect(none.hangoverMs).toBeLessThan(trailing.hangoverMs);
    expect(complete.at).toBeLessThan(none.at);
    expect(none.at).toBeLessThan(trailing.at);
  });

  it('rejects hangover bounds out of order', () => {
    expect(() => new TurnDetector({ ...base, endSilenceMinMs: 600 })).toThrow(/min/);
    expect(() => new TurnDetector({ ...base, onsetProb: 0.3, offsetProb: 0.5 })).toThrow(/offsetProb/);
  });
});

describe('classifyUtterance', () => {
  const cases: Array<[string, string, Completeness]> = [
    ['Do you treat children?', 'en-US', 'complete'],
    ['Do you treat children', 'en-US', 'complete'],
    ['Do you treat children and', 'en-US', 'trailing'],
    ['I need to come in because', 'en-US', 'trailing'],
    ['so', 'en-US', 'trailing'],
    ['um', 'en-US', 'trailing'],
    ['What are your', 'en-US', 'trailing'],
    ['Hello', 'en-US', 'unknown'],
    ['', 'en-US', 'unknown'],
    ['¿A qué hora abren el sábado?', 'es-ES', 'complete'],
    ['Quiero una cita pero', 'es-ES', 'trailing'],
    ['Quiero una cita para', 'es-ES', 'trailing'],
    ['你们星期六几点开门？', 'zh-CN', 'complete'],
    ['我想预约一个', 'zh-CN', 'trailing'],
    ['然后', 'zh-CN', 'trailing'],
    ['你哋星期六幾點開門呀', 'zh-HK', 'complete'],
    ['有冇得泊車㗎', 'zh-HK', 'complete'],
    ['我想問下同埋', 'zh-HK', 'trailing'],
    ['即係', 'zh-HK', 'trailing'],
  ];
  for (const [text, lang, want] of cases) it(`${JSON.stringify(text)} (${lang}) → ${want}`, () => expect(classifyUtterance(text, lang)).toBe(want));
});
