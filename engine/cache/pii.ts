// A conservative detector for caller-specific content in an answer (or question). It errs
// towards "personal": a false positive only costs a cache entry, a false negative could read
// one caller's details to another.

const PATTERNS: Array<[string, RegExp]> = [
  ['email', /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(\.[\p{L}\p{N}-]+)+/u],
  // 7+ digits, optionally split by spaces, dots, dashes or brackets: phone, card, account numbers.
  ['digits', /(?:\+?\d[\s().-]?){7,}/],
  // Letters and digits mixed in one token (booking references, postcodes, plates), except
  // times (10am), ordinals (22nd) and plain units (5km, 10mg).
  ['reference', /\b(?=[A-Za-z]*\d)(?=\d*[A-Za-z])(?!\d{1,2}(?:am|pm)\b)(?!\d+(?:st|nd|rd|th)\b)(?!\d+(?:km|kg|mg|ml|cm|mm|min|mins|h|hrs?|s)\b)[A-Za-z0-9]{4,}\b/i],
  // A person addressed or named with a title.
  ['name', /\b(Mr|Mrs|Ms|Miss|Mx|Dr|Sr|Sra|Srta|Herr|Frau|Mme|Mlle)\.?\s+\p{Lu}\p{Ll}+/u],
  // The caller's own records.
  ['record', /\byour (appointment|booking|reservation|order|account|balance|bill|invoice|claim|prescription|results?|policy|reference|confirmation|case|ticket|payment|card|number|address|date of birth|password|pin)\s+(is|was|has|are|were|number|code|id|on|at|for)\b/i],
  ['record', /\b(i (found|see|have|located) (you|your)|according to (our|my) records|on file|we have you (down|booked)|i('ve| have) (booked|cancelled|canceled|moved|rescheduled) (you|your))\b/i],
  ['record', /(你|您)(的|嘅)(預約|预约|賬戶|账户|號碼|号码|訂單|订单)|(tu|su) (cita|reserva|cuenta|pedido) (es|está|esta|ha sido|fue)\b/i],
];

/** The first kind of personal data found, or null. */
export function personalDataKind(text: string): string | null {
  for (const [kind, re] of PATTERNS) if (re.test(text)) return kind;
  return null;
}

export function containsPersonalData(text: string): boolean {
  return personalDataKind(text) !== null;
}
