// Fakes for the scale-out tests.
import { buildProviders } from '../../engine/providers/registry.ts';
import { loadConfig } from '../../engine/config.ts';
import type { LlmProvider } from '../../adapters/kit/types.ts';
import type { Workflow } from '../../engine/workflow.ts';

/** Providers with a fake LLM that answers anything with one sentence naming the question, counting requests. */
export function countingLlm(counter: { n: number }) {
  return (wf: Workflow) => {
    const llm: LlmProvider = {
      name: 'counted-llm',
      async *stream(req) {
        counter.n++;
        const q = [...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
        yield { text: `About "${q.slice(0, 40)}": our front desk will gladly help with that.` };
      },
    };
    return { ...buildProviders(wf, loadConfig({})), llm };
  };
}
