// What a workflow gives the providers built for it: its id, language, FAQ and fixed lines.
// Plain data and one function, so an adapter (the keyless workflow responder, the load
// simulator) answers from a workflow without importing the engine that parses it.

export interface FaqItem {
  id: string;
  /** BCP-47 tag of the entry's language. */
  language: string;
  question: string;
  /** Other phrasings that should reach the same answer. */
  alternates: string[];
  answer: string;
}

export type LineKind = 'greeting' | 'fallback' | 'goodbye';

export interface WorkflowScript {
  id: string;
  /** The workflow's default language (BCP-47). */
  language: string;
  faq: readonly FaqItem[];
  /** The fixed line of this kind in this language; the workflow's own line when it has none for it. */
  line(kind: LineKind, language: string): string;
}
