// Echo and noise fixtures for turn taking, generated (never recorded): the agent's own audio,
// synthesised by eSpeak NG (adapters/local/espeak-tts.ts, as the engine speaks with no keys), comes
// back on the caller's line through an echo path (a delay, a gain, a short dispersive impulse
// response, μ-law on the way back) onto a clean or noisy line, with or without the caller
// really talking over it. Disjoint sets, so the thresholds are tuned on some and reported on
// another: `tune` (agent answers and caller recordings of one half) and `test` (the other half,
// other seeds), both tuned on since the barge-in hysteresis; `heldout` (other answers, echo
// levels, delays, noises and seeds, the callers cut at a later word and at other levels, and two
// eSpeak voices as callers), tuned on since it was first scored; `heldout2` (other answers in other
// agent voices, another echo path, other cuts, levels, voices, delays around 120 ms and seeds),
// scored twice (before and after the echo canceller's rework), tuned on since; `heldout3` (four
// other answers in other voices, a third echo path, callers cut at later pauses, quiet callers,
// hum among the lines), scored once before the sub-band barge-in work and once after, tuned on since;
// `heldout4` (four more answers and voices, a fourth echo path, other cuts, levels and noise levels),
// scored once before the round-2 barge-in work and once after, never tuned on.
//
//   npx tsx bench/echo-fixtures.ts [--out data/fixtures]     writes the sets as .ulaw + .json,
//                                                             and held-out noisy lines for dsp:eval
//
// The figures themselves come from bench/echo-eval.ts, which builds the same cases in memory.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EspeakTts, type EspeakOptions } from '../adapters/local/espeak-tts.ts';
import { ULAW_TO_PCM, PCM_TO_ULAW } from '../adapters/kit/ulaw.ts';
import { rng } from './load/sim-providers.ts';
import { ECHO_IR } from './load/twilio-sim.ts';

export const SR = 8000;

/** Agent answers (the demo clinic's FAQ style), split between the sets. */
const AGENT_TEXT = {
  tune: [
    'We are open Monday to Friday from eight in the morning until six in the evening, and on Saturday mornings until one.',
    'Yes, we treat children of all ages, and our hygienists are very good with nervous young patients.',
    'A routine cleaning costs eighty five dollars, and most insurance plans cover it in full.',
  ],
  test: [
    'The clinic is at two hundred Harbour Street, on the second floor, next to the pharmacy, with parking behind the building.',
    'If you have a dental emergency, please come in straight away; we keep time free every morning for urgent cases.',
    'We accept cash, all major credit cards and most dental insurance plans, and we can set up a payment plan.',
  ],
  heldout: [
    'Doctor Patel sees new patients on Tuesdays and Thursdays, and the first visit takes about forty five minutes with an examination.',
    'To cancel an appointment, please call us at least one day ahead, otherwise we may have to charge a small fee for the missed slot.',
    'Whitening is done in two visits a week apart, and we will check your gums first to make sure the treatment is safe for you.',
  ],
  heldout2: [
    'Your next checkup is due in March, and I can book you in with the same hygienist as last time if you like.',
    'We are closed on public holidays, but the emergency line is answered every day between nine and five.',
    'A filling usually takes half an hour, and you can eat normally as soon as the numbness wears off.',
  ],
  heldout3: [
    'Thank you for waiting. I have found two free slots next week, on Wednesday at ten past nine and on Friday just after lunch.',
    'Please bring your insurance card and a list of any medicines you take, and arrive ten minutes early to fill in the forms.',
    'Our orthodontist works here every other Monday, so a consultation for braces would be on the fourteenth at the earliest.',
    'I am sorry, I did not quite catch that; could you tell me the name the booking was made under, and the date of birth?',
  ],
  heldout4: [
    'Right, let me just check that for you. Your crown is ready, so we can fit it on Thursday afternoon if that still suits you.',
    'Children under twelve are seen by Doctor Okafor, who has a quiet room with toys, and parents are welcome to stay throughout.',
    'After an extraction, avoid hot drinks and rinsing for a day, and call us straight away if the bleeding does not stop.',
    'We will send a reminder by text two days before, and you can reply to that message to confirm or to change the time.',
  ],
};
/**
 * The agent's eSpeak voice per answer (the engine's default is en-us): the second held-out set
 * speaks with other voices, so its echo is not the voice the canceller and thresholds were tuned on.
 */
const AGENT_VOICE: Partial<Record<FixtureSet, ReadonlyArray<readonly [string, string, EspeakOptions]>>> = {
  // (eSpeak's "+variant" suffixes are not in the WASM build: a name like en-us+f3 falls back to en-us.)
  heldout2: [
    ['en-gb-x-rp', 'en-GB', { pitch: 38 }],
    ['en-029', 'en-US', { rate: 160 }],
    ['en-us-nyc', 'en-US', { pitch: 62, rate: 185 }],
  ],
  // The third held-out set: two other accents, and the default voice pitched low and slowed.
  heldout3: [
    ['en-gb-x-gbcwmd', 'en-GB', { pitch: 58, rate: 165 }],
    ['en-gb-x-lancastr', 'en-GB', { pitch: 42, rate: 180 }],
    ['en-us', 'en-US', { pitch: 25, rate: 150 }],
    ['en-gb-x-gbcwmd', 'en-GB', { pitch: 70, rate: 200 }],
  ],
  // The fourth held-out set: the plain British voice, Scottish, New York slowed, and Clan pitched high.
  heldout4: [
    ['en', 'en-GB', { pitch: 45, rate: 170 }],
    ['en-gb-scotland', 'en-GB', { pitch: 55, rate: 175 }],
    ['en-us-nyc', 'en-US', { pitch: 40, rate: 150 }],
    ['en-gb-x-gbclan', 'en-GB', { pitch: 66, rate: 192 }],
  ],
};
/** Caller recordings (real read speech, test/fixtures/README.md), split between the sets. */
const CALLER = { tune: ['human-utt3', 'human-utt4'], test: ['human-utt1', 'human-utt2', 'human-utt5'] };
/**
 * Held-out callers: every recording cut at its quietest frame between 0.8 and 1.6 s (so it opens
 * on a later word), and two eSpeak voices the agent does not use, saying what a caller would.
 */
const HELDOUT_RECORDINGS = ['human-utt1', 'human-utt2', 'human-utt3', 'human-utt4', 'human-utt5'];
const HELDOUT_ESPEAK = [
  ['espeak-sc', 'Sorry, sorry, can I just ask about parking near the clinic?', 'en-sc', 'en-GB'],
  ['espeak-f3', 'Wait, I actually wanted to move my appointment to Friday.', 'en-us+f3', 'en-US'],
] as const;
/** Held-out caller levels relative to the recordings, dB (the quieter caller tests the thresholds). */
const HELDOUT_CALLER_GAINS = [0, -8];
/**
 * The second held-out set's callers (built before any change it scores, never tuned on): the
 * longer recordings cut at their quietest frame between 1.7 and 2.5 s, the two short ones between
 * 0.3 and 0.8 s (other first words than `heldout`'s), and two other eSpeak voices and lines.
 */
const HELDOUT2_CUTS: ReadonlyArray<readonly [string, number, number]> = [
  ['human-utt1', 1700, 2500],
  ['human-utt2', 300, 800],
  ['human-utt3', 1700, 2500],
  ['human-utt4', 1700, 2500],
  ['human-utt5', 300, 800],
];
const HELDOUT2_ESPEAK = [
  ['espeak-scotland', 'Hang on, does that include the X-ray as well?', 'en-gb-scotland', 'en-GB', { pitch: 70, rate: 190 }],
  ['espeak-gbclan', 'Excuse me, I think you have the wrong date there.', 'en-gb-x-gbclan', 'en-GB', { pitch: 35, rate: 160 }],
] as const;
/** Second held-out caller levels relative to the recordings, dB. */
const HELDOUT2_CALLER_GAINS = [3, -4, -10];
/**
 * The second held-out set's echo path: another hybrid's dispersive response (taps within 11 ms),
 * not the one every other set and the caller simulator use (bench/load/twilio-sim.ts, ECHO_IR).
 */
const HELDOUT2_IR: ReadonlyArray<readonly [number, number]> = [
  [0, 0.9],
  [2, -0.4],
  [5, 0.25],
  [17, -0.15],
  [46, 0.08],
  [83, -0.04],
];

/**
 * The third held-out set's callers (built and scored before the sub-band work, never tuned on):
 * the recordings cut at pauses later than the other sets' (the long ones between 2.6 and 3.6 s,
 * the short ones between 1.5 and 2.1 s), and two more eSpeak callers, one high and fast, one low and slow.
 */
const HELDOUT3_CUTS: ReadonlyArray<readonly [string, number, number]> = [
  ['human-utt1', 2900, 3900],
  ['human-utt2', 1500, 2100],
  ['human-utt3', 2600, 3400],
  ['human-utt4', 2600, 3600],
  ['human-utt5', 1500, 2100],
];
const HELDOUT3_ESPEAK = [
  ['espeak-rp-high', 'No no, I meant the appointment for my daughter, not for me.', 'en-gb-x-rp', 'en-GB', { pitch: 85, rate: 205 }],
  ['espeak-029-low', 'Could you say the address again, slowly please?', 'en-029', 'en-US', { pitch: 20, rate: 135 }],
] as const;
/** Third held-out caller levels relative to the recordings, dB (two of the four quiet). */
const HELDOUT3_CALLER_GAINS = [0, -7, 2, -12];
/**
 * The third held-out set's echo path: a softer, more smeared response (the direct path split
 * over two samples, reflections out to 14 ms), unlike ECHO_IR and HELDOUT2_IR.
 */
const HELDOUT3_IR: ReadonlyArray<readonly [number, number]> = [
  [0, 0.6],
  [1, 0.45],
  [4, -0.3],
  [9, 0.18],
  [26, -0.1],
  [64, 0.06],
  [112, -0.03],
];

/**
 * The fourth held-out set's callers (built and scored before the round-2 barge-in work, never
 * tuned on): the recordings cut at pauses none of the other sets use (the long ones late in the
 * recording, the short ones around 1 s), and two more eSpeak callers.
 */
const HELDOUT4_CUTS: ReadonlyArray<readonly [string, number, number]> = [
  ['human-utt1', 4200, 5000],
  ['human-utt2', 1000, 1400],
  ['human-utt3', 3500, 4100],
  ['human-utt4', 3900, 4700],
  ['human-utt5', 900, 1400],
];
const HELDOUT4_ESPEAK = [
  ['espeak-en-mid', 'Actually, can we do Thursday morning instead?', 'en', 'en-GB', { pitch: 60, rate: 170 }],
  ['espeak-nyc-low', 'Hold on, hold on, what was the price again?', 'en-us-nyc', 'en-US', { pitch: 30, rate: 145 }],
] as const;
/** Fourth held-out caller levels relative to the recordings, dB (three of the five quiet). */
const HELDOUT4_CALLER_GAINS = [-2, -9, 4, -6, -11];
/** The fourth held-out set's echo path: a ringing response, reflections alternating out to 12 ms. */
const HELDOUT4_IR: ReadonlyArray<readonly [number, number]> = [
  [0, 0.75],
  [3, -0.5],
  [7, 0.3],
  [13, -0.2],
  [31, 0.1],
  [58, -0.07],
  [95, 0.04],
];
const SET_IR: Partial<Record<FixtureSet, ReadonlyArray<readonly [number, number]>>> = { heldout2: HELDOUT2_IR, heldout3: HELDOUT3_IR, heldout4: HELDOUT4_IR };
/** The callers of the later held-out sets: recordings cut at a pause, and eSpeak voices. */
const CUT_CALLERS: Partial<Record<FixtureSet, { cuts: ReadonlyArray<readonly [string, number, number]>; espeak: ReadonlyArray<readonly [string, string, string, string, EspeakOptions]> }>> = {
  heldout2: { cuts: HELDOUT2_CUTS, espeak: HELDOUT2_ESPEAK },
  heldout3: { cuts: HELDOUT3_CUTS, espeak: HELDOUT3_ESPEAK },
  heldout4: { cuts: HELDOUT4_CUTS, espeak: HELDOUT4_ESPEAK },
};

export type FixtureSet = keyof typeof AGENT_TEXT;

const gauss = (r: () => number): number => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());

export type NoiseKind = 'pink' | 'white' | 'brown' | 'babble' | 'hum';

/** `n` samples of noise at unit RMS. Babble is several other talkers (eSpeak, other voices) summed. */
export function noise(kind: NoiseKind, n: number, seed: number, babble?: Float64Array): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  if (kind === 'white') for (let i = 0; i < n; i++) out[i] = gauss(r);
  else if (kind === 'brown') {
    let v = 0;
    for (let i = 0; i < n; i++) {
      v = 0.995 * v + gauss(r) * 0.1;
      out[i] = v;
    }
  } else if (kind === 'pink') {
    // Paul Kellet's filter.
    let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
    for (let i = 0; i < n; i++) {
      const w = gauss(r);
      b0 = 0.99886 * b0 + w * 0.0555179;
      b1 = 0.99332 * b1 + w * 0.0750759;
      b2 = 0.969 * b2 + w * 0.153852;
      b3 = 0.8665 * b3 + w * 0.3104856;
      b4 = 0.55 * b4 + w * 0.5329522;
      b5 = -0.7616 * b5 - w * 0.016898;
      out[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
      b6 = w * 0.115926;
    }
  } else if (kind === 'hum') {
    // Mains hum with harmonics, a little hiss, and an occasional click.
    for (let i = 0; i < n; i++) {
      const t = i / SR;
      out[i] = Math.sin(2 * Math.PI * 50 * t) + 0.5 * Math.sin(2 * Math.PI * 150 * t) + 0.3 * Math.sin(2 * Math.PI * 250 * t) + 0.1 * gauss(r);
      if (r() < 0.0003) out[i] += 6 * (r() - 0.5);
    }
  } else {
    if (!babble || babble.length === 0) throw new Error('babble noise needs talkers');
    for (let k = 0; k < 4; k++) {
      const off = Math.floor(r() * babble.length);
      for (let i = 0; i < n; i++) out[i] += babble[(off + i) % babble.length];
    }
  }
  return scaleToRms(out, 1);
}

export function rms(x: Float64Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i] * x[i];
  return Math.sqrt(s / Math.max(1, to - from));
}

export function scaleToRms(x: Float64Array, target: number): Float64Array {
  const r = rms(x);
  if (r > 0) for (let i = 0; i < x.length; i++) x[i] *= target / r;
  return x;
}

export const decode = (u: Uint8Array): Float64Array => Float64Array.from(u, (b) => ULAW_TO_PCM[b]);

export function encode(x: Float64Array): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = Math.max(-32768, Math.min(32767, Math.round(x[i])));
    out[i] = PCM_TO_ULAW[v & 0xffff];
  }
  return out;
}

export function loadFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../test/fixtures/audio/${name}.ulaw`, import.meta.url)));
}

/** eSpeak speaking `text` (8 kHz μ-law), as the engine's no-key TTS does. */
export async function speak(text: string, voice = 'en-us', language = 'en-US', opts: EspeakOptions = {}): Promise<Uint8Array> {
  const tts = new EspeakTts(opts);
  const parts: Uint8Array[] = [];
  const ctx = { callId: 'fixture', workflow: 'demo', language, parameters: {} };
  for await (const a of tts.synthesize({ ctx, text, voice, language, signal: new AbortController().signal })) parts.push(a);
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
}

/**
 * The echo path: `gainDb` (relative to the agent's audio as sent), a bulk `delayMs`, and a short
 * dispersive impulse response (a hybrid's or a handset's: direct path plus a few reflections
 * within 12 ms).
 */
export function echoOf(agent: Float64Array, n: number, startSample: number, gainDb: number, delayMs: number, ir: ReadonlyArray<readonly [number, number]> = ECHO_IR): Float64Array {
  const g = 10 ** (gainDb / 20);
  const d = Math.round((delayMs * SR) / 1000);
  const out = new Float64Array(n);
  for (const [lag, a] of ir) {
    for (let i = 0; i < agent.length; i++) {
      const j = startSample + d + lag + i;
      if (j >= 0 && j < n) out[j] += g * a * agent[i];
    }
  }
  return out;
}

/**
 * Where a recording's speech starts: its first 20 ms frame within 20 dB of its loudest frame. The
 * recordings open with 150–300 ms of breath and room sound at about −45 dBFS; the caller "talks
 * over the agent" from the first syllable, and barge-in reaction is measured from there.
 */
export function speechOnset(x: Float64Array): number {
  const frame = SR / 50;
  let peak = 0;
  for (let i = 0; i + frame <= x.length; i += frame) peak = Math.max(peak, rms(x, i, i + frame));
  // The first of 3 such frames in a row (60 ms): human-utt2 opens with one 20 ms blip of room
  // sound at −40 dBFS, within 20 dB of its quieter peak, then 220 ms of room sound before its first word.
  let run = 0;
  for (let i = 0; i + frame <= x.length; i += frame) {
    run = rms(x, i, i + frame) >= peak / 10 ? run + 1 : 0;
    if (run === 3) return i - 2 * frame;
  }
  return 0;
}

/** `x` from its quietest 20 ms frame between `fromMs` and `toMs` (a pause between words). */
export function cutAtPause(x: Float64Array, fromMs: number, toMs: number): Float64Array {
  const frame = SR / 50;
  let best = (fromMs * SR) / 1000;
  for (let i = best; i + frame <= Math.min(x.length, (toMs * SR) / 1000); i += frame) if (rms(x, i, i + frame) < rms(x, best, best + frame)) best = i;
  return x.slice(best);
}

export interface EchoCase {
  id: string;
  set: FixtureSet;
  /** Echo level relative to the agent's audio, dB, and its delay, ms. */
  gainDb: number;
  delayMs: number;
  /** Line noise: none, or a kind at a level (dBFS RMS). */
  noise: { kind: NoiseKind; levelDb: number } | null;
  /** The caller's line as Twilio would send it (μ-law). */
  line: Uint8Array;
  /** The agent's audio as the engine sent it (μ-law), queued for playout at `agentAtMs`. */
  agent: Uint8Array;
  agentAtMs: number;
  /** When the agent's audio plays (ms, on the line's clock). */
  agentSpan: { startMs: number; endMs: number };
  /** The caller's real speech, if any (ms), from its onset (speechOnset) to the recording's end; the recording starts at fileStartMs. */
  caller: { fileStartMs: number; startMs: number; endMs: number } | null;
}

export interface EchoCaseSpec {
  set: FixtureSet;
  agentIndex: number;
  gainDb: number;
  delayMs: number;
  noise: EchoCase['noise'];
  /** Caller recording talking over the agent, starting this long after the agent starts (ms), at `gainDb` (default 0); null: silent caller. */
  barge: { name: string; afterMs: number; gainDb?: number } | null;
  seed: number;
}

/** One echo case, built from its spec (agent audio must come from `speak`; callers not among the recordings from `callerAudio`). */
export function buildEchoCase(spec: EchoCaseSpec, agentUlaw: Uint8Array, babble?: Float64Array, callers?: Record<string, Float64Array>): EchoCase {
  const agentAtMs = 500;
  const agent = decode(agentUlaw);
  const agentStart = (agentAtMs * SR) / 1000;
  const n = agentStart + agent.length + SR * 2;
  const line = echoOf(agent, n, agentStart, spec.gainDb, spec.delayMs, SET_IR[spec.set] ?? ECHO_IR);
  let caller: EchoCase['caller'] = null;
  if (spec.barge) {
    const c = Float64Array.from(callers?.[spec.barge.name] ?? decode(loadFixture(spec.barge.name)));
    const g = 10 ** ((spec.barge.gainDb ?? 0) / 20);
    for (let i = 0; i < c.length; i++) c[i] *= g;
    const at = agentStart + Math.round((spec.barge.afterMs * SR) / 1000);
    for (let i = 0; i < c.length && at + i < n; i++) line[at + i] += c[i];
    caller = { fileStartMs: (at / SR) * 1000, startMs: ((at + speechOnset(c)) / SR) * 1000, endMs: (Math.min(n, at + c.length) / SR) * 1000 };
  }
  if (spec.noise) {
    const z = noise(spec.noise.kind, n, spec.seed, babble);
    const g = 32768 * 10 ** (spec.noise.levelDb / 20);
    for (let i = 0; i < n; i++) line[i] += g * z[i];
  }
  const noiseId = spec.noise ? `${spec.noise.kind}${spec.noise.levelDb}` : 'clean';
  return {
    id: `${spec.set}-a${spec.agentIndex}-${spec.gainDb}dB-${spec.delayMs}ms-${noiseId}-${spec.barge ? `barge-${spec.barge.name}${spec.barge.gainDb ? `${spec.barge.gainDb}dB` : ''}` : 'silent'}`,
    set: spec.set,
    gainDb: spec.gainDb,
    delayMs: spec.delayMs,
    noise: spec.noise,
    line: encode(line),
    agent: agentUlaw,
    agentAtMs,
    agentSpan: { startMs: agentAtMs, endMs: agentAtMs + (agentUlaw.length / SR) * 1000 },
    caller,
  };
}

/** Every case of a set: echo levels −6…−40 dB, delays 60…250 ms, clean and noisy lines, silent and barging callers. */
export function echoSpecs(set: FixtureSet): EchoCaseSpec[] {
  if (set === 'heldout') return heldOutSpecs();
  if (set === 'heldout2') return heldOut2Specs();
  if (set === 'heldout3') return heldOut3Specs();
  if (set === 'heldout4') return heldOut4Specs();
  const gains = [-6, -12, -20, -30, -40];
  const delays = set === 'tune' ? [60, 150, 250] : [80, 120, 200, 250];
  const noises: Array<EchoCase['noise']> = set === 'tune' ? [null, { kind: 'pink', levelDb: -45 }] : [null, { kind: 'pink', levelDb: -42 }, { kind: 'brown', levelDb: -40 }];
  const grid = gains.flatMap((g) => delays.flatMap((d) => noises.map((nz): GridCell => [g, d, nz])));
  const callers = CALLER[set];
  // (The k-th barging case is spec 2k + 1 of the set: its caller follows from that.)
  return pairedSpecs(set, set === 'tune' ? 1000 : 5000, () => grid, (k, agentIndex, seed) => ({ name: callers[(agentIndex + 2 * k + 1) % callers.length], afterMs: 1200 + ((seed * 37) % 1300) }));
}

/** One cell of a set's grid: echo gain (dB), delay (ms) and the line's noise. */
type GridCell = [number, number, EchoCase['noise']];

/**
 * A set's cases: for every agent answer and every cell of its grid, one with a silent caller and
 * one with the k-th barging caller of the set (`bargeOf`, given the seed the case will take).
 */
function pairedSpecs(set: FixtureSet, firstSeed: number, gridOf: (agentIndex: number) => GridCell[], bargeOf: (k: number, agentIndex: number, seed: number) => NonNullable<EchoCaseSpec['barge']>): EchoCaseSpec[] {
  const specs: EchoCaseSpec[] = [];
  let seed = firstSeed;
  let k = 0;
  AGENT_TEXT[set].forEach((_, agentIndex) => {
    for (const [gainDb, delayMs, noise] of gridOf(agentIndex)) {
      specs.push({ set, agentIndex, gainDb, delayMs, noise, barge: null, seed: seed++ });
      specs.push({ set, agentIndex, gainDb, delayMs, noise, barge: bargeOf(k++, agentIndex, seed), seed: seed++ });
    }
  });
  return specs;
}

const across = (points: number[][], noises: Array<EchoCase['noise']>): GridCell[] => points.flatMap(([g, d]) => noises.map((nz): GridCell => [g, d, nz]));
const callerNames = (set: FixtureSet): string[] => {
  const c = CUT_CALLERS[set];
  return c ? [...c.cuts.map(([name]) => name), ...c.espeak.map(([name]) => name)] : [];
};

/** The held-out grid: −6 dB at 120 ms (the goal's point) and levels, delays and noises the tuning never had. */
function heldOutSpecs(): EchoCaseSpec[] {
  const callers = [...HELDOUT_RECORDINGS, ...HELDOUT_ESPEAK.map(([name]) => name)];
  const grid = across([[-6, 120], [-6, 170], [-9, 100], [-9, 230], [-15, 140], [-24, 190], [-35, 120]], [null, { kind: 'white', levelDb: -46 }, { kind: 'brown', levelDb: -43 }, { kind: 'pink', levelDb: -38 }]);
  return pairedSpecs('heldout', 20_000, () => grid, (k, _a, seed) => ({
    name: callers[k % callers.length],
    afterMs: 900 + ((seed * 53) % 1700),
    gainDb: HELDOUT_CALLER_GAINS[Math.floor(k / callers.length) % HELDOUT_CALLER_GAINS.length],
  }));
}

/**
 * The second held-out grid (issue 13's barge-in goal, scored once before and once after the
 * canceller work): echo at −6 dB with 100, 120 and 140 ms delay as the main point, and −3/90,
 * −10/160, −18/210, −28/150; clean lines, pink −44, white −40 and brown −47 dBFS noise; silent
 * and barging callers (callers at +3, −4 and −10 dB, 700–2300 ms into the answer); other seeds.
 */
function heldOut2Specs(): EchoCaseSpec[] {
  const callers = callerNames('heldout2');
  const grid = across([[-6, 100], [-6, 120], [-6, 140], [-3, 90], [-10, 160], [-18, 210], [-28, 150]], [null, { kind: 'pink', levelDb: -44 }, { kind: 'white', levelDb: -40 }, { kind: 'brown', levelDb: -47 }]);
  return pairedSpecs('heldout2', 70_000, () => grid, (k, _a, seed) => ({
    name: callers[(k * 3) % callers.length],
    afterMs: 700 + ((seed * 71) % 1600),
    gainDb: HELDOUT2_CALLER_GAINS[k % HELDOUT2_CALLER_GAINS.length],
  }));
}

/**
 * The grid of the third and fourth held-out sets: −6 dB at three delays on clean, pink and white
 * lines and one other noise (it alternates with the agent answer), then other echo points on clean
 * lines and that other noise.
 */
function mainPointGrid(delays: number[], pink: number, white: number, other: EchoCase['noise'], points: number[][]): GridCell[] {
  const nz = [null, { kind: 'pink', levelDb: pink } as const, { kind: 'white', levelDb: white } as const, other];
  return [...across(delays.map((d) => [-6, d]), nz), ...across(points, [null, other])];
}

/**
 * The third held-out grid (issue 13's barge-in goal, scored once before and once after the
 * sub-band work): −6 dB at 100, 115 and 130 ms on clean lines, pink −41, white −45 and brown −43
 * or hum −40 dBFS; and −4/110, −12/180, −20/90, −30/240 on clean or hum/brown lines; silent and
 * barging callers (at 0, −7, +2 and −12 dB, 600–2500 ms into the answer); other seeds.
 */
function heldOut3Specs(): EchoCaseSpec[] {
  const callers = callerNames('heldout3');
  const gridOf = (agentIndex: number) =>
    mainPointGrid([100, 115, 130], -41, -45, agentIndex % 2 ? { kind: 'brown', levelDb: -43 } : { kind: 'hum', levelDb: -40 }, [[-4, 110], [-12, 180], [-20, 90], [-30, 240]]);
  return pairedSpecs('heldout3', 110_000, gridOf, (k, agentIndex, seed) => ({
    name: callers[(k * 2 + agentIndex) % callers.length],
    afterMs: 600 + ((seed * 89) % 1900),
    gainDb: HELDOUT3_CALLER_GAINS[k % HELDOUT3_CALLER_GAINS.length],
  }));
}

/**
 * The fourth held-out grid (issue 13's barge-in goal, round 2, scored once before and once after):
 * −6 dB at 105, 120 and 135 ms on clean lines, pink −47, white −42 and hum −44 or brown −38 dBFS;
 * and −5/125, −8/95, −14/200, −22/130, −33/70 on clean or hum/brown lines; silent and barging
 * callers (at −2, −9, +4, −6 and −11 dB, 500–2700 ms into the answer); other seeds.
 */
function heldOut4Specs(): EchoCaseSpec[] {
  const callers = callerNames('heldout4');
  const gridOf = (agentIndex: number) =>
    mainPointGrid([105, 120, 135], -47, -42, agentIndex % 2 ? { kind: 'hum', levelDb: -44 } : { kind: 'brown', levelDb: -38 }, [[-5, 125], [-8, 95], [-14, 200], [-22, 130], [-33, 70]]);
  return pairedSpecs('heldout4', 150_000, gridOf, (k, agentIndex, seed) => ({
    name: callers[(k * 3 + agentIndex) % callers.length],
    afterMs: 500 + ((seed * 97) % 2200),
    gainDb: HELDOUT4_CALLER_GAINS[k % HELDOUT4_CALLER_GAINS.length],
  }));
}

/** Callers that are not whole recordings (the held-out sets' cut recordings and eSpeak voices). */
export async function callerAudio(set: FixtureSet): Promise<Record<string, Float64Array>> {
  const out: Record<string, Float64Array> = {};
  const c = CUT_CALLERS[set];
  if (c) {
    for (const [name, from, to] of c.cuts) out[name] = cutAtPause(decode(loadFixture(name)), from, to);
    for (const [name, text, voice, lang, opts] of c.espeak) out[name] = decode(await speak(text, voice, lang, opts));
    return out;
  }
  if (set !== 'heldout') return out;
  for (const name of HELDOUT_RECORDINGS) out[name] = cutAtPause(decode(loadFixture(name)), 800, 1600);
  for (const [name, text, voice, lang] of HELDOUT_ESPEAK) out[name] = decode(await speak(text, voice, lang));
  return out;
}

export async function agentAudio(set: FixtureSet): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const [i, t] of AGENT_TEXT[set].entries()) {
    const v = AGENT_VOICE[set]?.[i];
    out.push(await speak(t, v?.[0], v?.[1], v?.[2]));
  }
  return out;
}

/** eSpeak lines in other languages, summed into babble (never the agent's answers or a caller's words). */
export const BABBLE_LINES = {
  heldout: [
    ['¿A qué hora abren el sábado por la mañana?', 'es', 'es-ES'],
    ['Wann öffnen Sie am Samstag?', 'de', 'de-DE'],
    ['À quelle heure ouvrez-vous le samedi?', 'fr', 'fr-FR'],
    ['A che ora aprite il sabato mattina?', 'it', 'it-IT'],
    ['Hoe laat gaan jullie zaterdag open?', 'nl', 'nl-NL'],
  ],
  // The babble tuning set's talkers (bench/babble-tune.ts): other languages, other words.
  tune: [
    ['O autocarro chega sempre atrasado às segundas-feiras.', 'pt', 'pt-PT'],
    ['Pociąg do Krakowa odjeżdża z peronu trzeciego.', 'pl', 'pl-PL'],
    ['Vi ses på stationen klockan halv fem i morgon.', 'sv', 'sv-SE'],
    ['Huomenna sataa koko päivän etelässä.', 'fi', 'fi-FI'],
    ['Bugün hava çok güzel, parka gidelim mi?', 'tr', 'tr-TR'],
  ],
} as const;

/** Talkers for babble noise: eSpeak in five other languages (never the agent's answers). */
export async function babbleTalkers(set: keyof typeof BABBLE_LINES = 'heldout'): Promise<Float64Array> {
  const parts: Float64Array[] = [];
  for (const [text, voice, lang] of BABBLE_LINES[set]) parts.push(decode(await speak(text, voice, lang)));
  return Float64Array.from(parts.flatMap((p) => Array.from(p)));
}

export interface NoisyLine {
  name: string;
  ulaw: Uint8Array;
  labels: { durationMs: number; speech: Array<{ startMs: number; endMs: number }> };
}

/** Writes noisy lines as `npm run dsp:eval -- --fixtures DIR` reads them: audio and labels per line. */
export function writeLines(dir: string, lines: NoisyLine[]): void {
  mkdirSync(dir, { recursive: true });
  for (const l of lines) {
    writeFileSync(join(dir, `${l.name}.ulaw`), l.ulaw);
    writeFileSync(join(dir, `${l.name}.labels.json`), JSON.stringify(l.labels) + '\n');
  }
}

/**
 * Calls of three utterances picked from `utts` (1 s of line, 1.6 s between them, 1.6 s after),
 * each under every noise kind at 20, 10 and 5 dB SNR (speech RMS over its spans against the
 * noise RMS). `seed` picks the utterances and the noise.
 */
export function noisyLines(prefix: string, utts: Float64Array[], kinds: NoiseKind[], seed: number, babble?: Float64Array): NoisyLine[] {
  const out: NoisyLine[] = [];
  for (const kind of kinds) {
    for (const snr of [20, 10, 5]) {
      const r = rng(seed);
      const picks = [0, 1, 2].map(() => utts[Math.floor(r() * utts.length)]);
      const s = seed++;
      out.push(mixCall(`${prefix}-${kind}-${snr}db`, picks, [1600, 1600, 1600], (n) => noise(kind, n, s, babble), snr));
    }
  }
  return out;
}

/**
 * One call: 1 s of line, then each utterance followed by its pause (`pausesMs`, one per
 * utterance), under `noiseOf(n)` (unit RMS) at `snr` dB (speech RMS over its spans against the
 * noise RMS), labelled.
 */
export function mixCall(name: string, picks: Float64Array[], pausesMs: number[], noiseOf: (n: number) => Float64Array, snr: number): NoisyLine {
  const gaps = pausesMs.map((ms) => Math.round((ms * SR) / 1000));
  const n = SR + picks.reduce((a, p, k) => a + p.length + gaps[k], 0);
  const speech = new Float64Array(n);
  const spans: Array<{ startMs: number; endMs: number }> = [];
  let at = SR;
  picks.forEach((p, k) => {
    speech.set(p, at);
    spans.push({ startMs: Math.round((at / SR) * 1000), endMs: Math.round(((at + p.length) / SR) * 1000) });
    at += p.length + gaps[k];
  });
  let sp = 0;
  let cnt = 0;
  for (const s of spans) {
    const a = Math.round((s.startMs * SR) / 1000);
    const b = Math.min(n, Math.round((s.endMs * SR) / 1000));
    for (let i = a; i < b; i++) sp += speech[i] * speech[i];
    cnt += b - a;
  }
  const speechRms = Math.sqrt(sp / cnt);
  const z = noiseOf(n);
  const g = speechRms / 10 ** (snr / 20);
  const line = new Float64Array(n);
  for (let i = 0; i < n; i++) line[i] = 0.5 * (speech[i] + g * z[i]);
  return { name, ulaw: encode(line), labels: { durationMs: Math.round((n / SR) * 1000), speech: spans } };
}

/**
 * Held-out noisy lines for `npm run dsp:eval -- --fixtures DIR`: caller recordings the tuning never
 * used as whole calls (human-utt3, human-utt4 and eSpeak questions in five languages), with noises
 * other than the committed pink mixes (white, brown, babble, hum) at 20, 10 and 5 dB SNR.
 */
export async function heldOutLines(): Promise<NoisyLine[]> {
  const utts = [decode(loadFixture('human-utt3')), decode(loadFixture('human-utt4'))];
  for (const lang of ['en', 'es', 'de', 'cmn', 'yue']) utts.push(decode(loadFixture(`tts-${lang}-hours`)));
  return noisyLines('heldout', utts, ['white', 'brown', 'babble', 'hum'], 9000, await babbleTalkers('heldout'));
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--out');
  const root = i > 0 ? process.argv[i + 1] : 'data/fixtures';
  for (const set of ['tune', 'test', 'heldout', 'heldout2', 'heldout3', 'heldout4'] as const) {
    const dir = join(root, `echo-${set}`);
    mkdirSync(dir, { recursive: true });
    const agents = await agentAudio(set);
    const callers = await callerAudio(set);
    for (const spec of echoSpecs(set)) {
      const c = buildEchoCase(spec, agents[spec.agentIndex], undefined, callers);
      writeFileSync(join(dir, `${c.id}.ulaw`), c.line);
      const { line: _l, agent: _a, ...meta } = c;
      writeFileSync(join(dir, `${c.id}.json`), JSON.stringify(meta) + '\n');
    }
    const cutCallers = CUT_CALLERS[set];
    writeFileSync(join(dir, 'agent.json'), JSON.stringify({ texts: AGENT_TEXT[set], callers: set === 'tune' || set === 'test' ? CALLER[set] : cutCallers ? [...cutCallers.cuts, ...cutCallers.espeak] : [...HELDOUT_RECORDINGS, ...HELDOUT_ESPEAK] }, null, 2) + '\n');
    console.log(`wrote ${echoSpecs(set).length} echo cases to ${dir}`);
  }
  const dir = join(root, 'noise-heldout');
  writeLines(dir, await heldOutLines());
  console.log(`wrote held-out noisy lines to ${dir} (score them: npm run dsp:eval -- --fixtures ${dir})`);
  await EspeakTts.shutdown();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
