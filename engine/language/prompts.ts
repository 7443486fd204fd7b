// The system prompt for a call in a given language. A workflow may carry its own prompt per
// language (workflow.prompts, keyed by locale or base language); otherwise its main prompt is
// used with this file's notes on register and custom for that language. Either way the model
// is told plainly which language, variety and script to answer in.
import type { Workflow } from '../workflow.ts';
import { getLocale, type LocaleInfo } from './registry.ts';

export interface LanguageNotes {
  /** The register to use with callers. */
  formality: string;
  /** Cultural and practical notes for a phone agent. */
  notes: string[];
}

// Keyed by locale code first, then by spoken language. Written in English: the model follows
// English instructions reliably whatever language it answers in.
const NOTES: Record<string, LanguageNotes> = {
  'zh-HK': {
    formality: 'Polite but warm Hong Kong service Cantonese; address callers as 先生 or 小姐 with their surname when known.',
    notes: [
      'Answer in spoken Hong Kong Cantonese written in Traditional Chinese characters (係, 唔, 嘅, 咗, 啲, 喺, 冇), never in Mandarin or formal written Chinese: the text is read aloud by a Cantonese voice.',
      'English loanwords are normal in Hong Kong speech (booking, confirm, OK); keep brand and place names as callers say them.',
      'Prices are in Hong Kong dollars (港幣, "蚊" colloquially); dates are spoken day-month order as 三月八號.',
      'Use 唔該 for "please/thank you for a service" and 多謝 for thanks for a gift or help.',
    ],
  },
  'zh-MO': {
    formality: 'Polite Macau service Cantonese; address callers as 先生 or 小姐.',
    notes: [
      'Answer in spoken Cantonese written in Traditional Chinese characters, as in Hong Kong; the voice is a Hong Kong Cantonese voice.',
      'Prices are in patacas (澳門元, MOP); Macau street and place names are often Portuguese and are kept as written.',
      'Some callers switch to Portuguese or Mandarin; follow them if they ask.',
    ],
  },
  'yue-CN': {
    formality: 'Polite Guangzhou Cantonese.',
    notes: [
      'Answer in spoken Guangzhou Cantonese written in Simplified Chinese characters (系/係 as callers write it, 唔, 嘅, 咗, 啲, 喺, 冇), not in Mandarin.',
      'Prices are in renminbi (人民币, "蚊" colloquially); mobile payment (微信支付, 支付宝) is the norm.',
    ],
  },
  'zh-CN': {
    formality: 'Polite Mainland Mandarin; use 您 for the caller.',
    notes: [
      'Answer in Mandarin written in Simplified Chinese characters.',
      'Prices are in renminbi (元); mobile payment (微信支付, 支付宝) is the norm.',
    ],
  },
  'zh-TW': {
    formality: 'Polite Taiwanese Mandarin; use 您 for the caller.',
    notes: [
      'Answer in Mandarin written in Traditional Chinese characters, with Taiwan vocabulary (禮拜, 計程車, 捷運, 網路).',
      'Prices are in New Taiwan dollars (元).',
    ],
  },
  ja: {
    formality: 'Polite です/ます form throughout, with humble keigo (いたします, かしこまりました) for the business side.',
    notes: ['Do not use the caller\'s first name; use the family name with 様 when known.', 'Apologise briefly before declining (申し訳ございません).'],
  },
  ko: {
    formality: 'Polite 합쇼체/해요체 speech; never 반말.',
    notes: ['Address the caller as 고객님.'],
  },
  de: { formality: 'Use "Sie", never "du", unless the caller insists.', notes: ['Be precise with times and dates; Germans expect exact appointments.'] },
  fr: { formality: 'Vouvoyez the caller (vous); use Monsieur/Madame.', notes: ['In fr-CA, typical Québec vocabulary is fine (fin de semaine for week-end).'] },
  es: { formality: 'Use "usted" with callers unless they use "tú" first.', notes: ['In Latin America "ustedes" is the plural; in Spain "vosotros" is informal plural.'] },
  pt: { formality: 'pt-BR: "o senhor/a senhora" or "você"; pt-PT: "o senhor/a senhora", avoid "você".', notes: [] },
  it: { formality: 'Use the formal "Lei".', notes: [] },
  nl: { formality: 'Use "u" with callers; Belgian Dutch (nl-BE) is a little more formal still.', notes: [] },
  ru: { formality: 'Use "Вы" and the polite imperative.', notes: [] },
  uk: { formality: 'Use "Ви" and the polite imperative.', notes: [] },
  pl: { formality: 'Use "Pan/Pani" with third-person verbs.', notes: [] },
  tr: { formality: 'Use "siz" and the polite -iniz forms; "efendim" is a polite address.', notes: [] },
  ar: {
    formality: 'Polite Modern Standard Arabic with customary greetings (أهلاً وسهلاً).',
    notes: ['A light local colloquial tone is fine where the caller uses it (e.g. Egyptian in ar-EG).'],
  },
  he: { formality: 'Friendly and direct; informal register is normal in Israel.', notes: ['Verbs are gendered: if the caller\'s gender is unknown, prefer phrasing that avoids it.'] },
  hi: { formality: 'Use "आप" and polite verb forms (कीजिए).', notes: ['Mixing common English words (appointment, booking) is natural in Indian speech.'] },
  vi: { formality: 'Address the caller as anh/chị and refer to yourself as em or tôi.', notes: [] },
  th: { formality: 'End sentences with the polite particle ค่ะ/ครับ matching the voice\'s gender.', notes: [] },
  id: { formality: 'Use Bapak/Ibu for the caller.', notes: [] },
  ms: { formality: 'Use Encik/Puan for the caller.', notes: [] },
  sv: { formality: '"du" is normal in Sweden; stay courteous.', notes: [] },
  da: { formality: '"du" is normal in Denmark; stay courteous.', notes: [] },
  nb: { formality: '"du" is normal in Norway; stay courteous.', notes: [] },
  fi: { formality: 'Neutral, polite Finnish; "te" only for very formal contexts.', notes: [] },
  el: { formality: 'Use the plural polite form (εσείς).', notes: [] },
};

const GENERIC: LanguageNotes = { formality: 'Use the polite register customary for a business phone call.', notes: [] };

/** Register and cultural notes for a locale (locale-specific, else language, else generic). */
export function languageNotesFor(locale: string): LanguageNotes {
  const l = getLocale(locale);
  if (!l) return GENERIC;
  return NOTES[l.code] ?? NOTES[l.language] ?? NOTES[l.code.split('-')[0]] ?? GENERIC;
}

/** The workflow's own prompt written for this locale, if it has one (exact, then base language). */
export function workflowPromptFor(prompts: Record<string, string>, l: LocaleInfo): string | undefined {
  const keys = Object.keys(prompts);
  const find = (code: string) => keys.find((k) => k.toLowerCase() === code.toLowerCase());
  // A key such as "yue" or "zh-Hant-HK" may name this locale through the registry's aliases.
  const exact = find(l.code) ?? keys.find((k) => getLocale(k)?.code === l.code && k.includes('-'));
  if (exact) return prompts[exact];
  const byLanguage = find(l.language) ?? (l.language === 'cmn' || l.language === 'yue' ? undefined : find(l.code.split('-')[0]));
  if (byLanguage) return prompts[byLanguage];
  // A sibling locale of the same language and script (zh-MO uses a zh-HK prompt).
  const sibling = keys.find((k) => {
    const kl = getLocale(k);
    return kl !== undefined && kl.language === l.language && kl.script === l.script;
  });
  return sibling ? prompts[sibling] : undefined;
}

/**
 * A fixed line of the workflow (greeting, fallback, goodbye) in this locale: its translation in
 * `lines` (found as prompts are), else the line in the workflow's own language.
 */
export function workflowLine(wf: Pick<Workflow, 'lines' | 'greeting' | 'fallback' | 'goodbye'>, kind: 'greeting' | 'fallback' | 'goodbye', locale: string): string {
  const l = getLocale(locale);
  if (!l) return wf[kind];
  const translated: Record<string, string> = {};
  for (const [key, lines] of Object.entries(wf.lines)) if (lines[kind]) translated[key] = lines[kind];
  return workflowPromptFor(translated, l) ?? wf[kind];
}

/**
 * The system prompt for this workflow in this locale. An unknown locale falls back to the
 * workflow's language, so a bad code never leaves the model without instructions.
 */
export function systemPromptFor(workflow: Pick<Workflow, 'prompt' | 'prompts' | 'language'>, locale: string): string {
  const l = getLocale(locale) ?? getLocale(workflow.language) ?? getLocale('en-US');
  if (!l) throw new Error('language registry has no en-US entry');
  const own = workflowPromptFor(workflow.prompts ?? {}, l);
  const notes = languageNotesFor(l.code);
  const lines = [own ?? workflow.prompt, ''];
  lines.push(`Language: answer only in ${l.name} (${l.nativeName}), even if earlier turns were in another language.`);
  if (!own) {
    lines.push(`Register: ${notes.formality}`);
    for (const n of notes.notes) lines.push(`- ${n}`);
  }
  lines.push(
    'This is a phone call: your words are spoken by a text-to-speech voice. Keep answers short, with no lists, markdown or emoji.',
    `Say numbers, dates, times and prices the way a ${l.name} speaker says them.`,
  );
  return lines.join('\n');
}
