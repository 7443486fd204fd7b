// Locale registry: one entry per supported caller locale, loaded from locales.json (data, not
// code paths). Lookups are tolerant of case, '_' separators, bare languages ('en' → en-US),
// script subtags ('zh-Hant' → zh-TW) and Cantonese spellings ('yue' → zh-HK).
import { readFileSync } from 'node:fs';

export type Gender = 'female' | 'male';
export type VoiceProvider = 'azure' | 'openai' | 'espeak';
export type SttProvider = 'azure' | 'openai';

export interface LocaleInfo {
  /** BCP-47 code, canonical casing (e.g. "zh-HK"). */
  code: string;
  /** English name. */
  name: string;
  /** Name in the language itself. */
  nativeName: string;
  /** Spoken language (ISO 639): Mandarin is "cmn" and Cantonese "yue", never just "zh". */
  language: string;
  /** ISO 15924 script the caller writes and the TTS reads ("Hans", "Hant", "Latn", …). */
  script: string;
  direction: 'ltr' | 'rtl';
  /** The locale a bare language resolves to (e.g. "es" → es-MX). */
  isDefault: boolean;
  azure: {
    /** Locale whose voices are used: differs from `code` only where the provider has none (zh-MO). */
    locale: string;
    female?: string;
    male?: string;
    /** Other voices of the same locale, in order of preference. */
    alternates: string[];
  };
  openai: { female: string; male: string };
  /** espeak-ng voice for the local TTS (a name in espeak-ng-data/lang). */
  espeak: string;
  /** Recognition language per STT provider: a BCP-47 locale for Azure, ISO 639-1 for OpenAI. */
  stt: { azure: string; openai: string };
  /** ConversationRelay language code (TwiML `language`, `language` message). */
  relay: string;
  /** Locale handed to Intl for spoken numbers, dates and currency. */
  intl: string;
  /** ISO 4217 currency used when a workflow names none. */
  currency: string;
  aliases: string[];
  /** Why an entry borrows another locale's resources or uses a provider code, where it does, with sources. */
  note?: string;
}

const RTL_SCRIPTS = new Set(['Arab', 'Hebr', 'Thaa', 'Syrc', 'Nkoo']);

interface RawLocale {
  code: string;
  default?: boolean;
  name: string;
  nativeName: string;
  language: string;
  script: string;
  direction?: 'ltr' | 'rtl';
  azure: { locale?: string; female?: string; male?: string; alternates?: string[] };
  openai?: { female: string; male: string };
  espeak: string;
  stt?: { azure?: string; openai?: string };
  relay?: string;
  intl?: string;
  currency: string;
  aliases?: string[];
  note?: string;
}

interface RawRegistry {
  defaults: { openai: { female: string; male: string } };
  locales: RawLocale[];
}

function resolveEntry(raw: RawLocale, defaults: RawRegistry['defaults']): LocaleInfo {
  const base = raw.code.split('-')[0];
  return {
    code: raw.code,
    name: raw.name,
    nativeName: raw.nativeName,
    language: raw.language,
    script: raw.script,
    direction: raw.direction ?? (RTL_SCRIPTS.has(raw.script) ? 'rtl' : 'ltr'),
    isDefault: raw.default === true,
    azure: {
      locale: raw.azure.locale ?? raw.code,
      female: raw.azure.female,
      male: raw.azure.male,
      alternates: raw.azure.alternates ?? [],
    },
    openai: raw.openai ?? defaults.openai,
    espeak: raw.espeak,
    stt: { azure: raw.stt?.azure ?? raw.code, openai: raw.stt?.openai ?? base },
    relay: raw.relay ?? raw.code,
    intl: raw.intl ?? raw.code,
    currency: raw.currency,
    aliases: raw.aliases ?? [],
    note: raw.note,
  };
}

function loadRegistry(): LocaleInfo[] {
  const url = new URL('./locales.json', import.meta.url);
  let raw: RawRegistry;
  try {
    raw = JSON.parse(readFileSync(url, 'utf8')) as RawRegistry;
  } catch (e) {
    throw new Error(`language registry ${url.pathname} cannot be read: ${(e as Error).message}`);
  }
  if (!Array.isArray(raw.locales)) throw new Error(`language registry ${url.pathname}: "locales" must be an array`);
  return raw.locales.map((l) => Object.freeze(resolveEntry(l, raw.defaults)) as LocaleInfo);
}

const LOCALES: readonly LocaleInfo[] = loadRegistry();
const byKey = new Map<string, LocaleInfo>();
const defaultByLanguage = new Map<string, LocaleInfo>();
for (const l of LOCALES) {
  byKey.set(l.code.toLowerCase(), l);
  for (const a of l.aliases) if (!byKey.has(a.toLowerCase())) byKey.set(a.toLowerCase(), l);
}
for (const l of LOCALES) {
  if (!l.isDefault) continue;
  defaultByLanguage.set(l.language, l);
  // The code's own language subtag ("zh" for zh-HK) goes to the first default that claims it;
  // explicit aliases ("zh" → zh-CN) are consulted before this map anyway.
  const base = l.code.split('-')[0].toLowerCase();
  if (!defaultByLanguage.has(base)) defaultByLanguage.set(base, l);
}
// Chinese written without a region: the script decides between the two Mandarin entries.
const SCRIPT_FALLBACK: Record<string, string> = { 'zh-hant': 'zh-TW', 'zh-hans': 'zh-CN', 'yue-hans': 'yue-CN', 'yue-hant': 'zh-HK' };

function normalise(code: string): string {
  return code.trim().replace(/_/g, '-').toLowerCase();
}

/**
 * Resolves a code to its registry entry: exact code or alias, then language+script, then the
 * language's default locale (an unknown region still gets its language). undefined if unknown.
 */
export function getLocale(code: string | undefined | null): LocaleInfo | undefined {
  if (typeof code !== 'string' || code.trim() === '') return undefined;
  const key = normalise(code);
  const exact = byKey.get(key);
  if (exact) return exact;
  const parts = key.split('-');
  if (parts.length >= 2 && /^[a-z]{4}$/.test(parts[1])) {
    const withScript = SCRIPT_FALLBACK[`${parts[0]}-${parts[1]}`];
    if (withScript) return byKey.get(withScript.toLowerCase());
  }
  return defaultByLanguage.get(parts[0]);
}

/** Like getLocale, but an unknown code is an error that names it. */
export function requireLocale(code: string): LocaleInfo {
  const l = getLocale(code);
  if (!l) throw new Error(`unknown locale "${code}" (not in engine/language/locales.json)`);
  return l;
}

export function listLocales(): readonly LocaleInfo[] {
  return LOCALES;
}

/**
 * True when two locales are the same language for the caller: same spoken language, and for
 * Mandarin the same script (zh-CN and zh-TW answer in different characters and accents).
 * Cantonese variants (HK, Macau, Guangzhou) count as one language: the voice is the same tongue.
 */
export function sameLanguage(a: LocaleInfo | string, b: LocaleInfo | string): boolean {
  const la = typeof a === 'string' ? getLocale(a) : a;
  const lb = typeof b === 'string' ? getLocale(b) : b;
  if (!la || !lb) return false;
  if (la.language !== lb.language) return false;
  return la.language !== 'cmn' || la.script === lb.script;
}

/**
 * The voice for a locale and TTS provider. Azure may lack one gender: the other is returned
 * rather than nothing. Throws for an unknown locale.
 */
export function voiceFor(locale: string, provider: VoiceProvider, gender: Gender = 'female'): string {
  const l = requireLocale(locale);
  switch (provider) {
    case 'azure': {
      const other: Gender = gender === 'female' ? 'male' : 'female';
      const v = l.azure[gender] ?? l.azure[other] ?? l.azure.alternates[0];
      if (!v) throw new Error(`no Azure voice for ${l.code}`);
      return v;
    }
    case 'openai':
      return l.openai[gender];
    case 'espeak':
      return l.espeak;
    default:
      throw new Error(`unknown TTS provider "${String(provider)}" (azure, openai or espeak)`);
  }
}

/**
 * The registry's default voice for a TTS chain, known by its primary provider's name (the chain
 * is named after it): undefined for a provider the registry has no voices for.
 */
export function chainVoice(locale: string, ttsChain: string): string | undefined {
  const provider: VoiceProvider | undefined = ttsChain.startsWith('azure') ? 'azure' : ttsChain.startsWith('openai') ? 'openai' : ttsChain.startsWith('espeak') ? 'espeak' : undefined;
  return provider && getLocale(locale) ? voiceFor(locale, provider) : undefined;
}

/** Recognition language for a locale: Azure wants a locale, OpenAI an ISO 639-1 code. */
export function sttLocaleFor(locale: string, provider: SttProvider = 'azure'): string {
  const l = requireLocale(locale);
  if (provider !== 'azure' && provider !== 'openai') throw new Error(`unknown STT provider "${String(provider)}" (azure or openai)`);
  return l.stt[provider];
}

/**
 * ConversationRelay language code for a locale (TwiML `language`, `<Language code>`, and the
 * `language` message). It is the locale's own code unless locales.json says otherwise (its notes
 * give the sources, e.g. for Cantonese). A workflow overrides it per locale with
 * relay["language.<locale>.code"]: `overrides` maps locales, in any spelling the registry
 * resolves, to the code to use.
 */
export function relayLanguageFor(locale: string, overrides: Record<string, string> = {}): string {
  const l = requireLocale(locale);
  const own = overrides[l.code] ?? Object.entries(overrides).find(([k]) => getLocale(k)?.code === l.code)?.[1];
  return own ?? l.relay;
}
