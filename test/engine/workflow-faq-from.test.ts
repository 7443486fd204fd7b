// A workflow can take its FAQ from another in the same directory (the demo's relay twin does), so
// two modes of one business keep one FAQ; the loader refuses what would be ambiguous.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWorkflows } from '../../engine/workflow.ts';

const faq = [{ id: 'hours', language: 'en', question: 'When are you open?', answer: 'Nine to five.' }];

function dirWith(workflows: object[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'weaver-faqfrom-'));
  for (const w of workflows) writeFileSync(join(dir, `${(w as { id: string }).id}.json`), JSON.stringify(w));
  return dir;
}

describe('workflow faqFrom', () => {
  it('gives the workflow the named workflow’s FAQ', () => {
    const wfs = loadWorkflows(dirWith([{ id: 'a', faq }, { id: 'b', mode: 'relay', faqFrom: 'a' }]));
    expect(wfs.get('b')!.faq).toEqual(wfs.get('a')!.faq);
    expect(wfs.get('b')!.faq[0].answer).toBe('Nine to five.');
  });

  it('refuses an unknown workflow, an FAQ beside it, and a chain', () => {
    expect(() => loadWorkflows(dirWith([{ id: 'b', faqFrom: 'nope' }]))).toThrow(/faqFrom "nope" names no workflow/);
    expect(() => loadWorkflows(dirWith([{ id: 'a', faq }, { id: 'b', faq, faqFrom: 'a' }]))).toThrow(/both an faq and faqFrom/);
    expect(() => loadWorkflows(dirWith([{ id: 'a', faq }, { id: 'b', faqFrom: 'a' }, { id: 'c', faqFrom: 'b' }]))).toThrow(/itself takes its FAQ from "a"/);
  });

  it('the shipped relay demo shares the media demo’s FAQ', () => {
    const wfs = loadWorkflows(new URL('../../engine/workflows', import.meta.url).pathname);
    expect(wfs.get('demo-relay')!.faqFrom).toBe('demo');
    expect(wfs.get('demo-relay')!.faq).toEqual(wfs.get('demo')!.faq);
    expect(wfs.get('demo')!.faq.length).toBeGreaterThan(10);
  });
});
