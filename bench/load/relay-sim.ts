// Plays Twilio's side of a ConversationRelay call against the engine over loopback: asks the
// voice webhook for TwiML, opens the <ConversationRelay url> socket, sends `setup`, then for each
// caller turn the prompts Twilio's STT would send (optionally word-by-word partials, last:false,
// then the final), DTMF or an interruption, and collects the streamed text tokens of the answer.
// With an auth token it signs the webhook and the upgrade exactly as Twilio does.
//
// `npm run call -- --relay [options]`:
//   --url http://127.0.0.1:8080   engine base URL
//   --workflow demo-relay         a relay-mode workflow
//   --prompt "…"                  what the caller says (repeatable); none → type prompts interactively
//   --script FILE.json            scripted turns: ["text", {"say": "…", "partials": true}, {"dtmf": "1"},
//                                 {"say": "…", "interruptAfterChars": 20}]
//   --partials                    send word-by-word partial prompts before each final one
//   --auth-token TOKEN            sign requests like Twilio (engine has TWILIO_AUTH_TOKEN set)
//   --public-host HOST            the engine's PUBLIC_HOST, for the signed URLs
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import twilio from 'twilio';
import WebSocket from 'ws';

export interface RelayStep {
  /** What the caller says: Twilio's final transcript. */
  say?: string;
  /** Press a key instead. */
  dtmf?: string;
  /** Send the utterance word by word as partial prompts first (default: the call's setting). */
  partials?: boolean;
  /** Talk over the agent once this many characters of its answer have arrived. */
  interruptAfterChars?: number;
  /** The prompt's `lang` (default en-US). */
  lang?: string;
}

export interface RelayCallOptions {
  baseUrl: string;
  workflow?: string;
  partials?: boolean;
  /** Gap between partial prompts, ms (default 30). */
  partialGapMs?: number;
  /** Sign the webhook and upgrade as Twilio would. */
  authToken?: string;
  /** Host Twilio believes it is calling (the engine's PUBLIC_HOST); default: the base URL's host. */
  publicHost?: string;
  /** Extra customParameters in setup. */
  parameters?: Record<string, string>;
  /** Longest wait for an answer to finish, ms (default 15 000). */
  answerTimeoutMs?: number;
  onMessage?: (msg: any) => void;
}

export interface RelayTurnResult {
  said: string;
  /** The answer text as streamed (tokens concatenated, nothing trimmed). */
  answer: string;
  tokens: number;
  /** Final prompt sent → first text token received, ms (includes loopback). */
  firstTokenMs?: number;
  /** Final prompt sent → last:true received, ms. */
  lastTokenMs?: number;
  interrupted: boolean;
  /** What Twilio reported as spoken when interrupting. */
  heard?: string;
  ended: boolean;
  timedOut: boolean;
}

export interface RelayCallResult {
  callSid: string;
  twiml: string;
  relayUrl: string;
  parameters: Record<string, string>;
  turns: RelayTurnResult[];
  messages: any[];
  /** The `end` message's handoffData, when the agent ended the session. */
  handoffData?: string;
  closeCode?: number;
  durationMs: number;
}

const rand = (n: number) => {
  let s = '';
  while (s.length < n) s += Math.random().toString(16).slice(2);
  return s.slice(0, n);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const unescapeXml = (s: string) => s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** The relay URL and <Parameter>s of `<Connect><ConversationRelay>` TwiML. */
export function parseRelayTwiml(twiml: string): { url: string; parameters: Record<string, string>; attributes: Record<string, string> } {
  const tag = /<ConversationRelay\s([^>]*?)\/?>/.exec(twiml)?.[1];
  if (!tag) throw new Error(`no <ConversationRelay> in TwiML: ${twiml.slice(0, 300)}`);
  const attributes: Record<string, string> = {};
  for (const m of tag.matchAll(/([A-Za-z]+)="([^"]*)"/g)) attributes[m[1]] = unescapeXml(m[2]);
  if (!attributes.url) throw new Error('<ConversationRelay> has no url');
  const parameters: Record<string, string> = {};
  for (const m of twiml.matchAll(/<Parameter name="([^"]*)" value="([^"]*)"\/>/g)) parameters[unescapeXml(m[1])] = unescapeXml(m[2]);
  return { url: attributes.url, parameters, attributes };
}

/** One simulated relay call, driven turn by turn (the CLI's interactive mode uses it directly). */
export class RelayCaller {
  readonly callSid = 'CA' + rand(32);
  readonly messages: any[] = [];
  twiml = '';
  relayUrl = '';
  parameters: Record<string, string> = {};
  handoffData?: string;
  closeCode?: number;
  private ws?: WebSocket;
  private waiter?: () => void;
  private closed = false;

  constructor(private readonly opts: RelayCallOptions) {}

  private get host(): string {
    return this.opts.publicHost ?? new URL(this.opts.baseUrl).host;
  }

  async connect(): Promise<void> {
    const { baseUrl, workflow, authToken } = this.opts;
    const path = `/twilio/voice${workflow ? `?workflow=${encodeURIComponent(workflow)}` : ''}`;
    const params = { CallSid: this.callSid, AccountSid: 'AC' + rand(32), From: '+15550001111', To: '+15550002222', CallStatus: 'ringing', Direction: 'inbound' };
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (authToken) headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(authToken, `https://${this.host}${path}`, params);
    const res = await fetch(baseUrl + path, { method: 'POST', body: new URLSearchParams(params), headers });
    this.twiml = await res.text();
    if (!res.ok) throw new Error(`voice webhook answered ${res.status}: ${this.twiml}`);
    if (this.twiml.includes('<Reject')) throw new Error(`voice webhook rejected the call (Twilio would not answer it): ${this.twiml}`);
    const t = parseRelayTwiml(this.twiml);
    this.relayUrl = t.url;
    this.parameters = t.parameters;
    const wsPath = new URL(t.url).pathname;
    const wsHeaders: Record<string, string> = {};
    if (authToken) wsHeaders['x-twilio-signature'] = twilio.getExpectedTwilioSignature(authToken, `wss://${this.host}${wsPath}`, {});
    // Loopback has no TLS: reach the relay path on the engine we were given.
    const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + wsPath, { headers: wsHeaders });
    this.ws = ws;
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, r) => reject(new Error(`relay upgrade refused: ${r.statusCode}`)));
    });
    ws.on('message', (data) => {
      let msg: any;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        msg = { type: '(not json)', raw: data.toString() };
      }
      this.messages.push(msg);
      if (msg.type === 'end') this.handoffData = msg.handoffData;
      this.opts.onMessage?.(msg);
      this.waiter?.();
    });
    ws.once('close', (code) => {
      this.closeCode = code;
      this.closed = true;
      this.waiter?.();
    });
    this.send({
      type: 'setup',
      sessionId: 'VX' + rand(32),
      accountSid: params.AccountSid,
      parentCallSid: '',
      callSid: this.callSid,
      from: params.From,
      to: params.To,
      forwardedFrom: params.To,
      callerName: '',
      callType: 'PSTN',
      direction: 'inbound',
      callStatus: 'RINGING',
      customParameters: { ...this.parameters, ...this.opts.parameters },
    });
  }

  /** Sends any message (also malformed ones, for robustness tests). */
  send(msg: object | string): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Resolves when `cond` holds after a message, or the socket closes, or the timeout passes. */
  private until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (cond()) return finish(true);
        if (this.closed) return finish(false);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(ok);
      };
      this.waiter = check;
      check();
    });
  }

  /** One caller turn; resolves when the answer's last token (or `end`, or an interruption) is in. */
  async turn(step: RelayStep | string): Promise<RelayTurnResult> {
    const s: RelayStep = typeof step === 'string' ? { say: step } : step;
    const lang = s.lang ?? 'en-US';
    const said = s.dtmf !== undefined ? `[dtmf ${s.dtmf}]` : (s.say ?? '');
    if ((s.partials ?? this.opts.partials) && s.say) {
      const words = s.say.split(/\s+/).filter(Boolean);
      for (let i = 1; i < words.length; i++) {
        this.send({ type: 'prompt', voicePrompt: words.slice(0, i).join(' '), lang, last: false });
        await sleep(this.opts.partialGapMs ?? 30);
      }
    }
    const from = this.messages.length;
    const sentAt = performance.now();
    if (s.dtmf !== undefined) this.send({ type: 'dtmf', digit: s.dtmf });
    else this.send({ type: 'prompt', voicePrompt: s.say ?? '', lang, last: true });

    const r: RelayTurnResult = { said, answer: '', tokens: 0, interrupted: false, ended: false, timedOut: false };
    let seen = from;
    const absorb = () => {
      for (; seen < this.messages.length; seen++) {
        const m = this.messages[seen];
        if (m.type === 'end') r.ended = true;
        if (m.type !== 'text') continue;
        if (r.firstTokenMs === undefined) r.firstTokenMs = performance.now() - sentAt;
        r.answer += m.token;
        r.tokens++;
        if (m.last) r.lastTokenMs = performance.now() - sentAt;
      }
      return r.lastTokenMs !== undefined || r.ended;
    };
    const limit = this.opts.answerTimeoutMs ?? 15_000;
    if (s.interruptAfterChars !== undefined) {
      const n = s.interruptAfterChars;
      const reached = await this.until(() => absorb() || r.answer.length >= n, limit);
      if (reached && r.lastTokenMs === undefined && !r.ended) {
        r.interrupted = true;
        r.heard = r.answer.slice(0, n);
        this.send({ type: 'interrupt', utteranceUntilInterrupt: r.heard, durationUntilInterruptMs: Math.round(n * 70) });
        // Twilio drops the rest of that answer; give in-flight tokens time to land before the next turn.
        await sleep(150);
        absorb();
      }
      r.timedOut = !reached;
      return r;
    }
    r.timedOut = !(await this.until(absorb, limit));
    return r;
  }

  /** Waits for the agent to end the session (after a goodbye). */
  async waitForEnd(timeoutMs = 15_000): Promise<boolean> {
    return this.until(() => this.handoffData !== undefined || this.messages.some((m) => m.type === 'end') || this.closed, timeoutMs);
  }

  async hangup(): Promise<void> {
    if (!this.ws || this.closed) return;
    this.ws.close(1000, 'caller hung up');
    await this.until(() => this.closed, 2000);
  }
}

/** A whole scripted call: connect, every step in order, hang up. */
export async function simulateRelayCall(opts: RelayCallOptions & { steps: Array<RelayStep | string>; keepOpen?: boolean }): Promise<RelayCallResult & { caller: RelayCaller }> {
  const t0 = performance.now();
  const caller = new RelayCaller(opts);
  await caller.connect();
  const turns: RelayTurnResult[] = [];
  for (const step of opts.steps) {
    const r = await caller.turn(step);
    turns.push(r);
    if (r.ended) break;
  }
  if (turns.at(-1)?.ended) await caller.waitForEnd(2000);
  if (!opts.keepOpen) await caller.hangup();
  return {
    caller,
    callSid: caller.callSid,
    twiml: caller.twiml,
    relayUrl: caller.relayUrl,
    parameters: caller.parameters,
    turns,
    messages: caller.messages,
    handoffData: caller.handoffData,
    closeCode: caller.closeCode,
    durationMs: performance.now() - t0,
  };
}

// ------------------------------------------------------------------ CLI

function printTurn(r: RelayTurnResult): void {
  console.log(`caller: ${r.said}`);
  const timing = r.firstTokenMs === undefined ? 'no answer' : `first token ${r.firstTokenMs.toFixed(0)} ms, last ${r.lastTokenMs?.toFixed(0) ?? '-'} ms, ${r.tokens} tokens`;
  console.log(`agent:  ${r.answer.trim() || '(nothing)'}${r.interrupted ? ` [interrupted; heard "${r.heard}"]` : ''}  (${timing})${r.timedOut ? ' [timed out]' : ''}`);
}

/** `npm run call -- --relay …`; returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  let a;
  try {
    a = parseArgs({
      args,
      options: {
        url: { type: 'string', default: process.env.WEAVER_URL ?? 'http://127.0.0.1:8080' },
        workflow: { type: 'string', default: 'demo-relay' },
        prompt: { type: 'string', multiple: true },
        script: { type: 'string' },
        partials: { type: 'boolean', default: false },
        'auth-token': { type: 'string', default: process.env.TWILIO_AUTH_TOKEN },
        'public-host': { type: 'string', default: process.env.PUBLIC_HOST },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    console.error(`${(e as Error).message} (--help for options)`);
    return 2;
  }
  if (a.help) {
    console.log(readFileSync(new URL(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).join('\n'));
    return 0;
  }
  let steps: Array<RelayStep | string> | undefined = a.prompt;
  if (a.script) {
    try {
      steps = JSON.parse(readFileSync(a.script, 'utf8'));
      if (!Array.isArray(steps) || !steps.every((s) => typeof s === 'string' || (typeof s === 'object' && s !== null))) throw new Error('expected a JSON array of strings or step objects');
    } catch (e) {
      console.error(`--script ${a.script}: ${(e as Error).message}`);
      return 2;
    }
  }
  const caller = new RelayCaller({ baseUrl: a.url!, workflow: a.workflow, partials: a.partials, authToken: a['auth-token'], publicHost: a['public-host'] });
  try {
    await caller.connect();
  } catch (e) {
    console.error(`call failed: ${(e as Error).message} — is the engine running at ${a.url}? (npm start)`);
    return 1;
  }
  const attrs = parseRelayTwiml(caller.twiml).attributes;
  console.log(`relay call ${caller.callSid} to ${a.url} (workflow ${a.workflow}); Twilio would say: "${attrs.welcomeGreeting ?? ''}"`);
  if (steps) {
    for (const s of steps) {
      const r = await caller.turn(s);
      printTurn(r);
      if (r.ended) break;
    }
  } else {
    console.log('type what the caller says (empty line or Ctrl-D to hang up; "#5" presses 5)');
    const rl = createInterface({ input: process.stdin, terminal: process.stdin.isTTY });
    for await (const line of rl) {
      const t = line.trim();
      if (!t) break;
      const r = await caller.turn(/^#[0-9*#]$/.test(t) ? { dtmf: t.slice(1) } : { say: t, partials: a.partials });
      printTurn(r);
      if (r.ended) break;
    }
    rl.close();
  }
  if (caller.messages.some((m) => m.type === 'end')) console.log(`agent ended the session; handoffData: ${caller.handoffData ?? '(none)'}`);
  await caller.hangup();
  console.log(`socket closed with ${caller.closeCode ?? 'no code'}`);
  return 0;
}

// Runs on its own too: `tsx bench/load/relay-sim.ts --prompt "…"`.
if (import.meta.url === `file://${process.argv[1]}`) process.exit(await main(process.argv.slice(2)));
