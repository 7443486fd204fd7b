// A loopback fake of the Azure Speech WebSocket service, good enough for the real
// microsoft-cognitiveservices-speech-sdk. Frames are the service's own: text messages are
// "Header: value\r\n…\r\n\r\nbody", binary ones a 2-byte big-endian header length, the headers,
// then the payload; every reply carries the X-RequestId of the request it answers.
//
// Recognition (any path containing "/speech/"): reads the PCM the SDK streams (after its RIFF
// header), finds speech with a simple energy detector, and answers like the service:
// turn.start, speech.startDetected, speech.hypothesis while speech goes on, speech.phrase (with
// PrimaryLanguage when scripted) after `segmentSilenceMs` of silence, speech.endDetected, and
// turn.end when the SDK ends the audio stream. The transcripts are scripted, in order.
// Synthesis (any other path): on an `ssml` message, answers turn.start, response (naming the
// audio stream id), μ-law audio frames of a test tone sized to the text, then turn.end.
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { encodeUlaw } from '../../adapters/kit/ulaw.ts';

export interface FakeAzureSpeechOptions {
  /** Transcripts for successive speech segments; strings or {text, language}. */
  transcripts?: Array<string | { text: string; language?: string }>;
  /** Silence that ends a segment (ms of audio). */
  segmentSilenceMs?: number;
  /** RMS above which a 20 ms window counts as speech. */
  speechRms?: number;
  /** Synthesized audio per character of text (ms). */
  ttsMsPerChar?: number;
  ttsChunkDelayMs?: number;
  /** Expected subscription key; others get HTTP 401 at the upgrade. */
  key?: string;
  /** Fault for the next connections (consumed in order), then none. */
  faults?: SpeechFault[];
}

export type SpeechFault =
  | { kind: 'reject'; status: number }
  /** Accept the socket, never answer. */
  | { kind: 'silent' }
  /** Close the socket (code 1011) after this many audio frames were sent (TTS) or received (STT). */
  | { kind: 'drop'; afterFrames: number };

export interface SpeechConnectionLog {
  path: string;
  query: Record<string, string>;
  kind: 'stt' | 'tts';
  fault?: SpeechFault;
  messages: Array<{ path: string; bytes: number }>;
  /** Texts received in SSML (TTS). */
  ssml: string[];
  /** PCM samples received (STT). */
  samples: number;
  closedByClient: boolean;
}

export interface FakeAzureSpeech {
  port: number;
  /** ws://127.0.0.1:PORT/speech/recognition/conversation/cognitiveservices/v1 */
  sttEndpoint: string;
  /** ws://127.0.0.1:PORT/fake/tts/v1 (a path the SDK uses as is, with no redirect lookup) */
  ttsEndpoint: string;
  connections: SpeechConnectionLog[];
  opts: FakeAzureSpeechOptions;
  close(): Promise<void>;
}

const TICKS_PER_SAMPLE = 1250; // 100-ns units per sample at 8 kHz

function parseText(s: string): { headers: Record<string, string>; body: string } {
  const cut = s.indexOf('\r\n\r\n');
  const head = cut >= 0 ? s.slice(0, cut) : s;
  const body = cut >= 0 ? s.slice(cut + 4) : '';
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, body };
}

function parseBinary(b: Buffer): { headers: Record<string, string>; body: Buffer } {
  const len = b.readInt16BE(0);
  const { headers } = parseText(b.subarray(2, 2 + len).toString('latin1'));
  return { headers, body: b.subarray(2 + len) };
}

function textFrame(path: string, requestId: string, body: object): string {
  return `Path: ${path}\r\nX-RequestId: ${requestId}\r\nContent-Type: application/json; charset=utf-8\r\n\r\n${JSON.stringify(body)}`;
}

function binaryFrame(headers: Record<string, string>, body: Uint8Array): Buffer {
  const head = Buffer.from(Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join(''), 'latin1');
  const out = Buffer.alloc(2 + head.length + body.length);
  out.writeInt16BE(head.length, 0);
  head.copy(out, 2);
  out.set(body, 2 + head.length);
  return out;
}

/** A tone shaped like speech (syllable-rate envelope), as 8 kHz μ-law. */
function toneUlaw(ms: number): Uint8Array {
  const n = Math.round(ms * 8);
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / 8000;
    pcm[i] = Math.round(8000 * (0.5 + 0.5 * Math.sin(2 * Math.PI * 4 * t)) * Math.sin(2 * Math.PI * 200 * t));
  }
  return encodeUlaw(pcm);
}

export async function startFakeAzureSpeech(opts: FakeAzureSpeechOptions = {}): Promise<FakeAzureSpeech> {
  const connections: SpeechConnectionLog[] = [];
  const faults = [...(opts.faults ?? [])];
  let segment = 0; // transcript index, across connections (a failover continues the script)
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    verifyClient: (info: { req: IncomingMessage }, cb: (ok: boolean, code?: number, msg?: string) => void) => {
      const url = new URL(info.req.url ?? '/', 'http://x');
      const key = (info.req.headers['ocp-apim-subscription-key'] as string | undefined) ?? url.searchParams.get('Ocp-Apim-Subscription-Key');
      if (opts.key && key !== opts.key) return cb(false, 401, 'Unauthorized');
      const f = faults[0];
      if (f?.kind === 'reject') {
        faults.shift();
        return cb(false, f.status, 'Injected');
      }
      cb(true);
    },
  });
  await new Promise<void>((r) => wss.on('listening', () => r()));
  const port = (wss.address() as AddressInfo).port;

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const kind: 'stt' | 'tts' = url.pathname.includes('/speech/') ? 'stt' : 'tts';
    const fault = faults.shift();
    const log: SpeechConnectionLog = { path: url.pathname, query: Object.fromEntries(url.searchParams), kind, fault, messages: [], ssml: [], samples: 0, closedByClient: false };
    connections.push(log);
    let closedByUs = false;
    ws.on('close', () => {
      if (!closedByUs) log.closedByClient = true;
    });
    const send = (data: string | Buffer) => {
      if (ws.readyState === ws.OPEN) ws.send(data);
    };
    const drop = () => {
      closedByUs = true;
      ws.close(1011, 'injected failure');
    };

    // ---- recognition state
    let turnStarted = false;
    let headerSkipped = false;
    let carry = Buffer.alloc(0);
    let pos = 0; // samples seen
    let inSpeech = false;
    let speechStart = 0;
    let silence = 0;
    let sinceHyp = 0;
    let framesIn = 0;
    const silenceLimit = ((opts.segmentSilenceMs ?? 300) / 1000) * 8000;
    const threshold = opts.speechRms ?? 500;
    const script = (i: number) => {
      const s = opts.transcripts?.[i];
      return typeof s === 'string' ? { text: s } : (s ?? { text: `segment ${i + 1}` });
    };
    const finalize = (rid: string, end: number) => {
      const sc = script(segment++);
      const phrase: Record<string, unknown> = { RecognitionStatus: 'Success', DisplayText: sc.text, Offset: speechStart * TICKS_PER_SAMPLE, Duration: (end - speechStart) * TICKS_PER_SAMPLE };
      if (sc.language) phrase.PrimaryLanguage = { Language: sc.language, Confidence: 'High' };
      send(textFrame('speech.phrase', rid, phrase));
      send(textFrame('speech.endDetected', rid, { Offset: end * TICKS_PER_SAMPLE }));
      inSpeech = false;
    };

    ws.on('message', async (data: RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      if (!isBinary) {
        const { headers, body } = parseText(buf.toString('utf8'));
        const path = headers['path'] ?? '';
        const rid = headers['x-requestid'] ?? '';
        log.messages.push({ path, bytes: buf.length });
        if (fault?.kind === 'silent') return;
        if (kind === 'tts' && path === 'ssml') await synthesize(rid, body);
        return;
      }
      const { headers, body } = parseBinary(buf);
      const rid = headers['x-requestid'] ?? '';
      log.messages.push({ path: headers['path'] ?? '', bytes: buf.length });
      if (kind !== 'stt' || fault?.kind === 'silent') return;
      if (fault?.kind === 'drop' && ++framesIn > fault.afterFrames) return drop();
      if (!turnStarted) {
        turnStarted = true;
        send(textFrame('turn.start', rid, { context: { serviceTag: 'fake-service-tag' } }));
      }
      if (body.length === 0) {
        // End of the audio stream: finish any open segment, then end the turn.
        if (inSpeech) finalize(rid, pos);
        send(textFrame('turn.end', rid, {}));
        turnStarted = false;
        return;
      }
      let pcmBytes = body;
      if (!headerSkipped && body.subarray(0, 4).toString('latin1') === 'RIFF') pcmBytes = body.subarray(44);
      headerSkipped = true;
      const all = Buffer.concat([carry, pcmBytes]);
      const usable = all.length - (all.length % 320);
      carry = all.subarray(usable);
      for (let at = 0; at < usable; at += 320) {
        let sum = 0;
        for (let i = 0; i < 160; i++) {
          const v = all.readInt16LE(at + i * 2);
          sum += v * v;
        }
        const loud = Math.sqrt(sum / 160) > threshold;
        log.samples += 160;
        pos += 160;
        if (loud) {
          silence = 0;
          if (!inSpeech) {
            inSpeech = true;
            speechStart = pos - 160;
            sinceHyp = 0;
            send(textFrame('speech.startDetected', rid, { Offset: speechStart * TICKS_PER_SAMPLE }));
          }
        } else if (inSpeech) silence += 160;
        if (inSpeech) {
          sinceHyp += 160;
          if (sinceHyp >= 2400) {
            // An interim hypothesis every 300 ms: the first words of the scripted text.
            sinceHyp = 0;
            const words = script(segment).text.split(/\s+/);
            const n = Math.max(1, Math.min(words.length, Math.round(((pos - speechStart) / 8000) * 3)));
            send(textFrame('speech.hypothesis', rid, { Text: words.slice(0, n).join(' '), Offset: speechStart * TICKS_PER_SAMPLE, Duration: (pos - speechStart) * TICKS_PER_SAMPLE }));
          }
          if (silence >= silenceLimit) finalize(rid, pos - silence);
        }
      }
    });

    async function synthesize(rid: string, ssml: string) {
      const text = ssml.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
      log.ssml.push(text);
      const streamId = 'FAKESTREAM' + Math.random().toString(16).slice(2, 10).toUpperCase();
      send(textFrame('turn.start', rid, { context: { serviceTag: 'fake-service-tag' } }));
      send(textFrame('response', rid, { context: { serviceTag: 'fake-service-tag' }, audio: { type: 'inline', streamId } }));
      const audio = toneUlaw(text.length * (opts.ttsMsPerChar ?? 60));
      let frames = 0;
      for (let at = 0; at < audio.length; at += 1600) {
        if (ws.readyState !== ws.OPEN) return;
        if (fault?.kind === 'drop' && frames >= fault.afterFrames) return drop();
        send(binaryFrame({ Path: 'audio', 'X-RequestId': rid, 'X-StreamId': streamId, 'Content-Type': 'audio/x-mulaw' }, audio.subarray(at, at + 1600)));
        frames++;
        await new Promise((r) => setTimeout(r, opts.ttsChunkDelayMs ?? 5));
      }
      send(textFrame('turn.end', rid, {}));
    }
  });

  return {
    port,
    sttEndpoint: `ws://127.0.0.1:${port}/speech/recognition/conversation/cognitiveservices/v1`,
    ttsEndpoint: `ws://127.0.0.1:${port}/fake/tts/v1`,
    connections,
    opts,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
}
