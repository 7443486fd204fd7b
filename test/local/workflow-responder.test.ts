import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseWorkflow, type Workflow } from '../../engine/workflow.ts';
import { WorkflowResponder, tokenize } from '../../adapters/local/workflow-responder.ts';
import type { LlmChunk, LlmRequest } from '../../adapters/kit/types.ts';
import { workflowScript } from '../../engine/providers/workflow-script.ts';

const demo = parseWorkflow(JSON.parse(readFileSync(new URL('../../engine/workflows/demo.json', import.meta.url), 'utf8')), 'demo.json');
const fixture = JSON.parse(readFileSync(new URL('../fixtures/cache/harbour-dental.faq.json', import.meta.url), 'utf8')) as {
  entries: unknown[];
  queries: { text: string; language: string; expect: string | null }[];
};
// The fixture's entries with no alternates: the matcher alone, nothing written for these queries.
const bare: Workflow = parseWorkflow({ id: 'bare', faq: fixture.entries }, 'fixture');

function req(text: string, language = 'en-US', signal = new AbortController().signal): LlmRequest {
  return { ctx: { callId: 't', workflow: 'demo', language, parameters: {} }, messages: [{ role: 'system', content: 'x' }, { role: 'user', content: text }], signal };
}
async function all(r: WorkflowResponder, q: LlmRequest): Promise<LlmChunk[]> {
  const out: LlmChunk[] = [];
  for await (const c of r.stream(q)) out.push(c);
  return out;
}

describe('demo workflow', () => {
  it('validates and uses the local providers', () => {
    expect(demo.id).toBe('demo');
    expect(demo.mode).toBe('media');
    expect(demo.providers.stt[0].provider).toBe('simulated');
    expect(demo.providers.llm[0].provider).toBe('workflow');
    expect(demo.providers.tts[0].provider).toBe('espeak');
    expect(new Set(demo.faq.map((e) => e.language))).toEqual(new Set(['en', 'es', 'zh-HK']));
    expect(demo.voices['zh-HK']).toBe('yue');
  });
});

describe('WorkflowResponder.match', () => {
  const r = new WorkflowResponder(workflowScript(bare));

  it('matches paraphrases of FAQ questions with no alternates written for them', () => {
    expect(r.match('do you open on saturdays', 'en')?.entry.id).toBe('hours-saturday');
    expect(r.match('how much is a cleaning', 'en')?.entry.id).toBe('price-cleaning');
    expect(r.match('please cancel my appointment', 'en-US')?.entry.id).toBe('cancel');
    expect(r.match('Is there PARKING at the clinic??', 'en')?.entry.id).toBe('parking');
    expect(r.match('¿Dónde se encuentra la clínica?', 'es-ES')?.entry.id).toBe('es-location');
    expect(r.match('請問診所喺邊？', 'zh-HK')?.entry.id).toBe('yue-location');
  });

  it('falls back on unrelated text, negations and swapped entities', () => {
    for (const q of ["what's the weather like today", "i don't want to cancel my appointment", 'i want to cancel my insurance', 'how much is a root canal', '']) {
      expect(r.match(q, 'en'), q).toBeNull();
    }
    expect(r.match('我唔想預約', 'zh-HK')).toBeNull();
    // Languages stay apart: an English question asked in a Spanish partition is not answered.
    expect(r.match('what are your hours during the week', 'es')).toBeNull();
  });

  it('on the labelled fixture queries never answers with the wrong entry', () => {
    for (const wf of [bare, demo]) {
      const m = new WorkflowResponder(workflowScript(wf));
      let correct = 0;
      const wrong: string[] = [];
      for (const q of fixture.queries) {
        const got = m.match(q.text, q.language)?.entry.id ?? null;
        if (got === q.expect) correct++;
        else if (got !== null) wrong.push(`${q.text} → ${got} (want ${q.expect})`);
      }
      expect(wrong, wf.id).toEqual([]);
      // The demo's alternates must lift recall above the bare matcher's.
      expect(correct / fixture.queries.length, wf.id).toBeGreaterThan(wf === demo ? 0.9 : 0.7);
    }
  });

  it('tokenizes CJK as character bigrams and folds accents and plurals', () => {
    expect(tokenize('洗牙幾多錢').terms.has('洗牙')).toBe(true);
    expect([...tokenize('Dónde están las clínicas').terms]).toContain('clinica');
    expect(tokenize("I don't want that").negated).toBe(true);
  });
});

describe('WorkflowResponder.stream', () => {
  const r = new WorkflowResponder(workflowScript(demo));

  it('streams the FAQ answer word by word, cacheable', async () => {
    const chunks = await all(r, req('are you open on sundays'));
    const sunday = demo.faq.find((e) => e.id === 'hours-sunday')!;
    expect(chunks.length).toBe(sunday.answer.split(/\s+/).length);
    expect(chunks.map((c) => c.text).join('')).toBe(sunday.answer);
    expect(chunks.every((c) => c.cacheable === true)).toBe(true);
  });

  it('answers in the caller language partition (Cantonese)', async () => {
    const text = (await all(r, req('洗一次牙要幾錢？', 'zh-HK'))).map((c) => c.text).join('');
    expect(text).toBe(demo.faq.find((e) => e.id === 'yue-price-cleaning')!.answer);
  });

  it('says the fallback (not cacheable) on unrelated text, and the goodbye line on goodbye', async () => {
    const fb = await all(r, req('can i book a table for two'));
    expect(fb.map((c) => c.text).join('')).toBe(demo.fallback);
    expect(fb.some((c) => c.cacheable)).toBe(false);
    for (const bye of ['Okay, thanks, bye!', 'goodbye', "That's all, thank you", 'adiós', '拜拜']) {
      expect(r.respond(bye, 'en-US').kind, bye).toBe('goodbye');
    }
    expect(r.respond('Hello?', 'en-US').kind).toBe('greeting');
    expect(r.respond('bye the way, where is the clinic', 'en-US').kind).toBe('faq');
  });

  it('says the fixed lines in the caller\'s language when the workflow has them', async () => {
    const fb = await all(r, req('¿puedo reservar una mesa para dos?', 'es-MX'));
    expect(fb.map((c) => c.text).join('')).toBe(demo.lines.es.fallback);
    expect(r.respond('adiós', 'es-ES').text).toBe(demo.lines.es.goodbye);
    expect(r.respond('拜拜', 'zh-HK').text).toBe(demo.lines['zh-HK'].goodbye);
    // Mandarin is not Cantonese: no Mandarin lines, so the workflow's own (English) line.
    expect(r.respond('再见', 'zh-CN').text).toBe(demo.goodbye);
    expect(r.respond('goodbye', 'en-GB').text).toBe(demo.goodbye);
  });

  it('stops with ProviderError(aborted) when aborted mid-answer', async () => {
    const ac = new AbortController();
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const c of r.stream(req('are you open on sundays', 'en-US', ac.signal))) {
          seen.push(c.text);
          if (seen.length === 2) ac.abort();
        }
      })(),
    ).rejects.toMatchObject({ kind: 'aborted' });
    expect(seen.length).toBe(2);
  });
});
