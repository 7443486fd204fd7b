// The Media Streams transport of a call (docs/architecture.md): Twilio's socket in, the call
// core's output out. Frames go to the call's DSP shard and come back through the turn detector
// (plain loops: 50 frames a second per call); its events become the core's inputs. The core's
// answers come back here as text: sentences → TTS → μ-law media messages, each sentence followed
// by a mark, so Twilio's mark echoes tell what the caller has heard; `clear` stops playback.
import { Observable, concat, from, of, defer } from 'rxjs';
import { concatMap, filter, tap, ignoreElements } from 'rxjs/operators';
import type { SttProvider, SttStream, LlmProvider, TtsProvider } from '../../adapters/kit/types.ts';
import type { DspChannel, DspFrame } from '../../workers/types.ts';
import type { DspShards } from '../../workers/shards.ts';
import type { Workflow } from '../workflow.ts';
import { parseInbound, mediaMessage, markMessage, clearMessage, type InboundMessage, type ProtocolErrorKind } from '../twilio/media-protocol.ts';
import type { CallCoreDeps } from './call-core.ts';
import { CallTransport } from './call-transport.ts';
import type { Utterance } from './io.ts';
import { turnDetectorFor, type TurnDetector } from './turn-detector.ts';
import { Playout } from './playout.ts';
import { SentenceChunker } from './sentence-chunker.ts';
import type { TurnRecord } from './turn-record.ts';
import { routeOf } from '../providers/route.ts';
import { callStarting } from '../providers/call-start.ts';

/** What the call needs from the socket; call-socket.ts adapts uWebSockets.js to it. */
export interface MediaSocket {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Runs `fn` with the socket corked, so its sends leave in one write (optional). */
  cork?(fn: () => void): void;
}

/** What a workflow brings to a Media Streams call: its definition and its provider chains. */
export interface CallSetup {
  workflow: Workflow;
  stt: SttProvider;
  llm: LlmProvider;
  tts: TtsProvider;
}

export interface MediaCallDeps extends CallCoreDeps {
  /** Twilio names the workflow in start.customParameters; unknown or missing → the default. */
  resolve(workflowId: string | undefined): CallSetup;
  dsp: DspShards;
}

export type MediaErrorKind = ProtocolErrorKind | 'wrong_order' | 'wrong_stream' | 'bad_language' | 'duplicate_stream';

/** Largest outbound media message: 200 ms of audio. */
const OUT_CHUNK = 1600;

export class MediaCall extends CallTransport<MediaErrorKind> {
  readonly mode = 'media' as const;
  readonly speaksGreeting = true;
  readonly joiner = ' ';
  streamSid = '';

  private setup!: CallSetup;
  private dspChannel?: DspChannel;
  private sttStream?: SttStream;
  private readonly detector: TurnDetector;
  /** The latest interim transcript not yet offered to the core for speculation, and whether one is offered. */
  private interimText?: string;
  private offered = false;
  private readonly playout = new Playout();
  /** The sentences sent of the turn that spoke last, by mark: what a barge-in can say was heard. */
  private spoken?: { turn: TurnRecord; sentences: Array<{ mark: string; text: string }> };

  constructor(
    private readonly socket: MediaSocket,
    private readonly deps: MediaCallDeps,
  ) {
    super(deps, 'call');
    this.detector = turnDetectorFor(deps.config);
  }

  protected transportName() {
    return 'media' as const;
  }


  onMessage(data: ArrayBuffer | string, isBinary: boolean): void {
    if (this.core.state === 'ended') return;
    const msg = this.guard.accept(parseInbound(data, isBinary, this.deps.config.MAX_MESSAGE_BYTES));
    if (!msg) return;
    if (msg.event !== 'connected' && msg.event !== 'start' && this.core.state === 'connecting') return this.guard.reject('wrong_order', `${msg.event} before start`);
    if ('streamSid' in msg && msg.event !== 'start' && msg.streamSid !== this.streamSid) return this.guard.reject('wrong_stream', `streamSid ${msg.streamSid} is not this stream's`);
    if (msg.event === 'start' && this.core.state !== 'connecting') return this.guard.reject('wrong_order', 'second start on one stream');
    this.guard.passed();
    this.handle(msg);
  }

  private handle(msg: InboundMessage): void {
    switch (msg.event) {
      case 'connected':
        return;
      case 'start':
        return this.start(msg);
      case 'media':
        if (msg.media.track === 'outbound') return; // a fork of both tracks: that one is the agent, not the caller
        this.deps.metrics.framesIn.inc();
        this.dspChannel!.push(msg.media.payload);
        return;
      case 'dtmf':
        this.log.info({ digit: msg.dtmf.digit }, 'dtmf');
        // A key press is a new caller turn: stop the agent's playback first, as a spoken barge-in does.
        if (this.core.agentActive) this.core.bargeIn();
        return this.core.input({ kind: 'dtmf', digit: msg.dtmf.digit, at: performance.now() });
      case 'mark':
        if (!this.playout.onMark(msg.mark.name)) this.log.debug({ mark: msg.mark.name }, 'mark we did not send (or already cleared)');
        return;
      case 'stop':
        return this.core.end('stop', 1000, 'stream stopped by Twilio');
    }
  }

  private start(msg: Extract<InboundMessage, { event: 'start' }>): void {
    // Streams, not calls, own DSP state: Twilio may run a <Start><Stream> fork beside the
    // <Connect><Stream> of one call (one bidirectional stream per call, up to four one-way forks),
    // so two sockets can carry one callSid. Only a reused streamSid is refused.
    if (this.deps.dsp.shardOf(msg.streamSid) >= 0) {
      this.guard.reject('duplicate_stream', `stream ${msg.streamSid} is already open on another socket`);
      return this.core.end('protocol', 1008, 'duplicate streamSid');
    }
    const params = msg.start.customParameters;
    this.setup = this.deps.resolve(params.workflow);
    const { workflow, stt, llm, tts } = this.setup;
    this.streamSid = msg.streamSid;
    this.identify({ callSid: msg.start.callSid, streamSid: this.streamSid });
    if (params.workflow && params.workflow !== workflow.id) this.log.warn({ asked: params.workflow, using: workflow.id }, 'unknown workflow: using the default');
    const b = this.core.boundary;
    this.dspChannel = this.deps.dsp.open(this.streamSid, b.wrap('dsp frames', (frames: DspFrame[]) => this.onFrames(frames)), { vad: this.deps.config.DSP_VAD });
    const sessionSignal = new AbortController();
    this.core.ended$.subscribe(() => sessionSignal.abort());
    const started = this.core.start({ callSid: msg.start.callSid, workflow, llm, ttsName: tts.name, parameters: params, language: params.language });
    if (started.rejectedLanguage !== undefined) this.guard.reject('bad_language', `unknown language ${JSON.stringify(started.rejectedLanguage).slice(0, 40)}: using the workflow's ${this.core.language}`);
    callStarting([stt, llm, tts], this.core.dialogue!.ctx, this.log); // connections warm before the first turn
    this.sttStream = stt.open(this.core.dialogue!.ctx, sessionSignal.signal);
    // Interim transcripts (from STTs that give them) let the core start a speculative answer, and
    // tell the turn detector whether the words so far are complete (a short hangover) or trail off.
    this.sttStream.onInterim = b.wrap('interim transcript', (text: string) => {
      this.detector.setTranscript(text, this.core.language);
      this.interimText = text;
    });
    this.log.info({ workflow: workflow.id, language: this.core.language, stt: stt.name, llm: llm.name, tts: tts.name }, 'call started');
  }

  /** The per-frame hot path, kept imperative: lag metric, STT feed, endpointing. */
  private onFrames(frames: DspFrame[]): void {
    const { config, metrics } = this.deps;
    for (const f of frames) {
      if (this.core.state === 'ended') return;
      metrics.frameLagMs.observe(f.doneAt - f.arrivedAt);
      // The detector decides what is the caller's voice (hysteresis, noise floor, the agent's echo).
      const e = this.detector.push(f, f.doneAt);
      this.sttStream!.push(f.pcm, this.detector.lastVoiced);
      // Speculation (MEDIA_SPECULATION): offered once the caller pauses on words that sound
      // complete, not on every partial mid-sentence (each would start an LLM request to be thrown
      // away); withdrawn if the caller speaks again before it starts.
      if (config.MEDIA_SPECULATION) {
        if (this.interimText !== undefined && this.detector.pausing && this.detector.wordsComplete) {
          this.core.interim(this.interimText);
          this.interimText = undefined;
          this.offered = true;
        } else if (this.offered && this.detector.lastVoiced) {
          this.core.interim('');
          this.offered = false;
        }
      }
      if (!e) continue;
      if (e.type === 'start') this.core.userSpeaking();
      else if (e.type === 'voiced') {
        // Long enough not to be a cough, while the agent speaks: the caller is taking the turn.
        if (config.BARGE_IN_ENABLED && e.voicedMs >= config.BARGE_IN_MIN_SPEECH_MS && this.core.agentActive) {
          this.core.bargeIn();
          this.core.userSpeaking();
        }
      } else {
        const stt = this.sttStream!;
        this.offered = false;
        this.interimText = undefined;
        this.core.input({ kind: 'speech', transcript: (signal) => stt.endTurn(signal), speechEnd: e.at, lastVoiceAt: e.lastVoiceAt });
      }
    }
  }

  // ------------------------------------------------------------------ output (CallOutput)

  get playing(): boolean {
    return this.playout.playing;
  }

  drained(): Promise<void> {
    return this.playout.drained();
  }

  languageChanged(): void {
    // Nothing to tell Twilio: the next utterance is synthesized in the new language's voice.
  }

  hangUp(): void {
    this.core.end('agent-hangup', 1000, 'agent ended the call after playback');
  }

  /** A whole text through the call's TTS chain, sent nowhere: a predicted answer's audio for the cache. */
  async presynthesize(text: string, voice: string, language: string, signal: AbortSignal): Promise<Uint8Array> {
    const d = this.core.dialogue!;
    const ctx = { ...d.ctx, language, parameters: { ...d.ctx.parameters } };
    const parts: Uint8Array[] = [];
    for await (const a of this.setup.tts.synthesize({ ctx, text, voice, language, signal })) parts.push(a);
    return Buffer.concat(parts);
  }

  shutdown(code: number, reason: string, socketGone: boolean): void {
    this.dspChannel?.close();
    this.sttStream?.close();
    if (!socketGone) this.socket.close(code, reason);
  }

  /** Text → sentences (the first at a clause boundary) → TTS → media + mark; cached audio plays as it is. */
  speak(u: Utterance): Observable<string> {
    const chunker = new SentenceChunker();
    const sentences = (texts: string[]) => from(texts).pipe(concatMap((s) => this.tts$(s, u)));
    return concat(
      u.pieces.pipe(
        concatMap((p) => {
          if (!p.audio) return sentences(chunker.push(p.text));
          return concat(
            sentences(chunker.flush()),
            defer(() => {
              u.turn.ttsFirstByte ??= u.turn.responseStart ?? performance.now();
              this.sendAudio(p.audio!, u.turn);
              return of(this.sentenceEnd(p.text, u.turn));
            }),
          );
        }),
      ),
      defer(() => sentences(chunker.flush())),
    );
  }

  /** One sentence through TTS: its audio to the caller as it comes, then its mark. */
  private tts$(sentence: string, u: Utterance): Observable<string> {
    return defer(() => {
      const rec = u.turn;
      // An LLM answer waits for its first whole sentence: that wait is the provider's too.
      if (rec.source === 'llm' && rec.firstAudioSent === undefined && rec.responseStart !== undefined && rec.ttsFirstByte === undefined) rec.providerWaitMs += performance.now() - rec.responseStart;
      const requestedAt = performance.now();
      const audio = this.setup.tts.synthesize({ ctx: u.ctx, text: sentence, voice: u.voice, language: u.language, signal: u.signal });
      const route = routeOf(audio);
      if (route) rec.routes.push(route);
      return concat(
        from(audio).pipe(
          filter((a) => a.length > 0),
          tap((a) => {
            u.audio.push(a);
            if (rec.ttsFirstByte === undefined) {
              rec.ttsFirstByte = performance.now();
              rec.providerWaitMs += rec.ttsFirstByte - requestedAt;
            }
            this.sendAudio(a, rec);
          }),
          ignoreElements(),
        ),
        defer(() => of(this.sentenceEnd(sentence, rec))),
      );
    });
  }

  private sendAudio(audio: Uint8Array, rec: TurnRecord): void {
    if (this.core.state === 'ended') return;
    const sendAll = () => {
      for (let o = 0; o < audio.length; o += OUT_CHUNK) this.socket.send(mediaMessage(this.streamSid, audio.subarray(o, o + OUT_CHUNK)));
    };
    if (this.socket.cork) this.socket.cork(sendAll);
    else sendAll();
    this.deps.metrics.framesOut.inc(Math.ceil(audio.length / OUT_CHUNK));
    if (this.deps.config.DSP_ECHO_CANCEL) this.dspChannel?.playout?.(audio); // the echo canceller's reference
    rec.firstAudioSent ??= performance.now();
    rec.audioBytes += audio.length;
    rec.pendingBytes += audio.length;
  }

  /** A sentence's audio is out: its mark follows, and the sentence counts as said. */
  private sentenceEnd(text: string, rec: TurnRecord): string {
    if (this.core.state === 'ended') return text;
    const mark = this.playout.add(text, rec.pendingBytes, `t${rec.index}`);
    rec.pendingBytes = 0;
    this.socket.send(markMessage(this.streamSid, mark));
    if (this.spoken?.turn !== rec) this.spoken = { turn: rec, sentences: [] };
    this.spoken.sentences.push({ mark, text });
    return text;
  }

  /** Barge-in: `clear` Twilio's buffer; what was heard is every sentence whose mark came back, plus the elapsed share of the one playing. */
  stop(): string | undefined {
    this.socket.send(clearMessage(this.streamSid));
    this.dspChannel?.clearPlayout?.();
    const { dropped, headMark, headHeard } = this.playout.clear();
    const sp = this.spoken;
    this.spoken = undefined;
    if (!sp) return undefined;
    const gone = new Set(dropped);
    const heard = sp.sentences.filter((s) => !gone.has(s.mark)).map((s) => s.text);
    if (headMark && headHeard && sp.sentences.some((s) => s.mark === headMark)) heard.push(headHeard);
    return heard.join(' ');
  }
}
