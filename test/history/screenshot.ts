// Makes the README's call history screenshots: an engine on loopback with a throwaway store, the
// README's three-turn Media Streams call (test/fixtures/audio/call-3turns.ulaw, with its barge-ins)
// and a relay call that switches to Spanish, then the calls list and the media call's inspector in
// headless chromium. So that the inspector has a hedge to show, the media workflow's LLM is a chain of
// two copies of the demo's responder, and the first copy holds its first answer back 2 s: the
// chain hedges to the second copy (a staged delay, named in the README, not a measurement).
//   npx tsx test/history/screenshot.ts [docs/call-history.png] [docs/call-inspector.png]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulateCall } from '../../bench/load/twilio-sim.ts';
import { simulateRelayCall } from '../../bench/load/relay-sim.ts';
import { startTestEngine, fixture, waitFor } from '../support/engine.ts';
import { chromiumMissing, launchChromium } from '../support/chromium.ts';
import { loadConfig } from '../../engine/config.ts';
import { buildProviders } from '../../engine/providers/registry.ts';
import { HedgedLlm, candidates } from '../../engine/providers/chain.ts';
import type { Workflow } from '../../engine/workflow.ts';
import type { LlmChunk, LlmProvider, LlmRequest } from '../../adapters/kit/types.ts';

/** The demo's providers; for the media workflow an LLM chain whose primary is slow on its first answer (the FAQ cache answers the others). */
function providers(wf: Workflow) {
  const p = buildProviders(wf, loadConfig({}, {}));
  if (wf.id !== 'demo') return p;
  let answers = 0;
  const primary: LlmProvider = {
    name: 'faq-primary',
    async *stream(req: LlmRequest): AsyncIterable<LlmChunk> {
      if (answers++ === 0) await new Promise((r) => setTimeout(r, 2000));
      if (!req.signal.aborted) yield* p.llm.stream(req);
    },
  };
  const backup: LlmProvider = { name: 'faq-backup', stream: (req) => p.llm.stream(req) };
  return { ...p, llm: new HedgedLlm(candidates([primary, backup])) };
}

const [listPng = 'docs/call-history.png', inspectorPng = 'docs/call-inspector.png'] = process.argv.slice(2);
const missing = chromiumMissing();
if (missing) {
  console.error(missing);
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'weaver-screenshot-'));
const TOKEN = 'screenshot';
const t = await startTestEngine({ WEAVER_API_TOKEN: TOKEN, HISTORY_PATH: join(dir, 'history.sqlite'), HISTORY_FLUSH_MS: 20, RELAY_SPEAKING_CHARS_PER_S: 100_000 }, { providers });
try {
  const relay = await simulateRelayCall({ baseUrl: t.url, workflow: 'demo-relay', steps: ['What are your opening hours on weekdays?', 'Can we speak Spanish?', '¿Dónde está la clínica?'] });
  const media = await simulateCall({ baseUrl: t.url, audio: fixture('call-3turns.ulaw'), transcripts: ['What are your opening hours on weekdays?', 'Is there parking at the clinic?', 'Thanks, goodbye!'], speed: 1, tailMs: 6000 });
  await waitFor(() => t.engine.registry.recentMedia.get(media.callSid)?.state === 'ended' && t.engine.registry.recentRelay.get(relay.callSid)?.state === 'ended', 'the calls to end');
  await waitFor(() => t.engine.history.written > 0 && t.engine.history.health() !== undefined, 'the store');
  await new Promise((r) => setTimeout(r, 300)); // the last batch
  const b = await launchChromium();
  try {
    const page = await b.newPage();
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${t.url}/dashboard/calls#token=${TOKEN}`);
    await page.waitForFunction(() => Number(document.body.dataset.loaded) >= 1);
    await page.selectOption('#range', '1');
    await page.click('#trend-form button');
    await new Promise((r) => setTimeout(r, 500));
    await page.screenshot({ path: listPng, fullPage: true });
    await page.goto(`${t.url}/dashboard/calls/${media.callSid}`);
    await page.waitForFunction(() => Number(document.body.dataset.loaded) >= 1);
    await page.screenshot({ path: inspectorPng, fullPage: true });
    console.log(`wrote ${listPng} and ${inspectorPng}`);
  } finally {
    await b.close();
  }
} finally {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
