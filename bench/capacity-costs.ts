// CPU per frame of what a Media Streams frame costs, stage by stage, for the capacity analysis
// (bench/README.md, Scale-out): process.cpuUsage() over many frames on this thread, so the figure is CPU
// time, not wall time, and holds up on a shared machine.
//   npx tsx bench/capacity-costs.ts        → prints a table, writes bench/results/capacity-costs.json
//   (BENCH_COSTS_OUT=other.json: bench/results/other.json instead)
// Stages: Twilio message parse (the media fast path, and the general JSON path), the DSP core per frame on real speech with
// Silero VAD by batch size (calls per task, one frame each) and with WebRTC VAD, the echo
// canceller while agent audio plays (no echo on the line, as in the load bench), and one
// round trip through a DSP shard's pool of one thread (what each task costs on top of its frames).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Piscina } from 'piscina';
import { parseInbound, parseInboundGeneral } from '../engine/twilio/media-protocol.ts';
import { DspCore, encodeOptions, FRAME_BYTES, loadDsp } from '../workers/dsp-core.ts';
import { EchoCanceller } from '../workers/echo.ts';
import { ULAW_TO_PCM } from '../adapters/kit/ulaw.ts';

const speech = new Uint8Array(readFileSync(new URL('../test/fixtures/audio/call-3turns.ulaw', import.meta.url)));
const agent = new Uint8Array(readFileSync(new URL('../test/fixtures/audio/tts-en-hours.ulaw', import.meta.url)));
const FRAMES = Math.floor(speech.length / FRAME_BYTES);
const rows: Array<{ stage: string; usPerFrame: number; note: string }> = [];

/** CPU µs per unit of `fn()` run `reps` times, each doing `units` units (after a warm-up). */
function cpuPer(units: number, reps: number, fn: () => void): number {
  for (let i = 0; i < Math.max(5, reps / 10); i++) fn();
  const t0 = process.cpuUsage();
  for (let i = 0; i < reps; i++) fn();
  const u = process.cpuUsage(t0);
  return Math.round(((u.user + u.system) / (units * reps)) * 100) / 100;
}

// 1. The Twilio media message, as uWebSockets.js hands it over.
const payload = Buffer.from(speech.subarray(0, FRAME_BYTES)).toString('base64');
const msgs = Array.from({ length: 500 }, (_, i) => new TextEncoder().encode(`{"event":"media","sequenceNumber":"${i + 2}","streamSid":"MZ${'0'.repeat(32)}","media":{"track":"inbound","chunk":"${i + 1}","timestamp":"${i * 20}","payload":"${payload}"}}`).buffer);
rows.push({ stage: 'media message parse (Twilio-shaped: fast path + base64 + checks)', usPerFrame: cpuPer(msgs.length, 200, () => msgs.forEach((m) => parseInbound(m, false, 65536))), note: 'main thread' });
rows.push({ stage: 'media message parse, general path (JSON.parse + base64 + checks)', usPerFrame: cpuPer(msgs.length, 200, () => msgs.forEach((m) => parseInboundGeneral(m, false, 65536))), note: 'main thread: what every media message cost before the fast path' });

// 2. The DSP core: every call one frame per task, each on its own point of the recording.
await loadDsp();
function dspCost(calls: number, vad: 'silero' | 'webrtc'): number {
  const core = new DspCore();
  const mode = encodeOptions({ denoise: 'off', vadMode: 2, vad });
  const at = Array.from({ length: calls }, (_, c) => (c * 97) % FRAMES);
  const ids = Uint32Array.from({ length: calls }, (_, c) => c + 1);
  const task = () => {
    const ulaw = new Uint8Array(calls * FRAME_BYTES);
    for (let c = 0; c < calls; c++) {
      ulaw.set(speech.subarray(at[c] * FRAME_BYTES, (at[c] + 1) * FRAME_BYTES), c * FRAME_BYTES);
      at[c] = (at[c] + 1) % FRAMES;
    }
    core.processBatch({ ulaw, ids, counts: new Uint32Array(calls).fill(1), modes: new Uint8Array(calls).fill(mode), closed: [] });
  };
  return cpuPer(calls, Math.max(50, Math.round(40_000 / calls)), task);
}
for (const n of [10, 50, 125, 250, 500]) rows.push({ stage: `DSP frame, Silero VAD, ${n} calls per task`, usPerFrame: dspCost(n, 'silero'), note: 'DSP worker; windows under −55 dBFS skip the model' });
rows.push({ stage: 'DSP frame, WebRTC VAD, 125 calls per task', usPerFrame: dspCost(125, 'webrtc'), note: 'DSP worker' });

// 3. The echo canceller while the agent's audio plays, the line carrying the caller's speech only.
{
  const calls = 50;
  const ecs = Array.from({ length: calls }, () => new EchoCanceller());
  const pcm = new Int16Array(FRAME_BYTES);
  const info = { echoShare: 0, echoDb: 0, active: false };
  const frames = Math.floor(agent.length / FRAME_BYTES);
  let k = 0;
  const step = () => {
    for (let c = 0; c < calls; c++) {
      if (k === 0) ecs[c].queue(agent);
      const off = ((k + c * 131) % FRAMES) * FRAME_BYTES;
      for (let i = 0; i < FRAME_BYTES; i++) pcm[i] = ULAW_TO_PCM[speech[off + i]];
      ecs[c].process(pcm, 0, info);
    }
    k = (k + 1) % frames;
  };
  // One whole answer first (delay searches, filter start-up, JIT), then three measured.
  for (let i = 0; i < frames; i++) step();
  const usPerFrame = cpuPer(calls, 3 * frames, step);
  rows.push({ stage: 'echo canceller, agent audio playing (no echo on the line)', usPerFrame, note: 'DSP worker, on top of the VAD; idle: one comparison' });
}

// 4. A round trip through a DSP shard's Piscina pool (the real worker, a task with no frames).
{
  const pool = new Piscina({ filename: new URL('../workers/dsp-entry.mjs', import.meta.url).href, minThreads: 1, maxThreads: 1, execArgv: [] });
  const empty = () => ({ ulaw: new Uint8Array(0), ids: new Uint32Array(0), counts: new Uint32Array(0), modes: new Uint8Array(0), closed: [] });
  await pool.run(empty());
  const n = 2000;
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    await pool.run(empty());
    await new Promise((r) => setTimeout(r, 1)); // one task at a time, the worker idle in between, as a shard's is
  }
  const u = process.cpuUsage(t0);
  rows.push({ stage: 'DSP task round trip, no frames (both threads, incl. a 1 ms timer)', usPerFrame: Math.round(((u.user + u.system) / n) * 10) / 10, note: 'per task, not per frame' });
  await pool.destroy();
}

console.log('| stage | CPU µs per frame | where |\n|---|---|---|');
for (const r of rows) console.log(`| ${r.stage} | ${r.usPerFrame} | ${r.note} |`);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
// BENCH_COSTS_OUT names another file under bench/results/ (e.g. to keep a run beside the one bench/README.md quotes).
const out = process.env.BENCH_COSTS_OUT ?? 'capacity-costs.json';
writeFileSync(new URL(`./results/${out}`, import.meta.url), JSON.stringify({ at: new Date().toISOString(), node: process.version, loadAvg: loadavg().map((l) => Math.round(l * 100) / 100), rows }, null, 2));
