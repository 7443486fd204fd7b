import { readFileSync } from 'node:fs';
import { parseWorkflow } from './engine/workflow.ts';
import { WorkflowResponder } from './adapters/local/workflow-responder.ts';
const wf = parseWorkflow(JSON.parse(readFileSync('engine/workflows/demo.json','utf8')), 'demo.json');
const fx = JSON.parse(readFileSync('test/fixtures/cache/harbour-dental.faq.json','utf8'));
const raw = parseWorkflow({ id: 'raw', faq: fx.entries }, 'raw');
for (const [name, w] of [['demo', wf], ['raw', raw]] as const) {
  for (const th of [0.4, 0.45, 0.5, 0.55, 0.6]) {
  const r = new WorkflowResponder(w, { threshold: th });
  let ok=0, wrong=0, miss=0, fa=0; const bad: string[] = [];
  for (const q of fx.queries) {
    const m = r.match(q.text, q.language); const got = m?.entry.id ?? null;
    if (got === q.expect) ok++; else { if (q.expect === null) fa++; else if (got === null) miss++; else wrong++; if (th===0.5) bad.push(`${q.text} => ${got} (${r.bestCandidate(q.text,q.language)?.entry.id} ${r.bestCandidate(q.text,q.language)?.score.toFixed(2)}) want ${q.expect}`); }
  }
  console.log(name, th, 'ok', ok, '/', fx.queries.length, 'miss', miss, 'wrongEntry', wrong, 'answeredWhenShouldNot', fa);
  if (th===0.5) console.log(bad.join('\n'));
  }
}
