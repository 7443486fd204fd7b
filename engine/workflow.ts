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
  /** Other ways callers ask this (as in intent-based systems); pre-warmed with the same answer and audio, like alternates. */
  examples: z.array(z.string()).default([]),
});
export type FaqEntry = z.infer<typeof FaqEntrySchema>;

// ------------------------------------------------------------------ ConversationRelay settings
// A relay-mode workflow's `relay` record is checked here, when the workflow loads, and comes out
// with every name spelled as Twilio documents it and every value of the type Twilio takes.
// Names, values and ranges: https://www.twilio.com/docs/voice/twiml/connect/conversationrelay
// (the same session settings, by the same names, in
// https://www.twilio.com/docs/voice/conversationrelay/dynamic-configuration). Decisions and
// sources: docs/relay-and-security.md, "Checked against Twilio's docs".

/** What caller input counts: Twilio's values for interruptible, welcomeGreetingInterruptible, reportInputDuringAgentSpeech. */
const INPUT_KINDS = ['none', 'dtmf', 'speech', 'any'] as const;
const BOOLEAN_TEXT = ['true', 'false'] as const;
const relayText = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const relayFlag = z.union([z.boolean(), z.literal(BOOLEAN_TEXT)], { error: 'must be true or false' }).transform((v) => v === true || v === 'true');
/** interruptible, welcomeGreetingInterruptible: Twilio still takes its old booleans here (true = any, false = none). */
const relayInterruptible = z.union([z.enum(INPUT_KINDS), z.boolean(), z.literal(BOOLEAN_TEXT)], { error: 'must be none, dtmf, speech or any' }).transform(String);
/** reportInputDuringAgentSpeech was a boolean once; only the four words are documented now. */
const relayInputKind = z.union([z.enum(INPUT_KINDS), z.boolean(), z.literal(BOOLEAN_TEXT)], { error: 'must be none, dtmf, speech or any' });
/** End-of-turn confidence for Deepgram's flux speech model: 0.5 to 0.9. */
const relayEotThreshold = z
  .union([z.number(), z.string().regex(/^\d*\.?\d+$/).transform(Number)], { error: 'must be a number from 0.5 to 0.9' })
  .pipe(z.number().min(0.5, 'must be a number from 0.5 to 0.9').max(0.9, 'must be a number from 0.5 to 0.9'))
  .transform(String);

/** <ConversationRelay> attributes a workflow may set, by their documented names. */
export const RELAY_ATTRIBUTES = {
  backgroundNoiseReduction: relayText,
  debug: relayText,
  deepgramSmartFormat: relayText,
  dtmfDetection: relayFlag,
  echoPromptFiltering: relayFlag,
  elevenlabsTextNormalization: relayText,
  eotThreshold: relayEotThreshold,
  events: relayText,
  hints: relayText,
  ignoreBackchannel: relayText,
  intelligenceService: relayText,
  interruptSensitivity: relayText,
  interruptible: relayInterruptible,
  language: relayText,
  partialPrompts: relayFlag,
  preemptible: relayFlag,
  profanityFilter: relayFlag,
  reportInputDuringAgentSpeech: relayInputKind,
  speechModel: relayText,
  speechTimeout: relayText,
  transcriptionLanguage: relayText,
  transcriptionProvider: relayText,
  ttsLanguage: relayText,
  ttsProvider: relayText,
  voice: relayText,
  welcomeGreetingInterruptible: relayInterruptible,
} satisfies Record<string, z.ZodType>;
/**
 * Attributes of a <Language> element, set as relay["language.<locale>.<attribute>"]. `code` is
 * not written as an attribute: it replaces the code ConversationRelay is given for that locale
 * (relay-twiml.ts relayLanguageCodes, registry.ts relayLanguageFor).
 */
export const RELAY_LANGUAGE_ATTRIBUTES = {
  code: z.string().regex(/^([A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*|multi)$/, 'must be a language code such as zh-HK (or multi)'),
  speechModel: relayText,
  transcriptionProvider: relayText,
  ttsProvider: relayText,
  voice: relayText,
} satisfies Record<string, z.ZodType>;
/** Set by the engine, never by the workflow. */
const RELAY_RESERVED = new Set(['url', 'welcomegreeting']);
/** Twilio's limit on a <Parameter>'s name plus value. */
const MAX_PARAMETER_CHARS = 500;
const byLowerCase = (names: object) => new Map(Object.keys(names).map((n) => [n.toLowerCase(), n]));
const RELAY_NAMES = byLowerCase(RELAY_ATTRIBUTES);
const RELAY_LANGUAGE_NAMES = byLowerCase(RELAY_LANGUAGE_ATTRIBUTES);

/**
 * The `relay` record: keys matched case-insensitively and written as documented, values checked
 * and typed. A boolean reportInputDuringAgentSpeech is read as any (true) or none (false), the
 * meaning Twilio gives the same booleans on `interruptible`, and reported to `deprecated`.
 */
function relaySchema(deprecated: (message: string) => void) {
  return z
    .record(z.string(), z.union([z.string(), z.boolean(), z.number()]))
    .default({})
    .transform((relay, ctx) => {
      const out: Record<string, string | boolean> = {};
      const fail = (key: string, message: string) => ctx.issues.push({ code: 'custom', message, input: relay[key], path: [key] });
      const check = (key: string, schema: z.ZodType, value: unknown): unknown => {
        const r = schema.safeParse(value);
        if (!r.success) fail(key, r.error.issues[0].message);
        return r.data;
      };
      for (const [key, value] of Object.entries(relay)) {
        const [head, ...rest] = key.split('.');
        if (head === 'parameter' && rest.length > 0) {
          if (key.length - 'parameter.'.length + String(value).length >= MAX_PARAMETER_CHARS) fail(key, `a <Parameter>'s name and value must stay under ${MAX_PARAMETER_CHARS} characters`);
          else out[key] = String(value);
        } else if (head === 'language' && rest.length > 0) {
          const attr = rest.length === 2 ? RELAY_LANGUAGE_NAMES.get(rest[1].toLowerCase()) : undefined;
          if (rest.length !== 2) fail(key, 'must be language.<code>.<attribute>');
          else if (!attr) fail(key, `<Language> has no attribute "${rest[1]}" (have: ${Object.keys(RELAY_LANGUAGE_ATTRIBUTES).join(', ')})`);
          else {
            const v = check(key, RELAY_LANGUAGE_ATTRIBUTES[attr as keyof typeof RELAY_LANGUAGE_ATTRIBUTES], value);
            if (v !== undefined) out[`language.${rest[0]}.${attr}`] = v as string;
          }
        } else if (RELAY_RESERVED.has(key.toLowerCase())) {
          fail(key, 'is set by the engine (url from PUBLIC_HOST, welcomeGreeting from the workflow greeting)');
        } else {
          const attr = RELAY_NAMES.get(key.toLowerCase()) as keyof typeof RELAY_ATTRIBUTES | undefined;
          if (!attr) {
            fail(key, `<ConversationRelay> has no attribute "${key}"`);
            continue;
          }
          let v = check(key, RELAY_ATTRIBUTES[attr], value) as string | boolean | undefined;
          if (attr === 'reportInputDuringAgentSpeech' && (typeof v === 'boolean' || v === 'true' || v === 'false')) {
            const now = v === true || v === 'true' ? 'any' : 'none';
            deprecated(`relay["${key}"]: ${String(v)} is deprecated; Twilio takes none, dtmf, speech or any. Read as "${now}": write that instead.`);
            v = now;
          }
          if (v !== undefined) out[attr] = v;
        }
      }
      return out;
    });
}

const deprecationWarning = (message: string) => process.emitWarning(message, { type: 'DeprecationWarning', code: 'WEAVER_WORKFLOW' });

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
  /** Share another workflow's FAQ (its id, in the same directory) instead of listing one: two modes of one business keep one FAQ. */
  faqFrom: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a workflow id').optional(),
  /**
   * After an answer fails (every provider of a role down), the caller hears the fallback line
   * (pre-synthesised at startup for media calls); then the call goes on, or hangs up once it played.
   */
  onAnswerFailure: z.enum(['continue', 'hang-up']).default('continue'),
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
  /**
   * ConversationRelay settings (relay mode only): "<attribute>", "language.<locale>.<attribute>"
   * and "parameter.<name>" keys, checked by relaySchema above.
   */
  relay: relaySchema(deprecationWarning),
});
export type Workflow = z.infer<typeof WorkflowSchema>;

/** `warn` hears of deprecated settings that still load (default: a Node DeprecationWarning). */
export function parseWorkflow(raw: unknown, source: string, warn: (message: string) => void = deprecationWarning): Workflow {
  const r = WorkflowSchema.extend({ relay: relaySchema((m) => warn(`workflow ${source}: ${m}`)) }).safeParse(raw);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`invalid workflow ${source}: ${issues}`);
  }
  return r.data;
}

/** Loads every *.json in `dir`; the file name must match the workflow id. */
export function loadWorkflows(dir: string, warn?: (message: string) => void): Map<string, Workflow> {
  const out = new Map<string, Workflow>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const path = join(dir, f);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`workflow ${path} is not valid JSON: ${(e as Error).message}`);
    }
    const wf = parseWorkflow(raw, path, warn);
    if (wf.id !== basename(f, '.json')) throw new Error(`workflow ${path}: id "${wf.id}" must match the file name`);
    out.set(wf.id, wf);
  }
  for (const [id, wf] of out) {
    if (wf.faqFrom === undefined) continue;
    const from = out.get(wf.faqFrom);
    if (wf.faq.length > 0) throw new Error(`workflow ${id}: has both an faq and faqFrom "${wf.faqFrom}"; keep one`);
    if (!from) throw new Error(`workflow ${id}: faqFrom "${wf.faqFrom}" names no workflow in ${dir}`);
    if (from.faqFrom !== undefined) throw new Error(`workflow ${id}: faqFrom "${wf.faqFrom}", which itself takes its FAQ from "${from.faqFrom}"; name that one`);
    out.set(id, { ...wf, faq: from.faq });
  }
  return out;
}
