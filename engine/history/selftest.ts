// POST /selftest: one simulated call of each mode through the engine's real pipeline, in this
// process. The bench's simulators play Twilio's side over loopback to the engine's own sockets
// (bench/load/twilio-sim.ts: Media Streams, with caller speech synthesized by the workflow's TTS;
// bench/load/relay-sim.ts: ConversationRelay prompts), and the report gives each caller turn's
// stage timings, as the engine measured them, against PERFORMANCE_TARGET_LATENCY and
// PERFORMANCE_MAX_LATENCY. The calls are real calls: they are recorded in the call history, with
// direction "selftest" (left out of the trends). With TWILIO_AUTH_TOKEN set, both simulators sign
// the webhook and the socket upgrade as Twilio does, so the engine's signature checks run too.
import type { Engine } from '../engine.ts';
import type { Workflow } from '../workflow.ts';
import type { TurnLatency, TurnRecord } from '../call/turn-record.ts';
import { chainVoice } from '../language/registry.ts';
import { SELFTEST_PARAMETER } from './recorder.ts';

export type SelfTestMode = 'media' | 'relay';

export interface StageTiming {
  stage: keyof TurnLatency;
  ms: number;
  /** Share of PERFORMANCE_TARGET_LATENCY this stage took, percent. */
  ofTargetPct: number;
}

export interface SelfTestTurn {
  index: number;
  said?: string;
  answer?: string;
  source?: string;
  stages: StageTiming[];
  turnMs?: number;
  /** pass: turn ≤ target · slow: ≤ max · fail: over max, or no answer. */
  verdict: 'pass' | 'slow' | 'fail';
}

export interface SelfTestLeg {
  mode: SelfTestMode;
  workflow?: string;
  callSid?: string;
  ok: boolean;
  error?: string;
  turns: SelfTestTurn[];
  /** Media Streams: the simulator's own view, from the end of the caller's audio to the first agent audio (includes the endpointing hangover and loopback). */
  callerPerceivedMs?: number;
  durationMs: number;
}

export interface SelfTestReport {
  at: string;
  targets: { turnMs: number; maxMs: number };
  pass: boolean;
  legs: SelfTestLeg[];
}

const STAGES: Array<keyof TurnLatency> = ['hangoverMs', 'sttMs', 'responseMs', 'ttsMs', 'sendMs', 'turnMs', 'overheadMs'];

function judge(turns: readonly TurnRecord[], said: string, targetMs: number, maxMs: number): SelfTestTurn[] {
  return turns
    .filter((t) => t.index > 0)
    .map((t) => {
      const stages = STAGES.filter((s) => t.latency[s] !== undefined).map((stage) => ({ stage, ms: t.latency[stage]!, ofTargetPct: Math.round((1000 * t.latency[stage]!) / targetMs) / 10 }));
      const ms = t.latency.turnMs;
      const verdict = ms === undefined ? 'fail' : ms <= targetMs ? 'pass' : ms <= maxMs ? 'slow' : 'fail';
      return { index: t.index, said: t.user ?? said, answer: t.answer, source: t.source, stages, turnMs: ms, verdict };
    });
}

/** The question a self-test asks: the workflow's first FAQ question, else a generic one. */
const question = (wf: Workflow) => wf.faq[0]?.question ?? 'What are your opening hours?';

async function synthesizeCaller(engine: Engine, wf: Workflow, text: string): Promise<Uint8Array> {
  const tts = engine.providersFor(wf).tts;
  const voice = wf.voices[wf.language] ?? chainVoice(wf.language, tts.name) ?? '';
  const parts: Uint8Array[] = [];
  const signal = AbortSignal.timeout(20_000);
  for await (const a of tts.synthesize({ ctx: { callId: 'selftest-caller', workflow: wf.id, language: wf.language, parameters: {} }, text, voice, language: wf.language, signal })) parts.push(a);
  return Buffer.concat(parts);
}

async function mediaLeg(engine: Engine, baseUrl: string): Promise<SelfTestLeg> {
  const t0 = performance.now();
  const { config } = engine;
  const wf = [engine.workflow(undefined), ...engine.workflows.values()].find((w) => w?.mode === 'media');
  if (!wf) return { mode: 'media', ok: false, error: 'no Media Streams workflow', turns: [], durationMs: 0 };
  const leg: SelfTestLeg = { mode: 'media', workflow: wf.id, ok: false, turns: [], durationMs: 0 };
  try {
    const { simulateCall } = await import('../../bench/load/twilio-sim.ts');
    const said = question(wf);
    const speech = await synthesizeCaller(engine, wf, said);
    const lead = 8000; // 1 s of line silence before the caller speaks (μ-law silence is 0xff)
    const audio = new Uint8Array(lead + speech.length).fill(0xff);
    audio.set(speech, lead);
    // Signed like Twilio's when TWILIO_AUTH_TOKEN is set: the engine checks them as it would any call's.
    const r = await simulateCall({ baseUrl, workflow: wf.id, audio, transcripts: [said], parameters: { [SELFTEST_PARAMETER]: '1' }, speed: 1, tailMs: 4000, authToken: config.TWILIO_AUTH_TOKEN, publicHost: config.PUBLIC_HOST });
    leg.callSid = r.callSid;
    leg.callerPerceivedMs = r.responseAfter(audio.length / 8);
    const call = engine.registry.recentMedia.get(r.callSid);
    leg.turns = judge(call?.turns ?? [], said, config.PERFORMANCE_TARGET_LATENCY, config.PERFORMANCE_MAX_LATENCY);
    leg.ok = leg.turns.length > 0;
    if (!leg.ok) leg.error = `no caller turn was answered (socket closed with ${r.closeCode} ${r.closeReason ?? ''})`.trim();
  } catch (e) {
    leg.error = (e as Error).message;
  }
  leg.durationMs = Math.round(performance.now() - t0);
  return leg;
}

async function relayLeg(engine: Engine, baseUrl: string): Promise<SelfTestLeg> {
  const t0 = performance.now();
  const { config } = engine;
  const wf = [...engine.workflows.values()].find((w) => w.mode === 'relay');
  if (!wf) return { mode: 'relay', ok: false, error: 'no ConversationRelay workflow', turns: [], durationMs: 0 };
  const leg: SelfTestLeg = { mode: 'relay', workflow: wf.id, ok: false, turns: [], durationMs: 0 };
  try {
    const { simulateRelayCall } = await import('../../bench/load/relay-sim.ts');
    const said = question(wf);
    const r = await simulateRelayCall({ baseUrl, workflow: wf.id, steps: [said], parameters: { [SELFTEST_PARAMETER]: '1' }, authToken: config.TWILIO_AUTH_TOKEN, publicHost: config.PUBLIC_HOST, answerTimeoutMs: 10_000 });
    leg.callSid = r.callSid;
    const call = engine.registry.recentRelay.get(r.callSid);
    leg.turns = judge(call?.turns ?? [], said, config.PERFORMANCE_TARGET_LATENCY, config.PERFORMANCE_MAX_LATENCY);
    leg.ok = leg.turns.length > 0;
    if (!leg.ok) leg.error = `no caller turn was answered (socket closed with ${r.closeCode})`;
  } catch (e) {
    leg.error = (e as Error).message;
  }
  leg.durationMs = Math.round(performance.now() - t0);
  return leg;
}

/** Runs the legs one after the other (so one does not load the other's timings). */
export async function runSelfTest(engine: Engine, baseUrl: string, modes: SelfTestMode[] = ['media', 'relay']): Promise<SelfTestReport> {
  const legs: SelfTestLeg[] = [];
  for (const m of modes) legs.push(m === 'media' ? await mediaLeg(engine, baseUrl) : await relayLeg(engine, baseUrl));
  const { PERFORMANCE_TARGET_LATENCY: turnMs, PERFORMANCE_MAX_LATENCY: maxMs } = engine.config;
  return { at: new Date().toISOString(), targets: { turnMs, maxMs }, pass: legs.every((l) => l.ok && l.turns.every((t) => t.verdict === 'pass')), legs };
}
