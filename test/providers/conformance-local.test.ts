// The conformance suite on the local (no-key) adapters.
import { parseWorkflow } from '../../engine/workflow.ts';
import { describeLlmConformance, describeSttConformance, describeTtsConformance } from '../../adapters/testkit/conformance.ts';
import { SimulatedStt } from '../../adapters/local/simulated-stt.ts';
import { WorkflowResponder } from '../../adapters/local/workflow-responder.ts';
import { EspeakTts } from '../../adapters/local/espeak-tts.ts';
import { workflowScript } from '../../engine/providers/workflow-script.ts';

const workflow = parseWorkflow(
  {
    id: 'conformance',
    faq: [{ id: 'hours', question: 'What are your opening hours?', answer: 'We are open Monday to Friday from nine to five. On Saturdays we open at ten.' }],
  },
  'conformance test',
);

describeLlmConformance('workflow responder', () => new WorkflowResponder(workflowScript(workflow)));
describeTtsConformance('espeak', () => new EspeakTts(), { voice: 'en-us' });
describeSttConformance('simulated stt', () => new SimulatedStt({ latencyMs: 5 }), {
  ctx: { parameters: { transcripts: JSON.stringify(['one', 'two', 'three', 'four']) } },
  expectText: /one|two|three|four/,
  silenceIsEmpty: false, // a simulation: it returns its script, it does not listen
});
