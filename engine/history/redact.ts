// Personal data in what the call history keeps (HISTORY_REDACT, HISTORY_MASK_NUMBERS). Errs
// towards masking: a stored transcript with a masked weekday costs little, a stored card number a
// lot. Applied by the store's writer, in its worker thread, never on the call's path.

export type RedactMode = 'off' | 'pii' | 'transcripts';

const RULES: Array<[RegExp, string]> = [
  [/[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/gu, '[email]'],
  // Card, phone and account numbers: 6+ digits, possibly split by spaces, dots, dashes, brackets.
  [/\+?\d(?:[\s().-]?\d){5,}/g, '[number]'],
  // Tokens mixing letters and digits (booking references, postcodes, plates), not 10am, 22nd, 5km.
  [/\b(?=[A-Za-z]*\d)(?=\d*[A-Za-z])(?!\d{1,2}(?:am|pm)\b)(?!\d+(?:st|nd|rd|th)\b)(?!\d+(?:km|kg|mg|ml|cm|mm|min|mins|h|hrs?|s)\b)[A-Za-z0-9]{4,}\b/gi, '[reference]'],
  // A person named with a title.
  [/\b(Mr|Mrs|Ms|Miss|Mx|Dr|Sr|Sra|Srta|Herr|Frau|Mme|Mlle)\.?\s+\p{Lu}[\p{L}'-]+/gu, '$1 [name]'],
];

/** What of a transcript is kept under `mode`. */
export function redactText(text: string | null | undefined, mode: RedactMode): string | null {
  if (text === null || text === undefined) return null;
  if (mode === 'off') return text;
  if (mode === 'transcripts') return '';
  let out = text;
  for (const [re, by] of RULES) out = out.replace(re, by);
  return out;
}

/** +15551234567 → +1******4567; sip:alice@x → sip:a****@x; short ids are masked whole. */
export function maskNumber(value: string | null | undefined): string | null {
  if (!value) return value ?? null;
  const scheme = /^(sip:|client:)/.exec(value)?.[1] ?? '';
  const rest = value.slice(scheme.length);
  const at = rest.indexOf('@');
  const user = at >= 0 ? rest.slice(0, at) : rest;
  const host = at >= 0 ? rest.slice(at) : '';
  const keepHead = user.startsWith('+') ? 2 : 1;
  const keepTail = user.length >= 10 ? 4 : 0;
  if (user.length <= keepHead + keepTail) return scheme + '*'.repeat(user.length) + host;
  return scheme + user.slice(0, keepHead) + '*'.repeat(user.length - keepHead - keepTail) + user.slice(user.length - keepTail) + host;
}
