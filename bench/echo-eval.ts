// Echo-safe barge-in, offline: the cases of bench/echo-fixtures.ts (the agent's eSpeak audio
// echoed at −6…−40 dB with 60…250 ms delay onto clean and noisy lines, with and without a caller
// really talking over it) run through the same per-call DSP as the shards (workers/dsp-core.ts:
// the agent's audio queued as the echo canceller's reference when it starts playing) and the
// engine's turn detector with its default settings. Barge-in is the engine's rule: voiced speech
// of BARGE_IN_MIN_SPEECH_MS while the agent plays.
//
//   npx tsx bench/echo-eval.ts [--set tune|test|heldout|heldout2|heldout3|heldout4] [--settings silero+aec,webrtc+aec,silero,webrtc] [--out FILE]
//
// The turn detector takes TURN_* and BARGE_IN_* settings from the environment, as the engine does
// (e.g. BARGE_IN_ECHO_SHARE=1 turns the band-by-band test off). Reports, per setting: false barge-ins per minute of agent speech (silent callers, and before the
// caller starts), real barge-ins detected, and reaction time from the start of the overlapping
// speech to the barge-in decision (p50/p95/max), overall and at −6 dB / 120 ms. Writes
// bench/results/echo-eval-<set>.json. Thresholds were tuned on `tune`, `test` and (after its
// first scoring) `heldout`; `heldout2` is scored only before and after a change (bench/echo-fixtures.ts). Each set in its own process: eSpeak's output depends on
// what the process synthesised before, so the fixtures are only the same from a fresh start.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CallDsp, FRAME_BYTES, loadDsp } from '../workers/dsp-core.ts';
import type { VadKind } from '../workers/types.ts';
import { EspeakTts } from '../adapters/local/espeak-tts.ts';
import { ConfigSchema } from '../engine/config.ts';
import { turnDetectorFor } from '../engine/call/turn-detector.ts';
import { agentAudio, buildEchoCase, callerAudio, echoSpecs, type EchoCase, type FixtureSet } from './echo-fixtures.ts';

const FRAME_MS = 20;

interface Setting {
  id: string;
  vad: VadKind;
  aec: boolean;
}

export interface CaseResult {
  id: string;
  gainDb: number;
  delayMs: number;
  noisy: boolean;
  agentMs: number;
  /** Barge-ins decided while only the agent's echo was on the line. */
  falseBargeIns: number;
  /** Real barge-in: ms from the caller's first speech to the decision (null: missed, or no caller). */
  reactionMs: number | null;
  barge: boolean;
  /** CPU spent in the DSP (decode, echo canceller, VAD) over the frames while the agent played, µs. */
  dspUs: number;
  dspFrames: number;
}

/** The turn-taking settings from the environment (TURN_*, BARGE_IN_*), as the engine takes them; the defaults otherwise. */
const TURN_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('TURN_') || k.startsWith('BARGE_IN_')));

/** Runs one case; the agent's playback is cleared at a barge-in decision, as the engine does. */
export function runCase(c: EchoCase, s: Setting): CaseResult {
  const config = ConfigSchema.parse(TURN_ENV);
  const dsp = new CallDsp({ denoise: 'off', vadMode: 2, vad: s.vad });
  const det = turnDetectorFor({ ...config, DSP_VAD: s.vad });
  const frames = Math.floor(c.line.length / FRAME_BYTES);
  const pcm = new Int16Array(FRAME_BYTES);
  const agentFrame = Math.round(c.agentAtMs / FRAME_MS);
  let playing = false;
  let playEndMs = Infinity;
  let falseBargeIns = 0;
  let reactionMs: number | null = null;
  let counted = false;
  let dspUs = 0;
  let dspFrames = 0;
  for (let f = 0; f < frames; f++) {
    const t = f * FRAME_MS;
    if (f === agentFrame) {
      if (s.aec) dsp.queuePlayout(c.agent);
      playing = true;
      playEndMs = c.agentSpan.endMs;
    }
    if (playing && t >= playEndMs) playing = false;
    const c0 = playing ? process.cpuUsage() : undefined;
    const levelDb = dsp.process(c.line, f * FRAME_BYTES, pcm, 0);
    if (c0) {
      const d = process.cpuUsage(c0);
      dspUs += d.user + d.system;
      dspFrames++;
    }
    const e = det.push({ prob: dsp.lastProb, levelDb, echoDb: dsp.lastEchoDb, echoShare: dsp.lastEchoShare }, t);
    if (e?.type === 'end') counted = false;
    if (e?.type !== 'voiced' || counted || !playing || e.voicedMs < config.BARGE_IN_MIN_SPEECH_MS) continue;
    counted = true;
    // The caller's recording is on the line (its breath before the first syllable included).
    const callerOn = c.caller !== null && t >= c.caller.fileStartMs;
    if (callerOn) {
      reactionMs ??= t + FRAME_MS - c.caller!.startMs;
      // The engine clears playback: the rest of the answer never plays.
      playing = false;
      dsp.clearPlayout();
    } else falseBargeIns++;
  }
  dsp.free();
  return {
    id: c.id,
    gainDb: c.gainDb,
    delayMs: c.delayMs,
    noisy: c.noise !== null,
    agentMs: c.agentSpan.endMs - c.agentSpan.startMs,
    falseBargeIns,
    reactionMs,
    barge: c.caller !== null,
    dspUs,
    dspFrames,
  };
}

const pct = (xs: number[], p: number): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]);
};

export function summarise(rs: CaseResult[]): Record<string, number | string | null> {
  // Agent speech heard with no caller: silent cases whole, barge-in cases up to the caller.
  const agentMin = rs.reduce((a, r) => a + r.agentMs, 0) / 60_000;
  const falses = rs.reduce((a, r) => a + r.falseBargeIns, 0);
  const barges = rs.filter((r) => r.barge);
  const hits = barges.filter((r) => r.reactionMs !== null).map((r) => r.reactionMs!);
  return {
    cases: rs.length,
    agentSpeechMin: Math.round(agentMin * 100) / 100,
    falseBargeIns: falses,
    falsePerMin: Math.round((falses / Math.max(agentMin, 1e-9)) * 100) / 100,
    bargeInsDetected: `${hits.length}/${barges.length}`,
    reactionP50: pct(hits, 50),
    reactionP95: pct(hits, 95),
    reactionMax: hits.length ? Math.max(...hits) : null,
    usPerFrameWhileAgentPlays: Math.round((rs.reduce((a, r) => a + r.dspUs, 0) / Math.max(1, rs.reduce((a, r) => a + r.dspFrames, 0))) * 10) / 10,
  };
}

const SETTINGS: Record<string, Setting> = {
  'silero+aec': { id: 'silero+aec', vad: 'silero', aec: true },
  'webrtc+aec': { id: 'webrtc+aec', vad: 'webrtc', aec: true },
  silero: { id: 'silero', vad: 'silero', aec: false },
  webrtc: { id: 'webrtc', vad: 'webrtc', aec: false },
};

async function main(): Promise<void> {
  const arg = (k: string, d: string) => {
    const i = process.argv.indexOf(k);
    return i > 0 ? process.argv[i + 1] : d;
  };
  const set = arg('--set', 'test') as FixtureSet;
  const settings = arg('--settings', 'silero+aec,webrtc+aec,silero,webrtc').split(',').map((k) => {
    if (!SETTINGS[k]) throw new Error(`unknown setting ${k}; known: ${Object.keys(SETTINGS).join(', ')}`);
    return SETTINGS[k];
  });
  await loadDsp();
  const agents = await agentAudio(set);
  const callers = await callerAudio(set);
  await EspeakTts.shutdown();
  const cases = echoSpecs(set).map((s) => buildEchoCase(s, agents[s.agentIndex], undefined, callers));
  const out: Record<string, unknown> = {};
  console.log(`echo eval, set "${set}": ${cases.length} cases (gains ${[...new Set(cases.map((c) => c.gainDb))].join('/')} dB, delays ${[...new Set(cases.map((c) => c.delayMs))].sort((a, b) => a - b).join('/')} ms)\n`);
  console.log('| setting | slice | cases | agent speech min | false barge-ins | per min | real barge-ins cleared | reaction p50 / p95 / max ms | DSP µs/frame while the agent plays |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const s of settings) {
    const rs = cases.map((c) => runCase(c, s));
    const slices: Record<string, CaseResult[]> = {
      all: rs,
      '−6 dB': rs.filter((r) => r.gainDb === -6),
      '−6 dB, 120 ms': rs.filter((r) => r.gainDb === -6 && r.delayMs === 120),
      '−6 dB, 100–140 ms': rs.filter((r) => r.gainDb === -6 && r.delayMs >= 100 && r.delayMs <= 140),
      'below −6 dB': rs.filter((r) => r.gainDb < -6),
      noisy: rs.filter((r) => r.noisy),
    };
    const sum: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(slices)) {
      if (v.length === 0) continue;
      const m = summarise(v);
      sum[k] = m;
      console.log(`| ${s.id} | ${k} | ${m.cases} | ${m.agentSpeechMin} | ${m.falseBargeIns} | ${m.falsePerMin} | ${m.bargeInsDetected} | ${m.reactionP50 ?? '–'} / ${m.reactionP95 ?? '–'} / ${m.reactionMax ?? '–'} | ${m.usPerFrameWhileAgentPlays} |`);
    }
    out[s.id] = { summary: sum, cases: rs };
  }
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = process.argv.includes('--out') ? new URL(arg('--out', ''), `file://${process.cwd()}/`) : new URL(`./results/echo-eval-${set}.json`, import.meta.url);
  writeFileSync(file, JSON.stringify({ generatedAt: new Date().toISOString(), node: process.version, set, settings: out }, null, 1) + '\n');
  console.log(`\nwrote ${fileURLToPath(file)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
