// Local providers' costs: eSpeak NG real-time factor (wall time / audio time, per language,
// first chunk latency included) and the workflow responder's match latency.
// Run: npx tsx bench/micro/local-providers.bench.ts
import { readFileSync } from 'node:fs';
import { Bench } from 'tinybench';
import { EspeakTts } from '../../adapters/local/espeak-tts.ts';
import { WorkflowResponder } from '../../adapters/local/workflow-responder.ts';
import { SentenceChunker } from '../../engine/call/sentence-chunker.ts';
import { resamplePcm16 } from '../../adapters/audio.ts';
import { parseWorkflow } from '../../engine/workflow.ts';
import { workflowScript } from '../../engine/providers/workflow-script.ts';

const demo = parseWorkflow(JSON.parse(readFileSync(new URL('../../engine/workflows/demo.json', import.meta.url), 'utf8')), 'demo.json');
const tts = new EspeakTts();
const texts: [string, string][] = [
  ['en-US', "We're open Monday to Friday from 8 a.m. to 6 p.m., and on Saturdays from 9 to 1."],
  ['es-ES', 'Abrimos de lunes a viernes de 8 de la mañana a 6 de la tarde.'],
  ['zh-HK', '我哋星期一至五朝早八點到夜晚六點開門。'],
  ['zh-CN', '我们周一至周五早上八点到晚上六点营业。'],
];

async function speak(language: string, text: string) {
  const t0 = performance.now();
  let first = 0;
  let bytes = 0;
  for await (const c of tts.synthesize({ ctx: { callId: 'bench', workflow: 'demo', language, parameters: {} }, text, voice: demo.voices[language] ?? '', language, signal: new AbortController().signal })) {
    if (!first) first = performance.now() - t0;
    bytes += c.length;
  }
  return { wallMs: performance.now() - t0, firstMs: first, audioMs: bytes / 8 };
}

await tts.warmUp();
console.log('eSpeak NG (worker thread, wasm2js build) → 8 kHz μ-law; 5 runs each');
for (const [lang, text] of texts) {
  const runs: Awaited<ReturnType<typeof speak>>[] = [];
  for (let i = 0; i < 5; i++) runs.push(await speak(lang, text));
  const med = (k: 'wallMs' | 'firstMs') => runs.map((r) => r[k]).sort((a, b) => a - b)[2];
  console.log(`  ${lang}: audio ${(runs[0].audioMs / 1000).toFixed(2)} s, median wall ${med('wallMs').toFixed(0)} ms, RTF ${(med('wallMs') / runs[0].audioMs).toFixed(3)}, first chunk ${med('firstMs').toFixed(1)} ms`);
}
await EspeakTts.shutdown();

const responder = new WorkflowResponder(workflowScript(demo));
const pcm = new Int16Array(22050).map((_, i) => Math.round(8000 * Math.sin(i / 7)));
const bench = new Bench({ time: 500 });
bench
  .add('responder.match (en paraphrase)', () => void responder.match('what time do you open monday through friday', 'en-US'))
  .add('responder.match (unrelated → null)', () => void responder.match("what's the weather like today", 'en-US'))
  .add('responder.match (zh-HK)', () => void responder.match('洗一次牙要幾錢？', 'zh-HK'))
  .add('sentence chunker, 120-char answer in 4-char deltas', () => {
    const c = new SentenceChunker();
    const t = "Sure, I can help you book. We're open Monday to Friday from 8 a.m. to 6 p.m. What day works best for you?";
    for (let i = 0; i < t.length; i += 4) c.push(t.slice(i, i + 4));
    c.flush();
  })
  .add('resample 1 s 22050 → 8000 (speex q5)', async () => void (await resamplePcm16(pcm, 22050, 8000)));
await bench.run();
console.table(
  bench.tasks.map((t) => {
    const r = t.result as unknown as { latency?: { p50?: number; p99?: number; mean?: number } };
    return { task: t.name, 'p50 µs': ((r.latency?.p50 ?? NaN) * 1000).toFixed(1), 'p99 µs': ((r.latency?.p99 ?? NaN) * 1000).toFixed(1) };
  }),
);
