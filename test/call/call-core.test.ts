// The call core alone, with a fake transport: no server, no sockets, no DSP. Every turn rule both
// transports share is checked here once: answering from the cache or the LLM, barge-in and what
// was heard, DTMF, the goodbye hang-up, language switching, the fallback line, speculation.
import { describe, it, expect, beforeAll } from 'vitest';
import { Observable, Subject } from 'rxjs';
import { map, tap } from 'rxjs/operators';
import type { LlmChunk, LlmProvider, LlmRequest } from '../../adapters/kit/types.ts';
import { loadConfig, type Config } from '../../engine/config.ts';
import { loadWorkflows, type Workflow } from '../../engine/workflow.ts';
import { createMetrics } from '../../engine/metrics/registry.ts';
import { log } from '../../engine/log.ts';
import { CallCore } from '../../engine/call/call-core.ts';
import { turnProviders } from '../../engine/call/turn-record.ts';
import { HedgedLlm, candidates } from '../../engine/providers/chain.ts';
import type { CallOutput, Utterance } from '../../engine/call/io.ts';
import type { AnswerCache, CacheHit, CacheKey } from '../../engine/call/answer-cache.ts';

let config: Config;
let wf: Workflow;
beforeAll(() => {
  config = loadConfig({}, { RELAY_SPECULATE_AFTER_MS: 5 });
  wf = loadWorkflows(config.WORKFLOWS_DIR).get('demo')!;
});

/** A transport that "speaks" each piece as text at once and records what the core asked of it. */
class FakeOutput implements CallOutput {
  readonly mode = 'media' as const;
  readonly joiner = ''; // pieces are raw tokens that carry their own spaces
  readonly utterances: Utterance[] = [];
  readonly said: string[] = [];
  readonly languages: string[] = [];
  hangUps = 0;
  stops = 0;
  shutdownWith?: { code: number; reason: string };
  playing = false;
  private drain = new Subject<void>();
  constructor(readonly speaksGreeting = false) {}
  speak(u: Utterance): Observable<string> {
    this.utterances.push(u);
    return u.pieces.pipe(
      map((p) => p.text),
      tap((t) => this.said.push(t)),
    );
  }
  stop(): undefined {
    this.stops++;
    return undefined;
  }
  drained(): Promise<void> {
    return this.playing ? new Promise((r) => this.drain.subscribe(() => r())) : Promise.resolve();
  }
  /** Playback at "Twilio" ends. */
  finishPlayback(): void {
    this.playing = false;
    this.drain.next();
  }
  languageChanged(locale: string): void {
    this.languages.push(locale);
  }
  hangUp(): void {
    this.hangUps++;
  }
  shutdown(code: number, reason: string): void {
    this.shutdownWith = { code, reason };
  }
}

/** An LLM that answers from a script; `gate` holds the stream after its first token until opened. */
class ScriptedLlm implements LlmProvider {
  readonly name = 'scripted';
  readonly requests: LlmRequest[] = [];
  aborted = 0;
  gate?: Promise<void>;
  constructor(private readonly reply: (last: string) => LlmChunk[] | Error) {}
  async *stream(req: LlmRequest): AsyncIterable<LlmChunk> {
    this.requests.push(req);
    req.signal.addEventListener('abort', () => this.aborted++, { once: true });
    const r = this.reply(req.messages.at(-1)!.content);
    if (r instanceof Error) throw r;
    for (const [i, c] of r.entries()) {
      if (i === 1 && this.gate) await this.gate;
      if (req.signal.aborted) return;
      yield c;
    }
  }
}

class MapCache implements AnswerCache {
  readonly entries = new Map<string, { text: string; audio?: Uint8Array }>();
  readonly learned: Array<{ query: string; answer: string }> = [];
  readonly attached: string[] = [];
  async lookup(_key: CacheKey, query: string): Promise<CacheHit | null> {
    const e = this.entries.get(query);
    return e ? { entryId: query, tier: 'exact', similarity: 1, text: e.text, audio: e.audio, lookupMs: 0 } : null;
  }
  async learn(_key: CacheKey, query: string, answer: string): Promise<string | null> {
    this.learned.push({ query, answer });
    return query;
  }
  attachAudio(entryId: string): void {
    this.attached.push(entryId);
  }
}

function call(llm: LlmProvider, opts: { cache?: AnswerCache; output?: FakeOutput; language?: string; workflow?: Workflow; apology?: Uint8Array } = {}) {
  const output = opts.output ?? new FakeOutput();
  const metrics = createMetrics();
  const core = new CallCore(output, { config, metrics, log, cache: opts.cache, apology: () => opts.apology });
  core.start({ callSid: 'CAcore', workflow: opts.workflow ?? wf, llm, ttsName: 'fake-tts', parameters: {}, language: opts.language });
  return { core, output, metrics };
}

const tick = () => new Promise((r) => setTimeout(r, 10));
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await tick();
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}
const text = (t: string) => ({ kind: 'text' as const, text: t, at: performance.now() });
const tokens = (s: string): LlmChunk[] => s.split(/(?<= )/).map((t) => ({ text: t }));

describe('CallCore', () => {
  it('answers a miss from the LLM, keeps the history, records the turn and offers the answer to the cache', async () => {
    const cache = new MapCache();
    const llm = new ScriptedLlm(() => tokens('We are open nine to five.'));
    const { core, output } = call(llm, { cache });
    core.input(text('When are you open?'));
    await until(() => core.turns.length === 1, 'the turn');
    expect(output.said.join('')).toBe('We are open nine to five.');
    expect(core.history.slice(1).map((m) => [m.role, m.content])).toEqual([
      ['assistant', wf.greeting], // said by Twilio (speaksGreeting false): the model knows it
      ['user', 'When are you open?'],
      ['assistant', 'We are open nine to five.'],
    ]);
    expect(core.turns[0]).toMatchObject({ source: 'llm', user: 'When are you open?', answer: 'We are open nine to five.', interrupted: false });
    expect(cache.learned).toEqual([{ query: 'When are you open?', answer: 'We are open nine to five.' }]);
  });

  it('answers a hit from the cache with its audio and no LLM request', async () => {
    const cache = new MapCache();
    cache.entries.set('Where are you?', { text: 'At 12 Harbour Street.', audio: new Uint8Array([1, 2, 3]) });
    const llm = new ScriptedLlm(() => new Error('must not be asked'));
    const { core, output } = call(llm, { cache });
    core.input(text('Where are you?'));
    await until(() => core.turns.length === 1, 'the turn');
    expect(llm.requests).toHaveLength(0);
    expect(core.turns[0].source).toBe('cache-exact');
    const [piece] = await new Promise<any[]>((r) => {
      const got: any[] = [];
      output.utterances[0].pieces.subscribe({ next: (p) => got.push(p), complete: () => r(got) });
    });
    expect(piece).toMatchObject({ text: 'At 12 Harbour Street.', final: true });
    expect([...piece.audio]).toEqual([1, 2, 3]);
    expect(cache.learned).toEqual([]); // a hit is not learned again
  });

  it('on barge-in stops the output, aborts the LLM and keeps only what was heard', async () => {
    let open!: () => void;
    const llm = new ScriptedLlm(() => tokens('In an emergency call us at once and we will see you today.'));
    llm.gate = new Promise((r) => (open = r));
    const { core, output, metrics } = call(llm);
    core.input(text('I have an emergency'));
    await until(() => output.said.length === 1, 'the first token');
    core.bargeIn('In an');
    open();
    await until(() => core.turns.length === 1, 'the cut turn');
    expect(output.stops).toBe(1);
    expect(llm.aborted).toBe(1);
    expect(core.turns[0]).toMatchObject({ interrupted: true, heard: 'In an' });
    expect(core.history.at(-1)).toEqual({ role: 'assistant', content: 'In an' });
    expect(output.said).toEqual(['In ']); // nothing after the barge-in reached the output
    expect((await metrics.bargeIns.get()).values[0].value).toBe(1);
    expect(core.state).toBe('listening');
  });

  it('turns a digit into what it stands for in the workflow', async () => {
    const llm = new ScriptedLlm((last) => [{ text: `You said: ${last}` }]);
    const { core } = call(llm);
    core.input({ kind: 'dtmf', digit: '2', at: performance.now() });
    await until(() => core.turns.length === 1, 'the turn');
    expect(core.turns[0].user).toBe(wf.dtmf['2']);
    core.input({ kind: 'dtmf', digit: '#', at: performance.now() });
    await until(() => core.turns.length === 2, 'the second turn');
    expect(core.turns[1].user).toBe('I pressed #.');
  });

  it('hangs up after a goodbye only once playback has drained, and not if the caller speaks first', async () => {
    const llm = new ScriptedLlm((last) => (/bye/i.test(last) ? [{ text: wf.goodbye, endCall: true }] : [{ text: 'Yes?' }]));
    const { core, output } = call(llm);
    output.playing = true;
    core.input(text('Thanks, bye'));
    await until(() => core.turns.length === 1, 'the goodbye');
    await tick();
    expect(output.hangUps).toBe(0); // still playing
    output.finishPlayback();
    await until(() => output.hangUps === 1, 'the hang-up');

    const second = call(llm);
    second.output.playing = true;
    second.core.input(text('Thanks, bye'));
    await until(() => second.core.turns.length === 1, 'the goodbye');
    second.core.input(text('Oh wait, one more thing'));
    await until(() => second.core.turns.length === 2, 'the next turn');
    second.output.finishPlayback();
    await tick();
    expect(second.output.hangUps).toBe(0);
  });

  it('switches language on a caller turn in another language, and tells the transport', async () => {
    const llm = new ScriptedLlm(() => [{ text: 'Claro.' }]);
    const { core, output } = call(llm);
    core.input(text('¿Podemos hablar en español, por favor?'));
    await until(() => core.turns.length === 1, 'the turn');
    expect(core.language).toMatch(/^es/);
    expect(output.languages).toEqual([core.language]);
    expect(core.turns[0].languageSwitch).toMatch(/^en-US→es/);
    expect(core.history[0].content).toContain(wf.prompts.es); // the system prompt followed
  });

  it('says the fallback line in the call language when the answer fails, and the call goes on', async () => {
    let fail = true;
    const llm = new ScriptedLlm(() => (fail ? new Error('provider down') : [{ text: 'Back again.' }]));
    const { core, output, metrics } = call(llm);
    core.input(text('Hello?'));
    await until(() => core.turns.length === 1, 'the failed turn');
    expect(output.said).toEqual([wf.fallback]);
    expect(core.history.at(-1)).toEqual({ role: 'assistant', content: wf.fallback });
    expect((await metrics.errors.get()).values.find((v) => v.labels.kind === 'turn')?.value).toBe(1);
    fail = false;
    core.input(text('Hello again?'));
    await until(() => core.turns.length === 2, 'the next turn');
    expect(core.turns[1].answer).toBe('Back again.');
    expect(core.state).not.toBe('ended');
  });

  it('says the pre-synthesised apology when every provider fails, and hangs up after it if the workflow says so', async () => {
    const llm = new ScriptedLlm(() => new Error('every provider down'));
    const apology = new Uint8Array([7, 7, 7]);
    const { core, output } = call(llm, { apology, workflow: { ...wf, onAnswerFailure: 'hang-up' } });
    core.input(text('Hello?'));
    await until(() => output.hangUps === 1, 'the hang-up after the apology');
    expect(core.turns[0]).toMatchObject({ source: 'fallback', answer: wf.fallback });
    const pieces: any[] = [];
    output.utterances[1].pieces.subscribe((p) => pieces.push(p));
    expect(pieces).toEqual([{ text: wf.fallback, audio: apology, final: true }]); // played as is: no TTS needed
  });

  it('speculates on stable interim input and adopts it only for the same final words', async () => {
    const llm = new ScriptedLlm((last) => [{ text: `Answer to ${last}` }]);
    const { core, output } = call(llm);
    core.interim('Do you treat children');
    await until(() => llm.requests.length === 1, 'the speculative request');
    core.input(text('Do you treat children?')); // same words, punctuation aside
    await until(() => core.turns.length === 1, 'the turn');
    expect(llm.requests).toHaveLength(1);
    expect(core.speculation).toEqual({ started: 1, adopted: 1, discarded: 0 });
    core.interim('Is there parking');
    await until(() => llm.requests.length === 2, 'the second speculation');
    core.input(text('Where is the clinic?'));
    await until(() => core.turns.length === 2, 'the second turn');
    expect(core.speculation).toEqual({ started: 2, adopted: 1, discarded: 1 });
    expect(output.said.at(-1)).toBe('Answer to Where is the clinic?'); // never the speculative one
    // Each turn records what became of speculation: adopted, then running on other words.
    expect(core.turns.map((t) => t.speculation)).toEqual(['hit', 'contradicted']);
    // One started and dropped before the final input (an empty prompt), none running at it: wasted.
    core.interim('What about weekends');
    await until(() => llm.requests.length === 4, 'the third speculation'); // the second turn's own request was the third
    core.input(text(''));
    core.input(text('Do you open on Sundays?'));
    await until(() => core.turns.length === 3, 'the third turn');
    // No interim input at all: none.
    core.input(text('Do you take cards?'));
    await until(() => core.turns.length === 4, 'the fourth turn');
    expect(core.turns.map((t) => t.speculation)).toEqual(['hit', 'contradicted', 'wasted', 'none']);
  });

  it('records on each turn the provider the LLM chain chose, with its hedges and failovers', async () => {
    const answer = (name: string, first: Promise<void>) => ({
      name,
      async *stream(req: LlmRequest): AsyncIterable<LlmChunk> {
        await first;
        if (!req.signal.aborted) yield { text: `From ${name}.` };
      },
    });
    let releasePrimary!: () => void;
    const primaryHeld = new Promise<void>((r) => (releasePrimary = r));
    // The primary stays silent on the first answer (hedged: the secondary answers), then fails outright (failover).
    let calls = 0;
    const primary: LlmProvider = {
      name: 'primary',
      stream(req) {
        return calls++ === 0 ? answer('primary', primaryHeld).stream(req) : (async function* (): AsyncIterable<LlmChunk> {
          throw new Error('primary down');
        })();
      },
    };
    const chain = new HedgedLlm(candidates([primary, answer('secondary', Promise.resolve())]), { settings: { minDelayMs: 20, maxDelayMs: 20, firstOutputTimeoutMs: 60_000, stallTimeoutMs: 60_000 }, budgetRatio: 1 });
    const { core, output } = call(chain);
    core.input(text('Is there parking?'));
    await until(() => core.turns.length === 1, 'the hedged turn');
    releasePrimary();
    core.input(text('Where is the clinic?'));
    await until(() => core.turns.length === 2, 'the failed-over turn');
    expect(output.said).toEqual(['From secondary.', 'From secondary.']);
    const routes = core.turns.map((t) => turnProviders(t));
    expect(routes[0]).toEqual({ providers: { llm: ['secondary'] }, hedges: [{ role: 'llm', from: 'primary', to: 'secondary' }], failovers: [] });
    expect(routes[1]).toEqual({ providers: { llm: ['secondary'] }, hedges: [], failovers: [{ role: 'llm', from: 'primary', to: 'secondary', midStream: false }] });
  });

  it('speaks the greeting itself when the transport does not, and ends once', async () => {
    const llm = new ScriptedLlm(() => []);
    const { core, output, metrics } = call(llm, { output: new FakeOutput(true) });
    await until(() => core.turns.length === 1, 'the greeting');
    expect(core.turns[0]).toMatchObject({ index: 0, source: 'greeting' });
    expect(output.said).toEqual([wf.greeting]);
    core.end('hangup', 1000, 'bye');
    core.end('again', 1011, 'twice');
    expect(output.shutdownWith).toEqual({ code: 1000, reason: 'bye' });
    expect((await metrics.callsTotal.get()).values).toEqual([expect.objectContaining({ labels: { mode: 'media', outcome: 'hangup' }, value: 1 })]);
  });
});
