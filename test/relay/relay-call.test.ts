// ConversationRelay end to end over loopback: the relay caller simulator plays Twilio against a
// real engine (uWebSockets.js, the demo-relay workflow, the workflow responder as the LLM chain).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { simulateRelayCall, RelayCaller, parseRelayTwiml } from '../../bench/load/relay-sim.ts';
import { startTestEngine, waitFor, type TestEngine } from '../support/engine.ts';
import type { RelayCall } from '../../engine/call/relay-call.ts';

let t: TestEngine;
beforeAll(async () => {
  // A fast "speaking rate" so an agent hang-up after a goodbye does not wait seconds.
  t = await startTestEngine({ PERFORMANCE_CACHE_ENABLED: false, RELAY_SPEAKING_CHARS_PER_S: 100_000, RELAY_SPECULATE_AFTER_MS: 20 });
});
afterAll(async () => {
  await t?.stop();
});

const wf = () => t.engine.workflow('demo-relay')!;
const faq = (id: string) => wf().faq.find((e) => e.id === id)!.answer;
const session = (callSid: string) => t.engine.registry.recentRelay.get(callSid)!;
const protocolErrors = async () => {
  const m = await t.engine.metrics.protocolErrors.get();
  return m.values.filter((v) => v.labels.transport === 'relay').reduce((n, v) => n + v.value, 0);
};

describe('a ConversationRelay call end to end', () => {
  it('answers every prompt from the workflow, streaming tokens as they are produced', async () => {
    const r = await simulateRelayCall({ baseUrl: t.url, workflow: 'demo-relay', steps: ['What are your opening hours on weekdays?', 'Is there parking at the clinic?'] });
    expect(parseRelayTwiml(r.twiml).attributes.welcomeGreeting).toBe(wf().greeting);
    expect(r.turns.map((x) => x.answer.trim())).toEqual([faq('hours-weekday'), faq('parking')]);
    // Streamed: several text messages per answer, the last one flagged last:true.
    for (const x of r.turns) expect(x.tokens).toBeGreaterThan(2);
    const texts = r.messages.filter((m) => m.type === 'text');
    expect(texts.filter((m) => m.last)).toHaveLength(2);
    expect(texts.every((m) => typeof m.token === 'string')).toBe(true);

    const s = session(r.callSid);
    expect(s.workflowId).toBe('demo-relay');
    // History: system, the welcome greeting Twilio spoke, then the caller and agent turns.
    expect(s.history.slice(1).map((m) => m.role)).toEqual(['assistant', 'user', 'assistant', 'user', 'assistant']);
    expect(s.history[1].content).toBe(wf().greeting);
    expect(s.history[5].content).toBe(faq('parking'));
    // Per-turn timestamps: prompt received → first token sent.
    expect(s.turns).toHaveLength(2);
    for (const x of s.turns) {
      expect(x.source).toBe('llm');
      expect(x.firstAudioSent).toBeGreaterThanOrEqual(x.responseStart!);
      expect(x.responseStart).toBeGreaterThanOrEqual(x.speechEnd);
      expect(x.latency.turnMs).toBeGreaterThanOrEqual(0);
    }
    await waitFor(() => s.state === 'ended', 'the session to end after hang-up');
    expect(s.outcome).toBe('hangup');
    // Relay turns are counted apart from media turns in the stage histograms.
    const stages = (await t.engine.metrics.stageMs.get()).values.filter((v) => v.metricName === 'weaver_turn_stage_ms_count' && v.labels.stage === 'turn');
    expect(stages.find((v) => v.labels.mode === 'relay')?.value).toBeGreaterThanOrEqual(2);
  });

  it('speculates on partial prompts but commits only on the final prompt', async () => {
    const caller = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    await caller.connect();
    // Partials that stop on a different question than the final one: nothing may be sent for them.
    caller.send({ type: 'prompt', voicePrompt: 'Do you treat', lang: 'en-US', last: false });
    caller.send({ type: 'prompt', voicePrompt: 'Do you treat children', lang: 'en-US', last: false });
    await waitFor(() => session(caller.callSid)?.speculation.started >= 1, 'a speculative answer to start');
    expect(caller.messages.filter((m) => m.type === 'text')).toHaveLength(0);
    const changed = await caller.turn({ say: 'Do you accept dental insurance?' });
    expect(changed.answer.trim()).toBe(faq('insurance'));
    const s = session(caller.callSid);
    expect(s.speculation.adopted).toBe(0);
    expect(s.speculation.discarded).toBeGreaterThanOrEqual(1);

    // Partials that end on the final words: the speculative answer is adopted.
    caller.send({ type: 'prompt', voicePrompt: 'Do you treat children', lang: 'en-US', last: false });
    await waitFor(() => s.speculation.started >= 2, 'a second speculation');
    const same = await caller.turn({ say: 'Do you treat children?' });
    expect(same.answer.trim()).toBe(faq('kids'));
    expect(s.speculation.adopted).toBe(1);
    // History holds exactly the committed turns, not the speculative ones.
    expect(s.history.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['Do you accept dental insurance?', 'Do you treat children?']);
    await caller.hangup();
  });

  it('on interrupt aborts the answer and keeps only what was heard', async () => {
    // A responder that streams slowly, so the caller talks over it mid-answer.
    const slow = await startTestEngine(
      { PERFORMANCE_CACHE_ENABLED: false, RELAY_SPECULATION: false },
      {
        providers: (w) => {
          const base = t.engine.providersFor(t.engine.workflow(w.id)!);
          return { ...base, llm: { name: 'slow-workflow', stream: (req) => slowStream(base.llm.stream(req), req.signal) } };
        },
      },
    );
    try {
      const first = 'I have a dental emergency, what should I do?';
      const r = await simulateRelayCall({ baseUrl: slow.url, workflow: 'demo-relay', steps: [{ say: first, interruptAfterChars: 25 }, 'Where is the clinic located?'] });
      expect(r.turns[0].interrupted).toBe(true);
      const s = slow.engine.registry.recentRelay.get(r.callSid)!;
      const full = faq('emergency');
      // The answer was cut: fewer characters streamed than the whole answer.
      expect(r.turns[0].answer.length).toBeLessThan(full.length);
      const kept = s.history.find((m, i) => m.role === 'assistant' && s.history[i - 1]?.content === first)!.content;
      expect(kept).toBe(r.turns[0].heard);
      expect(s.turns[0].interrupted).toBe(true);
      // No last:true was sent for the cut answer, and the call went on.
      expect(r.turns[1].answer.trim()).toBe(faq('location'));
      expect(r.messages.filter((m) => m.type === 'text' && m.last)).toHaveLength(1);
    } finally {
      await slow.stop();
    }
  });

  it('turns DTMF into caller input', async () => {
    const r = await simulateRelayCall({ baseUrl: t.url, workflow: 'demo-relay', steps: [{ dtmf: '2' }] });
    expect(r.turns[0].answer.trim()).toBe(faq('location'));
    expect(session(r.callSid).turns[0].user).toBe(wf().dtmf['2']);
  });

  it('ends the session with handoffData after the agent says goodbye', async () => {
    const goodbyeEngine = await startTestEngine(
      { PERFORMANCE_CACHE_ENABLED: false, RELAY_SPEAKING_CHARS_PER_S: 100_000 },
      {
        // The workflow responder marks nothing as the end of the call; this chain does on a goodbye.
        providers: (w) => {
          const base = t.engine.providersFor(t.engine.workflow(w.id)!);
          return {
            ...base,
            llm: {
              name: 'workflow-with-hangup',
              async *stream(req) {
                for await (const c of base.llm.stream(req)) yield { ...c, endCall: /goodbye/i.test(req.messages.at(-1)!.content) };
              },
            },
          };
        },
      },
    );
    try {
      const caller = new RelayCaller({ baseUrl: goodbyeEngine.url, workflow: 'demo-relay' });
      await caller.connect();
      const bye = await caller.turn('Thanks, goodbye!');
      expect(bye.answer.trim()).toBe(wf().goodbye);
      expect(await caller.waitForEnd()).toBe(true);
      const r = { messages: caller.messages, callSid: caller.callSid };
      const end = r.messages.find((m) => m.type === 'end');
      expect(end).toBeDefined();
      expect(JSON.parse(end.handoffData)).toMatchObject({ reason: 'agent-goodbye', callSid: r.callSid });
      // `end` came after the goodbye's last token.
      const lastText = r.messages.findLastIndex((m) => m.type === 'text' && m.last);
      expect(r.messages.indexOf(end)).toBeGreaterThan(lastText);
      expect(goodbyeEngine.engine.registry.recentRelay.get(r.callSid)!.outcome).toBe('agent-hangup');
      await caller.hangup();
    } finally {
      await goodbyeEngine.stop();
    }
  });
});

describe('relay controls', () => {
  it('moves Twilio to the caller\'s language with a language message', async () => {
    const caller = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    await caller.connect();
    await caller.turn({ say: 'Can we speak in Spanish, please?' });
    const lang = caller.messages.find((m) => m.type === 'language');
    expect(lang).toMatchObject({ type: 'language', ttsLanguage: expect.stringMatching(/^es/), transcriptionLanguage: expect.stringMatching(/^es/) });
    const s = session(caller.callSid);
    expect(s.language).toMatch(/^es/);
    expect(s.turns[0].languageSwitch).toMatch(/→es/);
    // The next answer comes from the Spanish side of the FAQ.
    const r = await caller.turn({ say: '¿Dónde está la clínica?', lang: 'es-ES' });
    expect(r.answer.trim()).toBe(faq('es-location'));
    await caller.hangup();
  });

  it('sends play, sendDigits and end on request', async () => {
    const caller = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    await caller.connect();
    await waitFor(() => session(caller.callSid)?.state === 'listening', 'setup');
    const s = session(caller.callSid) as RelayCall; // live: not yet an ended call's summary
    s.play('https://example.com/hold.mp3', { loop: 1 });
    s.sendDigits('1w2#');
    expect(() => s.sendDigits('abc')).toThrow();
    s.hangup({ reason: 'transfer', to: 'front-desk' });
    expect(await caller.waitForEnd()).toBe(true);
    expect(caller.messages.map((m) => m.type)).toEqual(['play', 'sendDigits', 'end']);
    expect(caller.messages[0]).toEqual({ type: 'play', source: 'https://example.com/hold.mp3', loop: 1 });
    expect(caller.messages[1]).toEqual({ type: 'sendDigits', digits: '1w2#' });
    expect(JSON.parse(caller.messages[2].handoffData)).toEqual({ reason: 'transfer', to: 'front-desk' });
    expect(s.state).toBe('ended');
    await caller.hangup();
  });
});

describe('bad input on the relay socket', () => {
  it('is logged and counted, never crashes the engine, and leaves other calls alone', async () => {
    const before = await protocolErrors();
    const bad = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    const good = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    await Promise.all([bad.connect(), good.connect()]);
    const junk = [
      '{not json',
      JSON.stringify({ type: 'dance' }),
      JSON.stringify({ type: 'prompt' }),
      JSON.stringify({ type: 'dtmf', digit: 'x' }),
      JSON.stringify({ type: 'interrupt', utteranceUntilInterrupt: 'a', durationUntilInterruptMs: 'soon' }),
      JSON.stringify({ type: 'setup', callSid: 'CAother' }),
      JSON.stringify({ noType: true }),
      '[]',
      JSON.stringify({ type: 'prompt', voicePrompt: 'x'.repeat(t.engine.config.MAX_MESSAGE_BYTES + 10), last: true }),
    ];
    for (const j of junk) bad.send(j);
    const [rb, rg] = await Promise.all([bad.turn('Is there parking at the clinic?'), good.turn('Do you treat children?')]);
    expect(await protocolErrors()).toBe(before + junk.length);
    // Both calls still work, each with its own answer.
    expect(rb.answer.trim()).toBe(faq('parking'));
    expect(rg.answer.trim()).toBe(faq('kids'));
    expect(session(bad.callSid).errors.unknown_type).toBe(1);
    expect(session(bad.callSid).errors.oversized).toBe(1);
    expect(session(good.callSid).errors).toEqual({});
    await Promise.all([bad.hangup(), good.hangup()]);
    const health = await fetch(`${t.url}/health`);
    expect(health.status).toBe(200);
  });

  it('rejects messages before setup without starting a call', async () => {
    const before = await protocolErrors();
    const caller = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    // Connect by hand so nothing is sent before our prompt.
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(t.url.replace(/^http/, 'ws') + '/twilio/relay');
    await new Promise((r) => ws.once('open', r));
    const got: any[] = [];
    ws.on('message', (d) => got.push(JSON.parse(d.toString())));
    ws.send(JSON.stringify({ type: 'prompt', voicePrompt: 'hello', last: true }));
    ws.send(JSON.stringify({ type: 'setup', callSid: caller.callSid, customParameters: { workflow: 'demo-relay' } }));
    ws.send(JSON.stringify({ type: 'prompt', voicePrompt: 'Do you treat children?', last: true }));
    await waitFor(() => got.some((m) => m.type === 'text' && m.last), 'the answer after setup');
    expect(await protocolErrors()).toBe(before + 1);
    expect(got.map((m) => m.token).join('').trim()).toBe(faq('kids'));
    ws.close();
  });
});

/** Re-times a stream: one chunk every 40 ms, abortable. */
async function* slowStream<T>(src: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  for await (const c of src) {
    await new Promise((r) => setTimeout(r, 40));
    if (signal.aborted) return;
    yield c;
  }
}
