// Numbers, prices, dates and times written the way the caller's locale says them, for text that
// a TTS voice reads aloud. Built on Intl with the registry's `intl` locale (so zh-HK reads
// Cantonese forms such as 下晝3:30) and the locale's own currency when none is given.
import { requireLocale } from './registry.ts';

export interface DateFormatOptions {
  /** IANA time zone of the business (e.g. "Asia/Hong_Kong"); the process zone if omitted. */
  timeZone?: string;
  /** Include the weekday (default true: callers confirm appointments by weekday). */
  weekday?: boolean;
  /** Include the year (default false: spoken dates rarely need it). */
  year?: boolean;
}

function intlLocale(locale: string): string {
  return requireLocale(locale).intl;
}

function toDate(value: Date | number | string, what: string): Date {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) throw new Error(`${what}: not a valid date: ${String(value)}`);
  return d;
}

function finite(value: number, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${what}: not a finite number: ${String(value)}`);
  return value;
}

// Intl throws RangeError for a bad time zone or currency; say which argument was bad.
function guarded<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RangeError) throw new Error(`${what}: ${e.message}`);
    throw e;
  }
}

/** 1234567.5 → "1,234,567.5" (en-US), "1.234.567,5" (de-DE), "12,34,567.5" (hi-IN). */
export function formatNumber(value: number, locale: string, options: Intl.NumberFormatOptions = {}): string {
  finite(value, 'formatNumber');
  return guarded('formatNumber', () => new Intl.NumberFormat(intlLocale(locale), { maximumFractionDigits: 2, ...options }).format(value));
}

/**
 * A price as spoken: the currency by name by default ("12.50 US dollars", "12.50 港幣"),
 * since a symbol like "$" is ambiguous when read aloud. Currency defaults to the locale's own.
 */
export function formatCurrency(amount: number, locale: string, currency?: string, display: 'name' | 'symbol' | 'code' = 'name'): string {
  finite(amount, 'formatCurrency');
  const l = requireLocale(locale);
  const code = (currency ?? l.currency).toUpperCase();
  if (!/^[A-Z]{3}$/.test(code)) throw new Error(`formatCurrency: "${currency}" is not an ISO 4217 currency code`);
  return guarded('formatCurrency', () => new Intl.NumberFormat(l.intl, { style: 'currency', currency: code, currencyDisplay: display }).format(amount));
}

/** "Saturday, March 8" (en-US), "samedi 8 mars" (fr-FR), "3月8日 星期六" (yue-Hant-HK). */
export function formatDate(value: Date | number | string, locale: string, opts: DateFormatOptions = {}): string {
  const d = toDate(value, 'formatDate');
  return guarded('formatDate', () =>
    new Intl.DateTimeFormat(intlLocale(locale), {
      weekday: opts.weekday === false ? undefined : 'long',
      year: opts.year ? 'numeric' : undefined,
      month: 'long',
      day: 'numeric',
      timeZone: opts.timeZone,
    }).format(d),
  );
}

/** "3:30 PM" (en-US), "15:30" (de-DE), "下晝3:30" (zh-HK). */
export function formatTime(value: Date | number | string, locale: string, opts: Pick<DateFormatOptions, 'timeZone'> = {}): string {
  const d = toDate(value, 'formatTime');
  return guarded('formatTime', () => new Intl.DateTimeFormat(intlLocale(locale), { hour: 'numeric', minute: '2-digit', timeZone: opts.timeZone }).format(d));
}

/** Date and time together, joined the locale's way. */
export function formatDateTime(value: Date | number | string, locale: string, opts: DateFormatOptions = {}): string {
  const d = toDate(value, 'formatDateTime');
  return guarded('formatDateTime', () =>
    new Intl.DateTimeFormat(intlLocale(locale), {
      weekday: opts.weekday === false ? undefined : 'long',
      year: opts.year ? 'numeric' : undefined,
      month: 'long',
      day: 'numeric',
      hour: 'numeric',
      minute: '2-digit',
      timeZone: opts.timeZone,
    }).format(d),
  );
}

/** "Monday, Tuesday, and Friday" (en-US), "lunes, martes y viernes" (es). */
export function formatList(items: string[], locale: string, type: 'conjunction' | 'disjunction' = 'conjunction'): string {
  if (!Array.isArray(items)) throw new Error('formatList: items must be an array of strings');
  return new Intl.ListFormat(intlLocale(locale), { style: 'long', type }).format(items.map(String));
}

/** "in 2 days", "mañana", "聽日": relative days/hours for "your appointment is …". */
export function formatRelative(value: number, unit: Intl.RelativeTimeFormatUnit, locale: string): string {
  finite(value, 'formatRelative');
  return guarded('formatRelative', () => new Intl.RelativeTimeFormat(intlLocale(locale), { numeric: 'auto' }).format(value, unit));
}
