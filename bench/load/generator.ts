// Load generator: N concurrent simulated Twilio Media Streams calls against a running engine
// over loopback, each streaming real speech (test/fixtures/audio/call-3turns.ulaw) in real
// time and modelling Twilio's playout buffer and marks like twilio-sim.ts (marks echo once
// their audio has played at 8 bytes/ms; `clear` drops the buffer and echoes pending marks).
// Each call opens with a random (seeded) 0-6 s of silence, so calls that start together do not
// speak, get answered and hang up in lockstep, as real callers never do.
//
// Built to cost little per call, since it shares the machine with the engine: one timer
// ticks every call (5 ms period, each call on its own 20 ms phase), media payloads are
// pre-encoded, each media message is framed by hand and written straight to the call's socket
// (ws-frame.ts), inbound media is measured without decoding, and each slot runs calls back to
// back so concurrency stays at N. Runs in-process (LoadGenerator) or as a child
// process driven over IPC (`--child`, see bench/run.ts).
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { fetchTwiml, parseStreamTwiml } from './twilio-sim.ts';
import { percentiles, type Percentiles } from './stats.ts';
import { LogHistogram } from '../../engine/metrics/window.ts';
import { rng } from './sim-providers.ts';
import type { CallReport } from '../../engine/metrics/call-report.ts';
import { RelayCaller } from './relay-sim.ts';
import { clientTextFrame } from './ws-frame.ts';
import { classifyUnanswered, type UnansweredKind, type UnansweredTurn } from './unanswered.ts';

const FRAME = 160;
const TICK_MS = 5;
const zeroMask = (mask: Buffer): void => void mask.fill(0);

export interface Utterance {
  startMs: number;
  endMs: number;
}

export interface LoadOptions {
  /** Engine HTTP base (webhook, metrics), e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  /** Media WebSocket URL; default: baseUrl's /twilio/media. */
  mediaUrl?: string;
  /** Caller audio, 8 kHz μ-law, and its labelled utterances. */
  audio?: Uint8Array;
  utterances?: Utterance[];
  /** Transcripts the simulated STT returns, drawn per call from this pool. */
  questions?: string[];
  /** Kept open after the audio for the last answer to play. */
  tailMs?: number;
  /**
   * Each call opens with a random (seeded) 0..leadMaxMs of caller silence before its speech, so
   * that calls' turns and ends are not in lockstep, which real callers never are. Default 6000.
   */
  leadMaxMs?: number;
  /** Fetch GET /calls/:sid/metrics after each call (per-stage engine latency). */
  reports?: boolean;
  seed?: number;
  /** ConversationRelay workflow for relay-mode calls (setRelayTarget). */
  relayWorkflow?: string;
  /** Pause between a relay caller's turns (the caller "speaking"), ms. */
  relayGapMs?: number;
}

export interface RelayResult {
  endedAt: number;
  ok: boolean;
  failure?: string;
  /** Final prompt sent → first text token, per turn (null = no answer). */
  firstTokenMs: Array<number | null>;
}

export interface CallResult {
  callSid: string;
  startedAt: number;
  endedAt: number;
  ok: boolean;
  failure?: string;
  closeCode?: number;
  greetingMs?: number;
  /** Caller silence before the speech started (the call's random lead). */
  leadMs: number;
  /** Caller-perceived latency per utterance: end of speech → first agent audio (null = no answer). */
  responseMs: Array<number | null>;
  clearReactionMs: number[];
  marksReceived: number;
  marksEchoed: number;
  report?: CallReport;
  /** Why each utterance without an answer got none (unanswered.ts). */
  unanswered?: UnansweredTurn[];
}

export interface GenStats {
  at: number;
  sinceMs: number;
  target: number;
  active: number;
  calls: { started: number; completed: number; failed: number; failures: Record<string, number> };
  /** failed: utterances with no agent audio in their window; byKind: why (unanswered.ts), e.g. superseded by the caller's next utterance. */
  turns: { total: number; answered: number; failed: number; byKind: Partial<Record<UnansweredKind, number>> };
  /** End of the caller's speech → first agent audio, caller clock (includes endpointing). */
  callerLatencyMs: Percentiles;
  /** From the engine's per-call reports (docs/architecture.md, "Latency" stages). */
  engine: Record<'turnMs' | 'sttMs' | 'responseMs' | 'ttsMs' | 'sendMs' | 'overheadMs' | 'hangoverMs', Percentiles> & { turnsBySource: Record<string, number> };
  bargeIns: { clears: number; reactionMs: Percentiles };
  /** started: relay calls begun since the generator started (calls, failed: those ended since sinceMs). */
  relay: { target: number; started: number; calls: number; failed: number; turns: number; unanswered: number; firstTokenMs: Percentiles };
  marks: { received: number; echoed: number };
  /** How late the generator's own timer ran (ms): large values mean the generator was the bottleneck. */
  generatorTickLagMs: { p50: number | null; p99: number | null; max: number | null };
  generatorCpuMs: { user: number; system: number };
  /** Raw per-turn engine samples (only when asked), for charts. */
  samples?: Record<string, number[]>;
}

const DEFAULT_AUDIO = new URL('../../test/fixtures/audio/call-3turns.ulaw', import.meta.url);
const DEFAULT_LABELS = new URL('../../test/fixtures/audio/call-3turns.labels.json', import.meta.url);
const DEMO = new URL('../../engine/workflows/demo.json', import.meta.url);

/** English questions from the demo workflow's FAQ, plus two it cannot answer (fallback path). */
export function defaultQuestions(): string[] {
  const wf = JSON.parse(readFileSync(DEMO, 'utf8')) as { faq: Array<{ language: string; question: string; alternates: string[] }> };
  const qs = wf.faq.filter((e) => e.language.startsWith('en')).flatMap((e) => [e.question, ...e.alternates]);
  return [...qs, 'Can you recommend a good restaurant nearby?', 'What is the weather like today?'];
}


class SimCall {
  ws!: WebSocket;
  /** The socket under `ws`, for the media frames written straight to it. */
  private socket?: Socket;
  readonly callSid: string;
  readonly streamSid: string;
  t0 = 0;
  frame = 0;
  seq = 1;
  readonly totalFrames: number;
  /** Frames of caller silence before the speech starts (this call's offset on the audio). */
  readonly leadFrames: number;
  /** The labelled utterances on this call's clock (shifted by the lead). */
  readonly utterances: Utterance[];
  /** Twilio's outbound buffer: numbers are audio bytes, strings are marks. */
  queue: Array<number | string> = [];
  playCursor = 0;
  playingSince: number | undefined;
  mediaAt: number[] = [];
  clearReactionMs: number[] = [];
  marksReceived = 0;
  marksEchoed = 0;
  streaming = false;
  closeCode?: number;
  failure?: string;
  done!: Promise<void>;

  constructor(
    private readonly g: LoadGenerator,
    readonly transcripts: string[],
    leadMs: number,
  ) {
    // Sids must be unique across generators (the seed only drives what callers say).
    this.callSid = 'CA' + randomUUID().replace(/-/g, '');
    this.streamSid = 'MZ' + randomUUID().replace(/-/g, '');
    this.leadFrames = Math.round(leadMs / 20);
    const lead = this.leadFrames * 20;
    this.utterances = g.utterances.map((u) => ({ startMs: u.startMs + lead, endMs: u.endMs + lead }));
    this.totalFrames = this.leadFrames + g.frames.length + Math.ceil(g.tailMs / 20);
  }

  private send(s: string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(s);
  }

  /** A media message (ASCII JSON): one hand-made frame, one socket write. */
  private sendMedia(json: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.socket) this.socket.write(clientTextFrame(json), 'latin1');
    else this.ws.send(json);
  }

  start(): Promise<void> {
    // Loopback to our own engine: an all-zero mask lets ws skip masking (and write strings
    // as they are), and the engine's UTF-8 is not re-validated; both only cut generator CPU.
    this.ws = new WebSocket(this.g.mediaUrl, { perMessageDeflate: false, skipUTF8Validation: true, generateMask: zeroMask });
    this.done = new Promise<void>((resolve) => {
      this.ws.once('close', (code) => {
        this.closeCode = code;
        this.streaming = false;
        this.g.live.delete(this);
        resolve();
      });
    });
    this.ws.on('error', (e) => {
      this.failure ??= `socket: ${(e as Error).message.slice(0, 60)}`;
    });
    this.ws.on('message', (data, isBinary) => !isBinary && this.onMessage(data.toString()));
    // ws writes its own frames to this socket as it is asked to (no queue without compression),
    // so frames written here and through ws.send keep their order.
    this.ws.once('upgrade', (res) => (this.socket = res.socket as Socket));
    this.ws.once('open', () => {
      this.ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
      this.send(
        JSON.stringify({
          event: 'start',
          sequenceNumber: String(this.seq++),
          streamSid: this.streamSid,
          start: {
            streamSid: this.streamSid,
            accountSid: 'AC' + '0'.repeat(32),
            callSid: this.callSid,
            tracks: ['inbound'],
            // Each transcript carries its utterance's length, so the simulated STT's interim words keep pace with the audio.
            customParameters: { ...this.g.parameters, transcripts: JSON.stringify(this.transcripts.map((text, i) => (this.g.utterances[i] ? { text, speechMs: this.g.utterances[i].endMs - this.g.utterances[i].startMs } : text))) },
            mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
          },
        }),
      );
      this.t0 = performance.now();
      this.streaming = true;
      this.g.live.add(this);
    });
    return this.done;
  }

  /** Called by the generator's tick: sends the frames now due and advances playout. */
  tick(now: number): void {
    const clock = now - this.t0;
    const due = Math.min(this.totalFrames, Math.floor(clock / 20) + 1);
    const frames = this.g.frames;
    while (this.frame < due) {
      const i = this.frame++;
      const k = i - this.leadFrames;
      const payload = k >= 0 && k < frames.length ? frames[k] : this.g.silence;
      this.sendMedia(`{"event":"media","sequenceNumber":"${this.seq++}","streamSid":"${this.streamSid}","media":{"track":"inbound","chunk":"${i + 1}","timestamp":"${i * 20}","payload":"${payload}"}}`);
    }
    if (this.queue.length) this.playUntil(clock);
    if (this.frame >= this.totalFrames) {
      this.streaming = false;
      this.g.live.delete(this);
      this.send(JSON.stringify({ event: 'stop', sequenceNumber: String(this.seq++), streamSid: this.streamSid, stop: { accountSid: 'AC', callSid: this.callSid } }));
      setTimeout(() => this.ws.readyState !== WebSocket.CLOSED && this.ws.close(1000), 2000).unref();
    }
  }

  private echo(name: string): void {
    this.marksEchoed++;
    this.send(JSON.stringify({ event: 'mark', sequenceNumber: String(this.seq++), streamSid: this.streamSid, mark: { name } }));
  }

  private playUntil(clock: number): void {
    let budget = Math.max(0, (clock - this.playCursor) * 8);
    this.playCursor = clock;
    while (this.queue.length) {
      const head = this.queue[0];
      if (typeof head === 'string') {
        this.queue.shift();
        this.echo(head);
        continue;
      }
      if (budget <= 0) break;
      const n = Math.min(head, budget);
      budget -= n;
      if (n === head) this.queue.shift();
      else this.queue[0] = head - n;
    }
    if (!this.queue.some((q) => typeof q === 'number')) this.playingSince = undefined;
  }

  private onMessage(s: string): void {
    const clock = performance.now() - this.t0;
    // Media is most of the traffic: size it from the base64 length without parsing or decoding.
    let bytes = -1;
    if (s.startsWith('{"event":"media"')) {
      const p = s.indexOf('"payload":"');
      const end = p < 0 ? -1 : s.indexOf('"', p + 11);
      if (end > 0) {
        const b64 = end - (p + 11);
        bytes = (b64 / 4) * 3 - (s[end - 1] === '=' ? (s[end - 2] === '=' ? 2 : 1) : 0);
      }
    }
    if (bytes < 0) {
      let m: { event?: string; mark?: { name?: string }; media?: { payload?: string } };
      try {
        m = JSON.parse(s);
      } catch {
        return;
      }
      if (m.event === 'media') bytes = Buffer.byteLength(m.media?.payload ?? '', 'base64');
      else if (m.event === 'mark') {
        this.marksReceived++;
        this.queue.push(String(m.mark?.name ?? ''));
        this.playUntil(clock);
        return;
      } else if (m.event === 'clear') {
        this.onClear(clock);
        return;
      } else return;
    }
    this.mediaAt.push(clock);
    if (!this.queue.some((q) => typeof q === 'number')) {
      this.playCursor = clock; // playout starts when audio arrives
      this.playingSince ??= clock;
    }
    this.queue.push(bytes);
  }

  private onClear(clock: number): void {
    // Reaction: from the moment the caller's speech overlapped the agent's playback.
    const utt = [...this.utterances].reverse().find((u) => u.startMs <= clock);
    if (utt) this.clearReactionMs.push(clock - Math.max(utt.startMs, this.playingSince ?? utt.startMs));
    const pending = this.queue.filter((q): q is string => typeof q === 'string');
    this.queue = [];
    this.playingSince = undefined;
    for (const p of pending) this.echo(p);
  }

  result(startedAt: number): CallResult {
    const utts = this.utterances;
    const responseMs = utts.map((u, k) => {
      const next = utts[k + 1]?.endMs ?? Infinity;
      const first = this.mediaAt.find((t) => t >= u.endMs && t < next);
      return first === undefined ? null : Math.round((first - u.endMs) * 10) / 10;
    });
    let failure = this.failure;
    if (!failure && this.closeCode !== 1000 && this.closeCode !== 1005) failure = `closed ${this.closeCode}`;
    if (!failure && this.mediaAt.length === 0) failure = 'no agent audio';
    // Utterances after an agent hang-up are not failures of the engine.
    const spoken = this.frame * 20;
    return {
      callSid: this.callSid,
      startedAt,
      endedAt: performance.now(),
      ok: !failure,
      failure,
      closeCode: this.closeCode,
      greetingMs: this.mediaAt[0],
      leadMs: this.leadFrames * 20,
      responseMs: responseMs.filter((_, k) => utts[k].endMs + 1500 <= spoken),
      clearReactionMs: this.clearReactionMs,
      marksReceived: this.marksReceived,
      marksEchoed: this.marksEchoed,
    };
  }
}

export class LoadGenerator {
  readonly mediaUrl: string;
  readonly frames: string[];
  readonly silence: string;
  readonly utterances: Utterance[];
  readonly tailMs: number;
  readonly leadMaxMs: number;
  readonly live = new Set<SimCall>();
  parameters: Record<string, string> = {};
  readonly results: CallResult[] = [];
  readonly relayResults: RelayResult[] = [];
  private relaySlots = 0;
  private relayStarted = 0;
  private relayWanted = 0;
  private readonly questions: string[];
  private readonly r: () => number;
  private slots = 0;
  private wanted = 0;
  private timer?: NodeJS.Timeout;
  private nextTick = 0;
  private readonly tickLag = new LogHistogram();
  private started = 0;
  private stopped = false;
  private readonly cpu0 = process.cpuUsage();

  constructor(private readonly o: LoadOptions) {
    this.mediaUrl = o.mediaUrl ?? o.baseUrl.replace(/^http/, 'ws') + '/twilio/media';
    const audio = o.audio ?? new Uint8Array(readFileSync(DEFAULT_AUDIO));
    this.utterances = o.utterances ?? JSON.parse(readFileSync(DEFAULT_LABELS, 'utf8')).speech;
    this.questions = o.questions ?? defaultQuestions();
    if (this.questions.length === 0) throw new Error('LoadGenerator: the question pool is empty');
    this.tailMs = o.tailMs ?? 4000;
    this.leadMaxMs = o.leadMaxMs ?? 6000;
    if (!(this.leadMaxMs >= 0)) throw new RangeError(`leadMaxMs must be ≥ 0, got ${this.leadMaxMs}`);
    this.r = rng(o.seed ?? 1);
    // Pre-encoded payloads: one base64 string per 20 ms frame of the caller's audio.
    this.frames = [];
    for (let i = 0; i * FRAME < audio.length; i++) {
      const f = new Uint8Array(FRAME).fill(0xff);
      f.set(audio.subarray(i * FRAME, Math.min((i + 1) * FRAME, audio.length)));
      this.frames.push(Buffer.from(f).toString('base64'));
    }
    this.silence = Buffer.from(new Uint8Array(FRAME).fill(0xff)).toString('base64');
  }

  /** Reads the stream <Parameter>s from the engine's TwiML once, then starts the clock. */
  async init(): Promise<void> {
    this.parameters = parseStreamTwiml(await fetchTwiml(this.o.baseUrl)).parameters;
    this.nextTick = performance.now();
    const loop = () => {
      if (this.stopped) return;
      const now = performance.now();
      this.tickLag.add(Math.max(0, now - this.nextTick));
      for (const c of this.live) if (c.streaming) c.tick(now);
      this.nextTick += TICK_MS;
      if (this.nextTick < now) this.nextTick = now + TICK_MS; // fell behind: do not burst-catch-up ticks
      this.timer = setTimeout(loop, Math.max(0, this.nextTick - performance.now()));
    };
    loop();
  }

  get target(): number {
    return this.wanted;
  }

  /** Sets the number of concurrent calls; new slots start spread over rampMs. */
  setTarget(n: number, rampMs = 2000): void {
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`target must be an integer ≥ 0, got ${n}`);
    this.wanted = n;
    const add = n - this.slots;
    for (let i = 0; i < add; i++) {
      this.slots++;
      const delay = add > 1 ? (rampMs * i) / add : 0;
      setTimeout(() => void this.slot(), delay);
    }
  }

  private async slot(): Promise<void> {
    while (!this.stopped && this.slots <= this.wanted) {
      const transcripts = Array.from({ length: this.utterances.length }, () => this.questions[Math.floor(this.r() * this.questions.length)]);
      if (this.r() < 0.5) transcripts[transcripts.length - 1] = 'Thanks, goodbye!';
      const call = new SimCall(this, transcripts, this.r() * this.leadMaxMs);
      const startedAt = performance.now();
      this.started++;
      await call.start();
      const res = call.result(startedAt);
      const missed = res.responseMs.flatMap((x, k) => (x === null ? [k] : []));
      // The report explains unanswered utterances, so it is fetched for those calls even when not asked for.
      if ((this.o.reports || missed.length > 0) && !this.stopped) {
        try {
          const r = await fetch(`${this.o.baseUrl}/calls/${call.callSid}/metrics`);
          if (r.ok) res.report = (await r.json()) as CallReport;
        } catch {
          /* the report is optional: the engine may be shutting down */
        }
      }
      if (missed.length > 0) {
        res.unanswered = classifyUnanswered(missed, call.utterances, res.report);
        if (!this.o.reports) res.report = undefined; // fetched for the classification only: not kept
      }
      this.results.push(res);
      if (!res.ok) await new Promise((r) => setTimeout(r, 1000)); // no hot loop against a dead engine
    }
    this.slots--;
  }

  /** Sets the number of concurrent ConversationRelay calls. */
  setRelayTarget(n: number, rampMs = 2000): void {
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`relay target must be an integer ≥ 0, got ${n}`);
    this.relayWanted = n;
    const add = n - this.relaySlots;
    for (let i = 0; i < add; i++) {
      this.relaySlots++;
      setTimeout(() => void this.relaySlot(), add > 1 ? (rampMs * i) / add : 0);
    }
  }

  private async relaySlot(): Promise<void> {
    const gap = this.o.relayGapMs ?? 3000;
    while (!this.stopped && this.relaySlots <= this.relayWanted) {
      const caller = new RelayCaller({ baseUrl: this.o.baseUrl, workflow: this.o.relayWorkflow ?? 'demo-relay', answerTimeoutMs: 10_000 });
      const res: RelayResult = { endedAt: 0, ok: true, firstTokenMs: [] };
      this.relayStarted++;
      try {
        await caller.connect();
        for (let k = 0; k < 3 && !this.stopped; k++) {
          await new Promise((r) => setTimeout(r, gap));
          const q = this.questions[Math.floor(this.r() * this.questions.length)];
          const t = await caller.turn(q);
          res.firstTokenMs.push(t.firstTokenMs === undefined ? null : Math.round(t.firstTokenMs * 10) / 10);
          if (t.ended) break;
        }
        await caller.hangup();
      } catch (e) {
        res.ok = false;
        res.failure = `relay: ${(e as Error).message.slice(0, 60)}`;
      }
      res.endedAt = performance.now();
      this.relayResults.push(res);
      if (!res.ok) await new Promise((r) => setTimeout(r, 1000));
    }
    this.relaySlots--;
  }

  stats(sinceMs = 0, withSamples = false): GenStats {
    const rs = this.results.filter((r) => r.endedAt >= sinceMs);
    const failures: Record<string, number> = {};
    for (const r of rs) if (r.failure) failures[r.failure] = (failures[r.failure] ?? 0) + 1;
    const resp = rs.flatMap((r) => r.responseMs);
    const answered = resp.filter((x): x is number => x !== null);
    const stage: Record<string, number[]> = { turnMs: [], sttMs: [], responseMs: [], ttsMs: [], sendMs: [], overheadMs: [], hangoverMs: [] };
    const bySource: Record<string, number> = {};
    for (const r of rs)
      for (const t of r.report?.turns ?? []) {
        if (t.index === 0) continue;
        bySource[t.source ?? 'none'] = (bySource[t.source ?? 'none'] ?? 0) + 1;
        for (const k of Object.keys(stage)) {
          const v = (t.latency as Record<string, number | undefined>)[k];
          if (v !== undefined) stage[k].push(v);
        }
      }
    const byKind: GenStats['turns']['byKind'] = {};
    for (const r of rs) for (const u of r.unanswered ?? []) byKind[u.kind] = (byKind[u.kind] ?? 0) + 1;
    const cpu = process.cpuUsage(this.cpu0);
    const engine = Object.fromEntries(Object.entries(stage).map(([k, v]) => [k, percentiles(v)])) as unknown as GenStats['engine'];
    engine.turnsBySource = bySource;
    return {
      at: performance.now(),
      sinceMs,
      target: this.wanted,
      active: this.live.size,
      calls: { started: this.started, completed: rs.filter((r) => r.ok).length, failed: rs.filter((r) => !r.ok).length, failures },
      turns: { total: resp.length, answered: answered.length, failed: resp.length - answered.length, byKind },
      callerLatencyMs: percentiles(answered),
      engine,
      bargeIns: { clears: rs.reduce((a, r) => a + r.clearReactionMs.length, 0), reactionMs: percentiles(rs.flatMap((r) => r.clearReactionMs)) },
      relay: (() => {
        const rr = this.relayResults.filter((r) => r.endedAt >= sinceMs);
        const ft = rr.flatMap((r) => r.firstTokenMs);
        const ok = ft.filter((x): x is number => x !== null);
        return { target: this.relayWanted, started: this.relayStarted, calls: rr.length, failed: rr.filter((r) => !r.ok).length, turns: ft.length, unanswered: ft.length - ok.length, firstTokenMs: percentiles(ok) };
      })(),
      marks: { received: rs.reduce((a, r) => a + r.marksReceived, 0), echoed: rs.reduce((a, r) => a + r.marksEchoed, 0) },
      generatorTickLagMs: { p50: this.tickLag.quantile(0.5), p99: this.tickLag.quantile(0.99), max: this.tickLag.count ? this.tickLag.max : null },
      generatorCpuMs: { user: Math.round(cpu.user / 1000), system: Math.round(cpu.system / 1000) },
      samples: withSamples ? { ...stage, callerLatencyMs: answered, clearReactionMs: rs.flatMap((r) => r.clearReactionMs) } : undefined,
    };
  }

  /** Stops starting calls; closes live ones after `graceMs`. */
  async stop(graceMs = 0): Promise<void> {
    this.wanted = 0;
    this.relayWanted = 0;
    if (graceMs > 0) await new Promise((r) => setTimeout(r, graceMs));
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const c of this.live) c.ws.close(1000);
  }
}

// ------------------------------------------------------------------------------ child mode

type ParentMsg =
  | { type: 'init'; opts: LoadOptions }
  | { type: 'target'; n: number; rampMs?: number }
  | { type: 'relay-target'; n: number; rampMs?: number }
  | { type: 'stats'; id: number; sinceMs?: number; samples?: boolean }
  | { type: 'now'; id: number }
  | { type: 'stop'; graceMs?: number };

if (process.argv.includes('--child') && process.send) {
  let gen: LoadGenerator | undefined;
  const reply = (m: object) => process.send!(m);
  process.on('message', async (m: ParentMsg) => {
    try {
      if (m.type === 'init') {
        gen = new LoadGenerator(m.opts);
        await gen.init();
        reply({ type: 'ready' });
      } else if (m.type === 'target') gen!.setTarget(m.n, m.rampMs);
      else if (m.type === 'relay-target') gen!.setRelayTarget(m.n, m.rampMs);
      else if (m.type === 'now') reply({ type: 'now', id: m.id, now: performance.now() });
      else if (m.type === 'stats') reply({ type: 'stats', id: m.id, stats: gen!.stats(m.sinceMs ?? 0, m.samples ?? false) });
      else if (m.type === 'stop') {
        await gen?.stop(m.graceMs ?? 0);
        reply({ type: 'stopped' });
        setTimeout(() => process.exit(0), 200);
      }
    } catch (e) {
      reply({ type: 'error', message: (e as Error).message });
    }
  });
  process.on('disconnect', () => process.exit(0));
}
