// The adapter conformance suite: vitest `describe` blocks that check any STT/LLM/TTS adapter
// does what the engine relies on. Streaming order and shape, abort (the stream ends and emits
// nothing after the abort; an aborted call throws ProviderError 'aborted' or ends), error
// classification (known failures throw ProviderError of the right kind, with retryAfterMs when
// given), options refused in the constructor, audio format (8 kHz μ-law of plausible length)
// and timing metadata (first output and end on the monotonic clock). Given an UpstreamProbe of
// the test server, it also checks that output streams while the server holds back the rest and
// that abort and close() close the upstream connection.
// No test asserts a duration: a stream that does not stop fails by the test timeout instead.
import { describe, expect, it } from 'vitest';
import { ProviderError, type CallContext, type ChatMessage, type LlmProvider, type ProviderErrorKind, type SttProvider, type TtsProvider } from '../kit/types.ts';
import { measureStream, testUtterance, ulawProblems } from './checks.ts';

type Maker<P> = () => P | Promise<P>;

export interface KnownFailure<P> {
  /** What goes wrong, e.g. "HTTP 500", "bad key". */
  name: string;
  kind: ProviderErrorKind;
  make: Maker<P>;
  /** The ProviderError's retryAfterMs must be this (the server's retry-after, in ms). */
  retryAfterMs?: number;
}

/** Options the adapter must refuse in its constructor, so a mistake stops the engine at startup. */
export interface InvalidOptions {
  /** What is wrong, e.g. "no apiKey", "maxTokens 0". */
  name: string;
  /** Constructs the adapter; must throw. */
  make: () => unknown;
}

/**
 * The test server's side of the connection, for the checks an adapter cannot show by itself.
 * The loopback fakes in test/support/ implement it (loopback-http.ts, Probe).
 */
export interface UpstreamProbe {
  /** From now on, responses stop after their first output until release(). */
  hold(): void;
  release(): void;
  /** Requests (or sockets) the server has open right now. */
  open(): number;
}

export interface CommonOptions<P> {
  ctx?: Partial<CallContext>;
  /** Providers that fail in a known way; each must throw ProviderError of that kind. */
  failures?: KnownFailure<P>[];
  /** Each must throw when constructed. */
  invalid?: InvalidOptions[];
  /** The test server, to check streaming before the answer is complete and the connection closed on abort. */
  upstream?: UpstreamProbe;
}

function context(c?: Partial<CallContext>): CallContext {
  return { callId: 'conformance', workflow: 'conformance', language: 'en-US', parameters: {}, ...c };
}

/** Runs `f` and returns what it threw (fails the test when it does not throw). */
async function thrown(f: () => Promise<unknown>): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

function expectKind(e: unknown, kind: ProviderErrorKind): void {
  expect(e, `expected a ProviderError, got ${String(e)}`).toBeInstanceOf(ProviderError);
  expect((e as ProviderError).kind, (e as Error).message).toBe(kind);
}

/** Waits until `cond` holds, polling; a condition that never holds fails by the test timeout. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 4000) throw new Error(`gave up waiting: ${what}`); // stop polling once the test has surely timed out
    await new Promise((r) => setTimeout(r, 5));
  }
}

function constructorCases(invalid: InvalidOptions[] = []): void {
  for (const v of invalid) {
    it(`refuses invalid options in the constructor: ${v.name}`, () => {
      expect(() => v.make()).toThrow();
    });
  }
}

/** After abort(), a stream must end (return or throw 'aborted') and yield nothing more. */
async function drainAfterAbort<T>(it: AsyncIterator<T>): Promise<{ after: number; error?: unknown }> {
  let after = 0;
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) break;
      after++;
    }
  } catch (e) {
    return { after, error: e };
  }
  return { after };
}

/**
 * The streaming, abort and failure cases every streaming provider (LLM, TTS) shares; `open`
 * starts its stream, `output` names what it streams.
 */
function streamingCases<P>(make: Maker<P>, open: (p: P, signal: AbortSignal) => AsyncIterable<unknown>, output: string, opts: CommonOptions<P>): void {
  const upstream = opts.upstream;
  if (upstream) {
    it(`streams: the first ${output} arrives while the server still holds back the rest`, async () => {
      const p = await make();
      upstream.hold();
      try {
        const it = open(p, new AbortController().signal)[Symbol.asyncIterator]();
        // A buffering adapter waits for the end of the answer here, which never comes while held.
        const first = await it.next();
        expect(first.done).toBe(false);
        expect(upstream.open(), 'the server has finished: the answer was not held back').toBeGreaterThan(0);
        upstream.release();
        let rest = 0;
        for (let r = await it.next(); !r.done; r = await it.next()) rest++;
        expect(rest, `nothing after the first ${output}: the rest of the answer was lost`).toBeGreaterThan(0);
      } finally {
        upstream.release();
      }
    });
  }

  it(`emits nothing after abort and ends${upstream ? ', closing the upstream connection' : ''}`, async () => {
    const p = await make();
    const ac = new AbortController();
    upstream?.hold(); // the answer is still streaming when the abort comes
    try {
      const it = open(p, ac.signal)[Symbol.asyncIterator]();
      const first = await it.next();
      expect(first.done).toBe(false);
      if (upstream) expect(upstream.open()).toBeGreaterThan(0);
      ac.abort();
      const { after, error } = await drainAfterAbort(it);
      expect(after).toBe(0);
      if (error !== undefined) expectKind(error, 'aborted');
      if (upstream) await until(() => upstream.open() === 0, 'the adapter to close its upstream connection after abort');
    } finally {
      upstream?.release();
    }
  });

  it(`refuses an already aborted request without ${output}`, async () => {
    const p = await make();
    const ac = new AbortController();
    ac.abort();
    const { after, error } = await drainAfterAbort(open(p, ac.signal)[Symbol.asyncIterator]());
    expect(after).toBe(0);
    if (error !== undefined) expectKind(error, 'aborted');
  });

  for (const f of opts.failures ?? []) {
    it(`classifies failure "${f.name}" as ${f.kind}${f.retryAfterMs !== undefined ? ' with retryAfterMs' : ''}`, async () => {
      const p = await f.make();
      const e = await thrown(async () => {
        for await (const _ of open(p, new AbortController().signal)) void _;
      });
      expectKind(e, f.kind);
      if (f.retryAfterMs !== undefined) expect((e as ProviderError).retryAfterMs).toBe(f.retryAfterMs);
    });
  }

  constructorCases(opts.invalid);
}

// ------------------------------------------------------------------------------------ LLM

export interface LlmConformanceOptions extends CommonOptions<LlmProvider> {
  messages?: ChatMessage[];
  /** The answer must arrive in ≥ 2 chunks (true for real streaming providers). Default true. */
  expectStreaming?: boolean;
}

export function describeLlmConformance(name: string, make: Maker<LlmProvider>, opts: LlmConformanceOptions = {}): void {
  const messages = opts.messages ?? [
    { role: 'system', content: 'You are a phone agent. Answer in two short sentences.' },
    { role: 'user', content: 'What are your opening hours?' },
  ];
  const req = (signal: AbortSignal) => ({ ctx: context(opts.ctx), messages, signal });

  describe(`LLM conformance: ${name}`, () => {
    it('has a name', async () => {
      const p = await make();
      expect(typeof p.name).toBe('string');
      expect(p.name.length).toBeGreaterThan(0);
    });

    it('streams text chunks, in order, with timing metadata', async () => {
      const p = await make();
      const m = await measureStream(p.stream(req(new AbortController().signal)));
      expect(m.items.length).toBeGreaterThan(0);
      for (const c of m.items) expect(typeof c.text).toBe('string');
      const text = m.items.map((c) => c.text).join('');
      expect(text.trim().length).toBeGreaterThan(0);
      if (opts.expectStreaming ?? true) expect(m.items.length).toBeGreaterThanOrEqual(2);
      expect(m.firstMs).not.toBeNull();
      expect(m.firstMs!).toBeGreaterThanOrEqual(0);
      expect(m.firstMs!).toBeLessThanOrEqual(m.totalMs);
    });

    streamingCases(make, (p, signal) => p.stream(req(signal)), 'output', opts);
  });
}

// ------------------------------------------------------------------------------------ TTS

export interface TtsConformanceOptions extends CommonOptions<TtsProvider> {
  text?: string;
  voice?: string;
  language?: string;
}

export function describeTtsConformance(name: string, make: Maker<TtsProvider>, opts: TtsConformanceOptions = {}): void {
  const text = opts.text ?? 'Hello, this is the conformance test of the speech output.';
  const req = (signal: AbortSignal, t = text) => ({ ctx: context(opts.ctx), text: t, voice: opts.voice ?? '', language: opts.language ?? 'en-US', signal });

  describe(`TTS conformance: ${name}`, () => {
    it('has a name', async () => {
      const p = await make();
      expect(p.name.length).toBeGreaterThan(0);
    });

    it('streams 8 kHz μ-law audio of plausible length, with timing metadata', async () => {
      const p = await make();
      const m = await measureStream(p.synthesize(req(new AbortController().signal)));
      expect(m.items.length).toBeGreaterThan(0);
      for (const c of m.items) expect(c).toBeInstanceOf(Uint8Array);
      const audio = Buffer.concat(m.items);
      expect(ulawProblems(audio, text)).toEqual([]);
      expect(m.firstMs!).toBeGreaterThanOrEqual(0);
      expect(m.firstMs!).toBeLessThanOrEqual(m.totalMs);
    });

    streamingCases(make, (p, signal) => p.synthesize(req(signal)), 'audio', opts);
  });
}

// ------------------------------------------------------------------------------------ STT

export interface SttConformanceOptions extends CommonOptions<SttProvider> {
  /** 20 ms frames of 8 kHz PCM16 with speech flags; default a synthetic utterance. */
  audio?: Array<{ pcm: Int16Array; speech: boolean }>;
  /** What the transcript must match (default: any non-empty text). */
  expectText?: RegExp;
  /** A turn with no speech returns "" (default true; a simulation may script text anyway). */
  silenceIsEmpty?: boolean;
  /** Pace pushes like a live call (ms per frame, default 0: as fast as possible). */
  frameDelayMs?: number;
  /** The provider reports interim results: onInterim must fire during a turn with speech. */
  expectInterim?: boolean;
}

export function describeSttConformance(name: string, make: Maker<SttProvider>, opts: SttConformanceOptions = {}): void {
  const audio = opts.audio ?? testUtterance();
  const feed = async (s: { push(p: Int16Array, sp: boolean): void }, frames = audio) => {
    for (const f of frames) {
      s.push(f.pcm, f.speech);
      if (opts.frameDelayMs) await new Promise((r) => setTimeout(r, opts.frameDelayMs));
    }
  };

  describe(`STT conformance: ${name}`, () => {
    it('transcribes a turn, with timing metadata', async () => {
      const p = await make();
      expect(p.name.length).toBeGreaterThan(0);
      const s = p.open(context(opts.ctx), new AbortController().signal);
      try {
        await feed(s);
        const t0 = performance.now();
        const r = await s.endTurn(new AbortController().signal);
        const ms = performance.now() - t0;
        expect(typeof r.text).toBe('string');
        if (opts.expectText) expect(r.text).toMatch(opts.expectText);
        else expect(r.text.trim().length).toBeGreaterThan(0);
        if (r.language !== undefined) expect(r.language).toMatch(/^[a-z]{2,3}(-[A-Za-z0-9]+)*$/);
        expect(ms).toBeGreaterThanOrEqual(0);
      } finally {
        s.close();
      }
    });

    if (opts.silenceIsEmpty ?? true) {
      it('returns "" for a turn with no speech', async () => {
        const p = await make();
        const s = p.open(context(opts.ctx), new AbortController().signal);
        try {
          await feed(s, audio.map((f) => ({ pcm: new Int16Array(f.pcm.length), speech: false })));
          expect((await s.endTurn(new AbortController().signal)).text).toBe('');
        } finally {
          s.close();
        }
      });
    }

    it('rejects endTurn with an aborted signal as "aborted"', async () => {
      const p = await make();
      const s = p.open(context(opts.ctx), new AbortController().signal);
      try {
        await feed(s);
        const ac = new AbortController();
        ac.abort();
        expectKind(await thrown(() => s.endTurn(ac.signal)), 'aborted');
      } finally {
        s.close();
      }
    });

    it('close() is idempotent and push() after close() is ignored', async () => {
      const p = await make();
      const s = p.open(context(opts.ctx), new AbortController().signal);
      let interimAfterClose = 0;
      s.close();
      s.onInterim = () => interimAfterClose++;
      expect(() => s.close()).not.toThrow();
      expect(() => s.push(audio[0].pcm, true)).not.toThrow();
      expect(interimAfterClose).toBe(0);
    });

    if (opts.expectInterim) {
      it('reports interim results through onInterim', async () => {
        const p = await make();
        const s = p.open(context(opts.ctx), new AbortController().signal);
        const interim: string[] = [];
        s.onInterim = (t) => interim.push(t);
        try {
          await feed(s);
          await s.endTurn(new AbortController().signal);
          expect(interim.length).toBeGreaterThan(0);
          expect(interim.every((t) => typeof t === 'string' && t.length > 0)).toBe(true);
        } finally {
          s.close();
        }
      });
    }

    const upstream = opts.upstream;
    if (upstream) {
      for (const how of ['close()', 'the call signal aborting'] as const) {
        it(`${how} closes the upstream connection`, async () => {
          const p = await make();
          const ac = new AbortController();
          const s = p.open(context(opts.ctx), ac.signal);
          await feed(s, audio.slice(0, 5));
          await until(() => upstream.open() > 0, 'the adapter to connect');
          if (how === 'close()') s.close();
          else ac.abort();
          await until(() => upstream.open() === 0, `the adapter to close its connection on ${how}`);
          s.close();
        });
      }
    }

    for (const f of opts.failures ?? []) {
      it(`classifies failure "${f.name}" as ${f.kind}${f.retryAfterMs !== undefined ? ' with retryAfterMs' : ''}`, async () => {
        const p = await f.make();
        const s = p.open(context(opts.ctx), new AbortController().signal);
        try {
          await feed(s);
          const e = await thrown(() => s.endTurn(new AbortController().signal));
          expectKind(e, f.kind);
          if (f.retryAfterMs !== undefined) expect((e as ProviderError).retryAfterMs).toBe(f.retryAfterMs);
        } finally {
          s.close();
        }
      });
    }

    constructorCases(opts.invalid);
  });
}
