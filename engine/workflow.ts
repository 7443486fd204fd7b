// A workflow is data: who the agent is, what it knows, how it sounds and which providers serve
// it. Files live in engine/workflows/ (or WORKFLOWS_DIR) and are validated when loaded, so a
// typo fails at startup with the file and field named, not mid-call.
import { readFileSync, readdirSync } from 'node:fs';
import { join, basename } from 'node:path';
import { z } from 'zod';

export const FaqEntrySchema = z.object({
  id: z.string().min(1),
  language: z.string().min(2).default('en'),
  question: z.string().min(1),
  answer: z.string().min(1),
  /** Extra phrasings that should reach the same answer. */
  alternates: z.array(z.string()).default([]),
});
export type FaqEntry = z.infer<typeof FaqEntrySchema>;

/** One provider in a chain; `provider` names an adapter, the rest are its options. */
export const ProviderSpecSchema = z.looseObject({ provider: z.string().min(1) });
export type ProviderSpec = z.infer<typeof ProviderSpecSchema>;

export const WorkflowSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  description: z.string().default(''),
  /** media: Twilio Media Streams (engine does STT/TTS). relay: ConversationRelay (Twilio does). */
  mode: z.enum(['media', 'relay']).default('media'),
  language: z.string().default('en-US'),
  prompt: z.string().default('You are a helpful phone agent. Keep answers short.'),
  /** Per-language prompt templates, keyed by BCP-47 code or base language. */
  prompts: z.record(z.string(), z.string()).default({}),
  greeting: z.string().default('Hello! How can I help you today?'),
  fallback: z.string().default("Sorry, I didn't catch that. Could you say it another way?"),
  goodbye: z.string().default('Thank you for calling. Goodbye!'),
  /** The three lines above in other languages, keyed like `prompts` (e.g. {"es": {"goodbye": "…"}}). */
  lines: z.record(z.string(), z.object({ greeting: z.string().min(1).optional(), fallback: z.string().min(1).optional(), goodbye: z.string().min(1).optional() })).default({}),
  faq: z.array(FaqEntrySchema).default([]),
  /** Keypad input: a digit stands for what the caller would have said, e.g. {"1": "What are your hours?"}. */
  dtmf: z.record(z.string().regex(/^[0-9*#]$/), z.string()).default({}),
  /** Voice per language for the TTS chain's first provider, e.g. {"en-US": "en-us"}. */
  voices: z.record(z.string(), z.string()).default({}),
  providers: z
    .object({
      stt: z.array(ProviderSpecSchema).default([{ provider: 'simulated' }]),
      llm: z.array(ProviderSpecSchema).default([{ provider: 'workflow' }]),
      tts: z.array(ProviderSpecSchema).default([{ provider: 'espeak' }]),
    })
    .prefault({}),
  /** ConversationRelay attributes (relay mode only), passed through to the TwiML. */
  relay: z.record(z.string(), z.union([z.string(), z.boolean(), z.number()])).default({}),
});
export type Workflow = z.infer<typeof WorkflowSchema>;

export function parseWorkflow(raw: unknown, source: string): Workflow {
  const r = WorkflowSchema.safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid workflow ${source}: ${issues}`);
  }
  return r.data;
}

/** Loads every *.json in `dir`; the file name must match the workflow id. */
export function loadWorkflows(dir: string): Map<string, Workflow> {
  const out = new Map<string, Workflow>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const path = join(dir, f);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`workflow ${path} is not valid JSON: ${(e as Error).message}`);
    }
    const wf = parseWorkflow(raw, path);
    if (wf.id !== basename(f, '.json')) throw new Error(`workflow ${path}: id "${wf.id}" must match the file name`);
    out.set(wf.id, wf);
  }
  return out;
}
