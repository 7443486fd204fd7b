// A workflow as its providers see it (adapters/kit/workflow-script.ts): FAQ and fixed lines, the
// lines translated per language as the engine's prompts are (engine/language/prompts.ts).
import type { WorkflowScript } from '../../adapters/kit/workflow-script.ts';
import { workflowLine } from '../language/prompts.ts';
import type { Workflow } from '../workflow.ts';

export function workflowScript(workflow: Workflow): WorkflowScript {
  return { id: workflow.id, language: workflow.language, faq: workflow.faq, line: (kind, language) => workflowLine(workflow, kind, language) };
}
