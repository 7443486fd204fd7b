// Plays Twilio's side of a Media Streams call against the engine over loopback: fetches the
// TwiML from the voice webhook, connects to the stream URL, streams μ-law audio as 20 ms
// frames on a real-time clock, and models Twilio's playout buffer (marks echo after their
// audio has played; `clear` drops the buffer and echoes every pending mark). With an auth token
// it signs the webhook and the upgrade exactly as Twilio does (engine/twilio/signature.ts checks them).
import twilio from 'twilio';
import WebSocket from 'ws';
import { ULAW_TO_PCM, PCM_TO_ULAW } from '../../adapters/kit/ulaw.ts';

export interface SimCallOptions {
  /** Engine base URL, e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  workflow?: string;
  /** Caller audio: headerless 8 kHz μ-law. */
  audio: Uint8Array;
  /** Transcripts for the engine's simulated STT, one per caller turn. */
  transcripts?: string[];
  /**
   * The recording's labelled utterances: each transcript then carries its utterance's length
   * (speechMs), so the simulated STT reveals its interim words in step with the audio.
   */
  labels?: Array<{ startMs: number; endMs: number }>;
  /**
   * The line echoes the agent's audio as it plays: `gainDb` relative to the audio sent, after
   * `delayMs`, mixed into the caller's frames (through a short dispersive impulse response).
   */
  echo?: { gainDb: number; delayMs: number };
  /** Extra <Parameter>s to send in start.customParameters. */
  parameters?: Record<string, string>;
  /** Time factor: 1 = real time, 4 = four times faster (frames and playout both). */
  speed?: number;
  /** Keep the call open this long after the audio ends, for the last answer to play. */
  tailMs?: number;
  /** Digits to press: [{atMs, digit}] on the caller's audio clock. */
  dtmf?: Array<{ atMs: number; digit: string }>;
  /** Called for every message the engine sends. */
  onMessage?: (msg: any, atMs: number) => void;
  /** Sends extra raw messages after start, e.g. malformed input for robustness tests. */
  inject?: (ws: WebSocket, streamSid: string) => void;
  /** Sign the webhook and the upgrade as Twilio would (the engine has TWILIO_AUTH_TOKEN set). */
  authToken?: string;
  /** Host Twilio believes it is calling (the engine's PUBLIC_HOST); default: the base URL's host. */
  publicHost?: string;
}

/** How to sign requests as Twilio: its auth token, and the host it signs URLs with. */
export interface TwilioSigning {
  authToken: string;
  publicHost?: string;
}

const signingHost = (baseUrl: string, s: TwilioSigning) => s.publicHost ?? new URL(baseUrl).host;

export interface SimCallResult {
  streamSid: string;
  callSid: string;
  twiml: string;
  /** Agent audio in the order it played (cleared audio excluded). */
  agentAudio: Uint8Array;
  /** Every media message's arrival time (ms since the call's first frame, caller clock). */
  mediaAt: number[];
  /** Marks the engine sent, and those we echoed back (after playing, or on clear). */
  marksSent: string[];
  marksEchoed: string[];
  clears: number[];
  closeCode?: number;
  closeReason?: string;
  /** Wall time of the call in ms. */
  durationMs: number;
  /** First agent audio after each given caller moment (audio clock ms): caller-perceived latency. */
  responseAfter(callerMs: number): number | undefined;
}

const FRAME = 160;

export async function fetchTwiml(baseUrl: string, workflow?: string, callSid = 'CA' + rand(32), sign?: TwilioSigning): Promise<string> {
  const path = `/twilio/voice${workflow ? `?workflow=${encodeURIComponent(workflow)}` : ''}`;
  const params = { CallSid: callSid, AccountSid: 'AC' + rand(32), From: '+15550001111', To: '+15550002222', CallStatus: 'ringing', Direction: 'inbound' };
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (sign) headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(sign.authToken, `https://${signingHost(baseUrl, sign)}${path}`, params);
  const res = await fetch(baseUrl + path, { method: 'POST', body: new URLSearchParams(params), headers });
  const text = await res.text();
  if (!res.ok) throw new Error(`voice webhook answered ${res.status}: ${text}`);
  if (text.includes('<Reject')) throw new Error(`voice webhook rejected the call (Twilio would not answer it): ${text}`);
  return text;
}

/** The stream URL and <Parameter>s from `<Connect><Stream>` TwiML. */
export function parseStreamTwiml(twiml: string): { url: string; parameters: Record<string, string> } {
  const url = /<Stream[^>]*\surl="([^"]+)"/.exec(twiml)?.[1];
  if (!url) throw new Error(`no <Stream url> in TwiML: ${twiml}`);
  const parameters: Record<string, string> = {};
  for (const m of twiml.matchAll(/<Parameter name="([^"]*)" value="([^"]*)"\/>/g)) parameters[unescapeXml(m[1])] = unescapeXml(m[2]);
  return { url: unescapeXml(url), parameters };
}

export async function simulateCall(opts: SimCallOptions): Promise<SimCallResult> {
  const speed = opts.speed ?? 1;
  const callSid = 'CA' + rand(32);
  const streamSid = 'MZ' + rand(32);
  const sign = opts.authToken ? { authToken: opts.authToken, publicHost: opts.publicHost } : undefined;
  const twiml = await fetchTwiml(opts.baseUrl, opts.workflow, callSid, sign);
  const { url, parameters } = parseStreamTwiml(twiml);
  // Loopback has no TLS: reach the stream path on the engine we were given.
  const wsPath = new URL(url).pathname;
  const wsHeaders: Record<string, string> = {};
  if (sign) wsHeaders['x-twilio-signature'] = twilio.getExpectedTwilioSignature(sign.authToken, `wss://${signingHost(opts.baseUrl, sign)}${wsPath}`, {});
  const ws = new WebSocket(opts.baseUrl.replace(/^http/, 'ws') + wsPath, { headers: wsHeaders });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });

  const t0 = performance.now();
  const clock = () => (performance.now() - t0) * speed; // caller's audio clock, ms
  const played: Uint8Array[] = [];
  const mediaAt: number[] = [];
  const marksSent: string[] = [];
  const marksEchoed: string[] = [];
  const clears: number[] = [];
  // Twilio's outbound buffer: audio and marks in order; playout consumes 8 bytes per ms.
  const queue: Array<{ audio?: Uint8Array; mark?: string }> = [];
  let playCursor = 0; // audio clock ms up to which playout has run
  let sequence = 1;
  let chunk = 0;
  let closeCode: number | undefined;
  let closeReason: string | undefined;
  const send = (m: object) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ ...m, sequenceNumber: String(sequence++) }));
  const echoMark = (name: string) => {
    marksEchoed.push(name);
    send({ event: 'mark', streamSid, mark: { name } });
  };

  // What played, on the audio clock (sample index = ms × 8), for the echo.
  const echoLine = opts.echo ? new Float32Array(Math.ceil((opts.audio.length + ((opts.tailMs ?? 4000) + 60_000) * 8))) : undefined;
  const echoTaps = opts.echo ? ECHO_IR.map(([lag, a]) => [Math.round(opts.echo!.delayMs * 8) + lag, a * 10 ** (opts.echo!.gainDb / 20)] as const) : [];
  const playUntil = (now: number) => {
    let budget = Math.max(0, (now - playCursor) * 8);
    let at = Math.round(playCursor * 8);
    playCursor = now;
    while (queue.length) {
      const head = queue[0];
      if (head.mark !== undefined) {
        queue.shift();
        echoMark(head.mark);
        continue;
      }
      if (budget <= 0) break;
      const a = head.audio!;
      const n = Math.min(a.length, Math.floor(budget));
      if (n <= 0) break;
      played.push(a.subarray(0, n));
      if (echoLine) {
        for (let i = 0; i < n; i++) {
          const v = ULAW_TO_PCM[a[i]];
          for (const [lag, g] of echoTaps) if (at + i + lag < echoLine.length) echoLine[at + i + lag] += g * v;
        }
        at += n;
      }
      budget -= n;
      if (n === a.length) queue.shift();
      else head.audio = a.subarray(n);
    }
  };

  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const msg = JSON.parse(data.toString());
    const at = clock();
    opts.onMessage?.(msg, at);
    if (msg.event === 'media') {
      mediaAt.push(at);
      if (queue.length === 0) playCursor = at; // playout starts when audio arrives
      queue.push({ audio: new Uint8Array(Buffer.from(msg.media.payload, 'base64')) });
    } else if (msg.event === 'mark') {
      marksSent.push(msg.mark.name);
      queue.push({ mark: msg.mark.name });
      playUntil(at);
    } else if (msg.event === 'clear') {
      clears.push(at);
      const pending = queue.splice(0).filter((q) => q.mark !== undefined);
      for (const p of pending) echoMark(p.mark!);
    }
  });
  const closed = new Promise<void>((resolve) =>
    ws.once('close', (code, reason) => {
      closeCode = code;
      closeReason = reason.toString();
      resolve();
    }),
  );

  // Twilio's "connected" carries no sequence number; numbering starts at "start".
  ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
  send({
      event: 'start',
      streamSid,
      start: {
        streamSid,
        accountSid: 'AC' + rand(32),
        callSid,
        tracks: ['inbound'],
        customParameters: { ...parameters, ...opts.parameters, ...(opts.transcripts ? { transcripts: JSON.stringify(scripted(opts.transcripts, opts.labels)) } : {}) },
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
  });
  opts.inject?.(ws, streamSid);

  // Stream frames on the audio clock; pad the tail with μ-law silence so the engine keeps
  // hearing "the line" while the last answer plays.
  const tailMs = opts.tailMs ?? 4000;
  const totalFrames = Math.ceil(opts.audio.length / FRAME) + Math.ceil(tailMs / 20);
  const dtmf = [...(opts.dtmf ?? [])].sort((a, b) => a.atMs - b.atMs);
  let ended = false;
  void closed.then(() => (ended = true));
  for (let i = 0; i < totalFrames && !ended; i++) {
    const due = i * 20;
    const wait = due / speed - (performance.now() - t0);
    if (wait > 1) await sleep(wait);
    playUntil(clock());
    while (dtmf.length && dtmf[0].atMs <= due) send({ event: 'dtmf', streamSid, dtmf: { track: 'inbound_track', digit: dtmf.shift()!.digit } });
    const frame = new Uint8Array(FRAME).fill(0xff);
    const start = i * FRAME;
    if (start < opts.audio.length) frame.set(opts.audio.subarray(start, Math.min(start + FRAME, opts.audio.length)));
    if (echoLine) {
      // The caller's microphone picks up what played: their voice plus the echo, μ-law again.
      for (let k = 0; k < FRAME; k++) {
        const v = ULAW_TO_PCM[frame[k]] + (echoLine[start + k] ?? 0);
        frame[k] = PCM_TO_ULAW[Math.max(-32768, Math.min(32767, Math.round(v))) & 0xffff];
      }
    }
    send({ event: 'media', streamSid, media: { track: 'inbound', chunk: String(++chunk), timestamp: String(due), payload: Buffer.from(frame).toString('base64') } });
  }
  if (!ended) {
    send({ event: 'stop', streamSid, stop: { accountSid: 'AC', callSid } });
    await Promise.race([closed, sleep(2000)]);
    ws.close();
  }
  await Promise.race([closed, sleep(500)]);
  const agentAudio = Buffer.concat(played);
  return {
    streamSid,
    callSid,
    twiml,
    agentAudio: new Uint8Array(agentAudio.buffer, agentAudio.byteOffset, agentAudio.byteLength),
    mediaAt,
    marksSent,
    marksEchoed,
    clears,
    closeCode,
    closeReason,
    durationMs: performance.now() - t0,
    responseAfter: (callerMs) => {
      const first = mediaAt.find((t) => t >= callerMs);
      return first === undefined ? undefined : first - callerMs;
    },
  };
}

/** A hybrid's or a handset's echo path: the direct path and a few reflections within 12 ms (lag in samples, gain). */
export const ECHO_IR: ReadonlyArray<readonly [number, number]> = [
  [0, 1],
  [3, -0.35],
  [11, 0.2],
  [37, -0.12],
  [90, 0.06],
];

/** The simulated STT's script: with labels, each transcript carries its utterance's length. */
function scripted(transcripts: string[], labels?: Array<{ startMs: number; endMs: number }>): Array<string | { text: string; speechMs: number }> {
  if (!labels) return transcripts;
  return transcripts.map((text, i) => (labels[i] ? { text, speechMs: labels[i].endMs - labels[i].startMs } : text));
}

function rand(n: number): string {
  let s = '';
  while (s.length < n) s += Math.random().toString(16).slice(2);
  return s.slice(0, n);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function unescapeXml(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
