// DSP evaluation: VAD accuracy, utterance boundaries, denoiser SNR gain and CPU cost per frame
// on the labelled call fixtures, for each VAD and denoise setting. Runs the same per-call code as
// the workers (workers/dsp-core.ts) on the main thread, one call at a time, and scores the turns
// the engine's turn detector (engine/call/turn-detector.ts, default settings, no transcripts so
// the default hangover) makes of them. Silero's cost is also measured batched: 32 copies of the
// call through DspCore, one frame each per task, as a loaded shard runs them.
//
//   npx tsx bench/dsp-eval.ts [--vad-mode 0..3] [--fixtures DIR]      (npm run dsp:eval)
//
// --fixtures DIR scores every NAME.ulaw with a NAME.labels.json in DIR instead (e.g. the held-out
// noisy lines written by bench/make-echo-fixtures.ts). Prints a markdown table and writes
// bench/results/dsp-eval.json (or dsp-eval-<dir name>.json).
import { readFileSync, mkdirSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CallDsp, DspCore, FRAME_BYTES, loadDsp, encodeOptions } from '../workers/dsp-core.ts';
import { ULAW_TO_PCM } from '../adapters/kit/ulaw.ts';
import type { DenoiseMode, DspOptions, VadKind } from '../workers/types.ts';
import { turnDetectorFor, type TurnDetector } from '../engine/call/turn-detector.ts';
import { ConfigSchema } from '../engine/config.ts';

const FRAME_MS = 20;
/** Reference turn rule (same as the turn detector's defaults): an utterance starts after
 *  100 ms of consecutive speech frames and ends after 500 ms of consecutive non-speech.
 *  Reported boundaries are back-dated to the first speech / first non-speech frame. */
const START_FRAMES = 100 / FRAME_MS;
const END_FRAMES = 500 / FRAME_MS;
/** Lag search for SNR alignment (denoisers delay the signal by up to ~20 ms). */
const MAX_LAG = 8000 * 0.04;

interface Span {
  startMs: number;
  endMs: number;
}
interface Labels {
  durationMs: number;
  speech: Span[];
}

const FIXTURES = ['call-3turns', 'call-3turns-pink20db', 'call-3turns-pink10db', 'call-3turns-pink5db'] as const;
/** VAD × denoise settings evaluated. */
const SETTINGS: Array<{ vad: VadKind; denoise: DenoiseMode }> = [
  { vad: 'webrtc', denoise: 'off' },
  { vad: 'webrtc', denoise: 'spectral' },
  { vad: 'webrtc', denoise: 'rnnoise' },
  { vad: 'silero', denoise: 'off' },
  { vad: 'silero', denoise: 'spectral' },
];
let fixtureDir = new URL('../test/fixtures/audio/', import.meta.url);

function fixture(name: string, ext: string): URL {
  return new URL(`${name}${ext}`, fixtureDir);
}

/** The engine's default turn detector for a VAD (config defaults; no transcript, so the default hangover). */
export function defaultDetector(vad: VadKind): TurnDetector {
  return turnDetectorFor({ ...ConfigSchema.parse({}), DSP_VAD: vad });
}

/** Frame i is speech when its centre lies inside a labelled span. */
export function frameLabels(labels: Labels, frames: number): Uint8Array {
  const out = new Uint8Array(frames);
  for (let i = 0; i < frames; i++) {
    const t = i * FRAME_MS + FRAME_MS / 2;
    out[i] = labels.speech.some((s) => t >= s.startMs && t < s.endMs) ? 1 : 0;
  }
  return out;
}

/** Applies the reference hangover rule to per-frame flags. */
export function utterances(flags: ArrayLike<number | boolean>): Span[] {
  const spans: Span[] = [];
  let inSpeech = false;
  let run = 0;
  let start = 0;
  for (let i = 0; i < flags.length; i++) {
    const s = Boolean(flags[i]);
    if (!inSpeech) {
      run = s ? run + 1 : 0;
      if (run === START_FRAMES) {
        inSpeech = true;
        start = i - START_FRAMES + 1;
        run = 0;
      }
    } else {
      run = s ? 0 : run + 1;
      if (run === END_FRAMES) {
        spans.push({ startMs: start * FRAME_MS, endMs: (i - END_FRAMES + 1) * FRAME_MS });
        inSpeech = false;
        run = 0;
      }
    }
  }
  if (inSpeech) spans.push({ startMs: start * FRAME_MS, endMs: flags.length * FRAME_MS });
  return spans;
}

const overlaps = (a: Span, b: Span): boolean => a.startMs < b.endMs && b.startMs < a.endMs;

function decodeAll(ulaw: Uint8Array): Float64Array {
  const out = new Float64Array(ulaw.length);
  for (let i = 0; i < ulaw.length; i++) out[i] = ULAW_TO_PCM[ulaw[i]];
  return out;
}

/**
 * Scale-invariant SNR of `y` against the clean reference `s`, at the delay that maximises it:
 * y ≈ a·s(t − lag) + e, a fitted by least squares (the noisy mix is 6 dB quieter than the clean
 * file and denoisers change the gain), SNR = 10·log10(‖a·s‖² / ‖e‖²).
 */
export function siSnr(s: Float64Array, y: Float64Array): { db: number; lag: number } {
  let best = { db: -Infinity, lag: 0 };
  for (let lag = 0; lag <= MAX_LAG; lag++) {
    const n = Math.min(s.length, y.length - lag);
    let sy = 0;
    let ss = 0;
    let yy = 0;
    for (let i = 0; i < n; i++) {
      const a = s[i];
      const b = y[i + lag];
      sy += a * b;
      ss += a * a;
      yy += b * b;
    }
    if (ss === 0) continue;
    const a = sy / ss;
    const sig = a * a * ss;
    const err = yy - 2 * a * sy + sig;
    const db = 10 * Math.log10(sig / Math.max(err, 1e-9));
    if (db > best.db) best = { db, lag };
  }
  return best;
}

/** RBJ biquad (Q per section; two sections of a 4th-order Butterworth: Q 0.541, 1.307). */
function biquad(x: Float64Array, type: 'hp' | 'lp', f0: number, q: number): Float64Array {
  const w = (2 * Math.PI * f0) / 8000;
  const c = Math.cos(w);
  const al = Math.sin(w) / (2 * q);
  const b0 = type === 'lp' ? (1 - c) / 2 : (1 + c) / 2;
  const b1 = type === 'lp' ? 1 - c : -(1 + c);
  const a0 = 1 + al;
  const a1 = -2 * c;
  const a2 = 1 - al;
  const y = new Float64Array(x.length);
  let x1 = 0;
  let x2 = 0;
  let y1 = 0;
  let y2 = 0;
  for (let i = 0; i < x.length; i++) {
    const v = (b0 * x[i] + b1 * x1 + b0 * x2 - a1 * y1 - a2 * y2) / a0;
    x2 = x1;
    x1 = x[i];
    y2 = y1;
    y1 = v;
    y[i] = v;
  }
  return y;
}

/** Telephone band 300–3400 Hz (4th-order Butterworth high- and low-pass), applied alike to
 *  reference and output so the band edges a resampler drops are not counted as error. */
export function telephoneBand(x: Float64Array): Float64Array {
  return biquad(biquad(biquad(biquad(x, 'hp', 300, 0.541), 'hp', 300, 1.307), 'lp', 3400, 0.541), 'lp', 3400, 1.307);
}

export interface Row {
  fixture: string;
  vad: VadKind;
  denoise: DenoiseMode;
  vadMode: number;
  frames: number;
  accuracy: number;
  precision: number;
  recall: number;
  labelled: number;
  found: number;
  allFound: boolean;
  spurious: number;
  /** Labelled utterances that the rule split into more than one detected utterance. */
  split: number;
  /** Detected turns that ran over more than one labelled utterance (the later ones go unanswered). */
  merged: number;
  startErrMs: (number | null)[];
  endErrMs: (number | null)[];
  snrInDb: number | null;
  snrOutDb: number | null;
  snrGainDb: number | null;
  /** Same, in the telephone band 300–3400 Hz. */
  bandSnrInDb: number | null;
  bandSnrOutDb: number | null;
  bandSnrGainDb: number | null;
  /** Denoised clean file vs itself (telephone band): how much the denoiser distorts speech. */
  cleanSdrDb: number | null;
  delayMs: number | null;
  usPerFrame: number;
  /** Silero only: CPU per frame per call with 32 calls batched in each task. */
  usPerFrameBatched32: number | null;
}

export function evaluate(name: string, opts: DspOptions, clean: Float64Array | null, cleanBand: Float64Array | null): Row {
  const ulaw = new Uint8Array(readFileSync(fixture(name, '.ulaw')));
  const labels = JSON.parse(readFileSync(fixture(name, '.labels.json'), 'utf8')) as Labels;
  const frames = Math.floor(ulaw.length / FRAME_BYTES);
  const dsp = new CallDsp(opts);
  const pcm = new Int16Array(frames * FRAME_BYTES);
  const probs = new Float32Array(frames);
  const levels = new Float32Array(frames);
  // CPU time, not wall time: other processes on a busy machine do not inflate it as much.
  const c0 = process.cpuUsage();
  for (let f = 0; f < frames; f++) {
    levels[f] = dsp.process(ulaw, f * FRAME_BYTES, pcm, f * FRAME_BYTES);
    probs[f] = dsp.lastProb;
  }
  const cpu = process.cpuUsage(c0);
  const usPerFrame = (cpu.user + cpu.system) / frames;
  dsp.free();
  // The engine's endpointing on the DSP output: voiced frames and turns.
  const det = defaultDetector(opts.vad ?? 'webrtc');
  const flags = new Uint8Array(frames);
  const turns: Span[] = [];
  for (let f = 0; f < frames; f++) {
    const e = det.push({ prob: probs[f], levelDb: levels[f] }, f * FRAME_MS);
    flags[f] = det.lastVoiced ? 1 : 0;
    if (e?.type === 'end') turns.push({ startMs: e.startedAt, endMs: e.lastVoiceAt + FRAME_MS });
  }
  if (det.speaking) turns.push({ startMs: lastStart(det, flags), endMs: frames * FRAME_MS });
  const truth = frameLabels(labels, frames);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let f = 0; f < frames; f++) {
    if (flags[f] && truth[f]) tp++;
    else if (flags[f]) fp++;
    else if (truth[f]) fn++;
    else tn++;
  }
  const found_ = turns;
  const startErrMs: (number | null)[] = [];
  const endErrMs: (number | null)[] = [];
  let found = 0;
  let split = 0;
  for (const l of labels.speech) {
    const hits = found_.filter((d) => overlaps(d, l));
    if (hits.length === 0) {
      startErrMs.push(null);
      endErrMs.push(null);
      continue;
    }
    found++;
    if (hits.length > 1) split++;
    startErrMs.push(hits[0].startMs - l.startMs);
    endErrMs.push(hits[hits.length - 1].endMs - l.endMs);
  }
  const spurious = found_.filter((d) => !labels.speech.some((l) => overlaps(d, l))).length;
  const merged = found_.filter((d) => labels.speech.filter((l) => overlaps(d, l)).length > 1).length;

  let snrInDb: number | null = null;
  let snrOutDb: number | null = null;
  let bandSnrInDb: number | null = null;
  let bandSnrOutDb: number | null = null;
  let cleanSdrDb: number | null = null;
  let delayMs: number | null = null;
  const out = Float64Array.from(pcm);
  if (clean && cleanBand && name !== 'call-3turns') {
    const input = decodeAll(ulaw);
    snrInDb = siSnr(clean, input).db;
    const o = siSnr(clean, out);
    snrOutDb = o.db;
    delayMs = (o.lag / 8000) * 1000;
    bandSnrInDb = siSnr(cleanBand, telephoneBand(input)).db;
    bandSnrOutDb = siSnr(cleanBand, telephoneBand(out)).db;
  } else if (cleanBand && opts.denoise !== 'off') {
    cleanSdrDb = siSnr(cleanBand, telephoneBand(out)).db;
  }
  const r2 = (x: number): number => Math.round(x * 100) / 100;
  return {
    fixture: name,
    vad: opts.vad ?? 'webrtc',
    denoise: opts.denoise,
    vadMode: opts.vadMode,
    frames,
    accuracy: r2((tp + tn) / frames),
    precision: r2(tp / Math.max(1, tp + fp)),
    recall: r2(tp / Math.max(1, tp + fn)),
    labelled: labels.speech.length,
    found,
    allFound: found === labels.speech.length,
    spurious,
    split,
    merged,
    startErrMs,
    endErrMs,
    snrInDb: snrInDb === null ? null : r2(snrInDb),
    snrOutDb: snrOutDb === null ? null : r2(snrOutDb),
    snrGainDb: snrInDb === null || snrOutDb === null ? null : r2(snrOutDb - snrInDb),
    bandSnrInDb: bandSnrInDb === null ? null : r2(bandSnrInDb),
    bandSnrOutDb: bandSnrOutDb === null ? null : r2(bandSnrOutDb),
    bandSnrGainDb: bandSnrInDb === null || bandSnrOutDb === null ? null : r2(bandSnrOutDb - bandSnrInDb),
    cleanSdrDb: cleanSdrDb === null ? null : r2(cleanSdrDb),
    delayMs,
    usPerFrame: r2(usPerFrame),
    usPerFrameBatched32: opts.vad === 'silero' ? r2(batchedCost(ulaw, opts, 32)) : null,
  };
}

/** Start of the turn still open at the end of the file: its first voiced frame. */
function lastStart(det: TurnDetector, flags: Uint8Array): number {
  void det;
  let i = flags.length - 1;
  while (i > 0 && !(flags[i] && !flags[i - 1])) i--;
  return i * FRAME_MS;
}

/** CPU µs per frame per call when `calls` copies run through one DspCore, one frame each per task. */
function batchedCost(ulaw: Uint8Array, opts: DspOptions, calls: number): number {
  const core = new DspCore();
  const frames = Math.min(500, Math.floor(ulaw.length / FRAME_BYTES));
  const ids = Uint32Array.from({ length: calls }, (_, i) => i + 1);
  const counts = new Uint32Array(calls).fill(1);
  const modes = new Uint8Array(calls).fill(encodeOptions(opts));
  const c0 = process.cpuUsage();
  for (let f = 0; f < frames; f++) {
    const task = new Uint8Array(calls * FRAME_BYTES);
    for (let c = 0; c < calls; c++) task.set(ulaw.subarray(f * FRAME_BYTES, (f + 1) * FRAME_BYTES), c * FRAME_BYTES);
    core.processBatch({ ulaw: task, ids, counts, modes: modes.slice(), closed: [] });
  }
  const cpu = process.cpuUsage(c0);
  for (const id of ids) core.close(id);
  return (cpu.user + cpu.system) / frames / calls;
}

function table(rows: Row[]): string {
  const fmt = (xs: (number | null)[]): string => xs.map((x) => (x === null ? '–' : String(x))).join(' / ');
  const lines = [
    '| fixture | VAD | denoise | acc | prec | rec | found | spurious | split | merged | start err ms | end err ms | SNR in → out (gain) dB | band SNR in → out (gain) dB | CPU µs/frame (1 call / 32 batched) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const gain = (i: number | null, o: number | null, g: number | null): string =>
      g === null ? '–' : `${i} → ${o} (${g >= 0 ? '+' : ''}${g})`;
    const snr = gain(r.snrInDb, r.snrOutDb, r.snrGainDb);
    const band = r.cleanSdrDb !== null ? `clean SDR ${r.cleanSdrDb}` : gain(r.bandSnrInDb, r.bandSnrOutDb, r.bandSnrGainDb);
    lines.push(
      `| ${r.fixture} | ${r.vad} | ${r.denoise} | ${r.accuracy} | ${r.precision} | ${r.recall} | ${r.found}/${r.labelled} | ${r.spurious} | ${r.split} | ${r.merged} | ${fmt(r.startErrMs)} | ${fmt(r.endErrMs)} | ${snr} | ${band} | ${r.usPerFrame}${r.usPerFrameBatched32 === null ? '' : ` / ${r.usPerFrameBatched32}`} |`,
    );
  }
  return lines.join('\n');
}

function parseArgs(argv: string[]): { vadMode: DspOptions['vadMode']; dir?: string } {
  let vadMode: DspOptions['vadMode'] = 2;
  let dir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--vad-mode') {
      const v = Number(argv[++i]);
      if (!(v === 0 || v === 1 || v === 2 || v === 3)) throw new Error('--vad-mode takes 0, 1, 2 or 3');
      vadMode = v;
    } else if (argv[i] === '--fixtures') {
      dir = argv[++i];
      if (!dir || !existsSync(dir)) throw new Error(`--fixtures needs a directory, got ${String(dir)}`);
    } else if (argv[i] === '--help' || argv[i] === '-h') {
      console.log('usage: npx tsx bench/dsp-eval.ts [--vad-mode 0..3] [--fixtures DIR]');
      process.exit(0);
    } else {
      throw new Error(`unknown argument: ${argv[i]}`);
    }
  }
  return { vadMode, dir };
}

async function main(): Promise<void> {
  const { vadMode, dir } = parseArgs(process.argv.slice(2));
  await loadDsp();
  let names: string[] = [...FIXTURES];
  let clean: Float64Array | null = decodeAll(new Uint8Array(readFileSync(fixture('call-3turns', '.ulaw'))));
  let cleanBand: Float64Array | null = telephoneBand(clean);
  if (dir) {
    fixtureDir = pathToFileURL(join(dir, '/'));
    names = readdirSync(dir).filter((f) => f.endsWith('.labels.json') && existsSync(join(dir, f.replace('.labels.json', '.ulaw')))).map((f) => f.replace('.labels.json', '')).sort();
    clean = cleanBand = null; // no clean reference for SNR figures
  }
  // Warm the JIT so the first row's CPU figure is not a cold start.
  for (const st of SETTINGS) evaluate(names[0], { ...st, vadMode }, clean, cleanBand);
  const rows: Row[] = [];
  for (const name of names) for (const st of SETTINGS) rows.push(evaluate(name, { ...st, vadMode }, clean, cleanBand));
  console.log(`DSP eval (WebRTC vadMode ${vadMode}; turns by the engine's turn detector with its defaults, ${ConfigSchema.parse({}).TURN_END_SILENCE_MS} ms hangover)\n`);
  console.log(table(rows));
  const summary = SETTINGS.map((st) => {
    const rs = rows.filter((r) => r.vad === st.vad && r.denoise === st.denoise);
    return `${st.vad}+${st.denoise}: every utterance found ${rs.every((r) => r.allFound) ? 'yes' : 'NO'}, none split ${rs.every((r) => r.split === 0) ? 'yes' : 'NO'}, merged ${rs.reduce((a, r) => a + r.merged, 0)}, spurious ${rs.reduce((a, r) => a + r.spurious, 0)}`;
  });
  console.log('\n' + summary.join('\n'));
  const ok = rows.filter((r) => r.vad === 'silero' && r.denoise === 'off').every((r) => r.allFound && r.split === 0 && r.merged === 0 && r.spurious === 0);
  const out = new URL(dir ? `./results/dsp-eval-${basename(dir)}.json` : './results/dsp-eval.json', import.meta.url);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        node: process.version,
        vadMode,
        rule: 'engine turn detector, config defaults (no transcript: default hangover); start = first voiced frame, end = last voiced frame',
        snrMethod:
          'scale-invariant SNR vs call-3turns.ulaw (the clean source of the noisy mixes): least-squares gain, best lag 0..40 ms; band* = same after a 300-3400 Hz band-pass on both signals',
        rows,
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`wrote ${fileURLToPath(out)}`);
  if (!ok) process.exitCode = 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
