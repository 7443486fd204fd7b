// A loopback fake of Deepgram's streaming recognition (GET /v1/listen upgraded to a WebSocket),
// for the Deepgram adapter's real `ws` client. Like the service: the key comes as
// `Authorization: Token <key>` (else HTTP 401 with a dg-error header), audio format and features
// as query parameters (linear16 needs sample_rate), audio as binary frames. It finds speech in
// the audio with an energy detector, on the audio's own timeline, and answers with Deepgram's
// JSON messages: SpeechStarted (vad_events), interim Results (is_final false, interim_results),
// a final Results with speech_final after `endpointing` ms of silence, UtteranceEnd after
// `utterance_end_ms`, a from_finalize Results for {"type":"Finalize"}, Metadata and a 1000 close
// for {"type":"CloseStream"}. Transcripts are scripted in order; with language=multi, Results
// carry the scripted language in `languages`. Faults per connection: a refused upgrade (with
// retry-after), a silent service, a close frame (1008 DATA-0000, 1011 NET-0000) or a dropped
// TCP connection after some audio frames.
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Probe } from './loopback-http.ts';

export type DeepgramFault =
  | { kind: 'reject'; status: number; error?: string; retryAfter?: string }
  /** Accept the socket, never answer. */
  | { kind: 'silent' }
  /** Send a close frame after this many audio frames. */
  | { kind: 'close'; afterFrames: number; code: number; reason: string }
  /** Destroy the TCP connection after this many audio frames (no close frame). */
  | { kind: 'drop'; afterFrames: number };

export interface DeepgramConnectionLog {
  query: Record<string, string>;
  auth: string | undefined;
  fault?: DeepgramFault;
  /** Audio samples received. */
  samples: number;
  /** Control messages received, by type. */
  controls: string[];
  /** Messages sent, by type (Results marked interim/final/from_finalize). */
  sent: string[];
  /** The socket has closed (either side). */
  closed: boolean;
}

export interface FakeDeepgramOptions {
  /** Accepted key; others get HTTP 401. */
  key?: string;
  /** Transcripts for successive speech segments, across connections. */
  transcripts?: Array<string | { text: string; language?: string }>;
  /** RMS above which a 20 ms window counts as speech. */
  speechRms?: number;
  faults?: DeepgramFault[];
}

export interface FakeDeepgram {
  /** ws://127.0.0.1:PORT/v1/listen */
  url: string;
  connections: DeepgramConnectionLog[];
  probe: Probe;
  setFaults(f: DeepgramFault[]): void;
  close(): Promise<void>;
}

const WINDOW = 160; // 20 ms at 8 kHz

export async function startFakeDeepgram(opts: FakeDeepgramOptions = {}): Promise<FakeDeepgram> {
  const connections: DeepgramConnectionLog[] = [];
  let faults = [...(opts.faults ?? [])];
  let segment = 0;
  const probe = new Probe();
  const pendingFault = new WeakMap<IncomingMessage, DeepgramFault | undefined>();

  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    verifyClient: (info: { req: IncomingMessage }, cb: (ok: boolean, code?: number, msg?: string, headers?: Record<string, string>) => void) => {
      const url = new URL(info.req.url ?? '/', 'http://x');
      const auth = info.req.headers.authorization;
      const refuse = (status: number, error: string, extra: Record<string, string> = {}) => cb(false, status, error, { 'dg-error': error, 'dg-request-id': randomUUID(), ...extra });
      if (url.pathname !== '/v1/listen') return refuse(404, 'Not Found');
      if (opts.key && auth !== `Token ${opts.key}`) return refuse(401, 'Invalid credentials.');
      const q = url.searchParams;
      if (q.get('encoding') === 'linear16' && !q.get('sample_rate')) return refuse(400, 'sample_rate is required with encoding=linear16');
      const fault = faults.shift();
      if (fault?.kind === 'reject') return refuse(fault.status, fault.error ?? `injected ${fault.status}`, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
      pendingFault.set(info.req, fault);
      cb(true);
    },
  });

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = Object.fromEntries(url.searchParams);
    const fault = pendingFault.get(req);
    const log: DeepgramConnectionLog = { query: q, auth: req.headers.authorization, fault, samples: 0, controls: [], sent: [], closed: false };
    connections.push(log);
    probe.track(ws);
    const requestId = randomUUID();
    const rate = Number(q.sample_rate ?? 8000);
    const endpointing = q.endpointing === 'false' ? Infinity : Number(q.endpointing ?? 10);
    const utteranceEnd = q.utterance_end_ms ? Number(q.utterance_end_ms) : undefined;
    const interim = q.interim_results === 'true';
    const multi = q.language === 'multi';
    const threshold = opts.speechRms ?? 500;

    let frames = 0;
    let carry = new Int16Array(0);
    let at = 0; // samples of audio seen
    // The current segment: speech seen and not yet final; and the last final word's end.
    let seg: { start: number; lastVoice: number; text: string; language?: string; interimSent: number } | undefined;
    let lastWordEnd: number | undefined;
    let speechStartedSent = false;

    const send = (tag: string, msg: object) => {
      if (ws.readyState !== ws.OPEN) return;
      log.sent.push(tag);
      ws.send(JSON.stringify(msg));
    };
    const results = (text: string, language: string | undefined, o: { isFinal: boolean; speechFinal: boolean; fromFinalize?: boolean; start: number; end: number }) => {
      const words = text ? text.split(/\s+/) : [];
      const lang = language?.split('-')[0];
      send(o.fromFinalize ? 'Results:from_finalize' : o.isFinal ? 'Results:final' : 'Results:interim', {
        type: 'Results',
        channel_index: [0, 1],
        duration: (o.end - o.start) / rate,
        start: o.start / rate,
        is_final: o.isFinal,
        speech_final: o.speechFinal,
        from_finalize: o.fromFinalize ?? false,
        channel: {
          alternatives: [
            {
              transcript: text,
              confidence: 0.97,
              words: words.map((w, i) => ({ word: w.toLowerCase().replace(/[^\p{L}\p{N}']/gu, ''), start: (o.start + i * 0.3 * rate) / rate, end: (o.start + (i + 1) * 0.3 * rate) / rate, confidence: 0.97, punctuated_word: w, ...(multi && lang ? { language: lang } : {}) })),
              ...(multi && lang ? { languages: [lang] } : {}),
            },
          ],
        },
        metadata: { request_id: requestId, model_info: { name: 'general-nova-3', version: '2025-01-01.0', arch: 'nova-3' }, model_uuid: randomUUID() },
      });
    };
    const nextScript = () => {
      const t = opts.transcripts?.[segment++ % Math.max(1, opts.transcripts?.length ?? 1)] ?? 'hello from the fake deepgram';
      return typeof t === 'string' ? { text: t } : t;
    };
    const finish = (o: { speechFinal: boolean; fromFinalize?: boolean }) => {
      if (!seg) return;
      results(seg.text, seg.language, { isFinal: true, speechFinal: o.speechFinal, fromFinalize: o.fromFinalize, start: seg.start, end: at });
      lastWordEnd = seg.lastVoice;
      seg = undefined;
      speechStartedSent = false;
    };

    const onAudio = (pcm: Int16Array) => {
      const all = new Int16Array(carry.length + pcm.length);
      all.set(carry);
      all.set(pcm, carry.length);
      let i = 0;
      for (; i + WINDOW <= all.length; i += WINDOW) {
        let sum = 0;
        for (let k = i; k < i + WINDOW; k++) sum += all[k] * all[k];
        const voiced = Math.sqrt(sum / WINDOW) > threshold;
        at += WINDOW;
        if (voiced) {
          if (!seg) {
            const s = nextScript();
            seg = { start: at - WINDOW, lastVoice: at, text: s.text, language: s.language, interimSent: 0 };
            if (q.vad_events === 'true' && !speechStartedSent) {
              speechStartedSent = true;
              send('SpeechStarted', { type: 'SpeechStarted', channel: [0], timestamp: (at - WINDOW) / rate });
            }
          }
          seg.lastVoice = at;
          // An interim result every 300 ms of speech, with the words "heard" so far.
          const heard = at - seg.start;
          if (interim && Math.floor(heard / (0.3 * rate)) > seg.interimSent) {
            seg.interimSent++;
            const words = seg.text.split(/\s+/);
            const n = Math.min(words.length, seg.interimSent * 2);
            results(words.slice(0, n).join(' '), seg.language, { isFinal: false, speechFinal: false, start: seg.start, end: at });
          }
        } else if (seg && (at - seg.lastVoice) / rate >= endpointing / 1000) {
          finish({ speechFinal: true });
        } else if (!seg && utteranceEnd !== undefined && interim && lastWordEnd !== undefined && ((at - lastWordEnd) / rate) * 1000 >= utteranceEnd) {
          send('UtteranceEnd', { type: 'UtteranceEnd', channel: [0, 1], last_word_end: lastWordEnd / rate });
          lastWordEnd = undefined;
        }
      }
      carry = all.slice(i);
    };

    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      if (!isBinary) {
        let msg: { type?: string };
        try {
          msg = JSON.parse(buf.toString());
        } catch {
          return ws.close(1008, 'DATA-0000');
        }
        log.controls.push(String(msg.type));
        if (fault?.kind === 'silent') return;
        if (msg.type === 'Finalize') {
          if (seg) finish({ speechFinal: false, fromFinalize: true });
          else results('', undefined, { isFinal: true, speechFinal: false, fromFinalize: true, start: at, end: at });
        } else if (msg.type === 'CloseStream') {
          finish({ speechFinal: true });
          send('Metadata', { type: 'Metadata', transaction_key: 'deprecated', request_id: requestId, sha256: '0'.repeat(64), created: new Date().toISOString(), duration: at / rate, channels: 1 });
          ws.close(1000);
        }
        return;
      }
      frames++;
      log.samples += Math.floor(buf.length / 2);
      if (fault?.kind === 'close' && frames > fault.afterFrames) return ws.close(fault.code, fault.reason);
      if (fault?.kind === 'drop' && frames > fault.afterFrames) return ws.terminate();
      if (fault?.kind === 'silent') return;
      const pcm = new Int16Array(Math.floor(buf.length / 2));
      for (let k = 0; k < pcm.length; k++) pcm[k] = buf.readInt16LE(k * 2);
      onAudio(pcm);
    });
    ws.on('close', () => (log.closed = true));
  });

  await new Promise<void>((r) => wss.once('listening', () => r()));
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/v1/listen`,
    connections,
    probe,
    setFaults(f) {
      faults = [...f];
    },
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
}
