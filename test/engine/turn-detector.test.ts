import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { TurnDetector, type TurnEvent } from '../../engine/call/turn-detector.ts';

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

  it('the labelled fixture turns map to three turns when fed label-perfect VAD', () => {
    const labels = JSON.parse(readFileSync(new URL('../fixtures/audio/call-3turns.labels.json', import.meta.url), 'utf8'));
    const frames = Math.ceil(labels.durationMs / 20);
    let pattern = '';
    for (let i = 0; i < frames; i++) pattern += labels.speech.some((s: any) => i * 20 >= s.startMs && i * 20 < s.endMs) ? '1' : '0';
    expect(run(pattern).filter((e) => e.type === 'end')).toHaveLength(3);
  });
});
