// The fallback line of every media workflow, synthesised once at startup in each of its
// languages: when every provider of a role is down, the caller hears an apology, not silence.
import type { Logger } from '../../adapters/kit/log.ts';
import type { TtsProvider } from '../../adapters/kit/types.ts';
import type { Workflow } from '../workflow.ts';
import { workflowLine } from '../language/prompts.ts';
import { getLocale } from '../language/registry.ts';

export type Synthesize = (tts: TtsProvider, wf: Workflow, text: string, voice: string, locale: string) => Promise<Uint8Array>;

export class Apologies {
  private readonly audio = new Map<string, Uint8Array>();

  /** Synthesises each media workflow's fallback line for its language and every language it has a voice for. */
  static async create(workflows: Iterable<{ wf: Workflow; tts: TtsProvider; voiceFor: (locale: string) => string }>, synthesize: Synthesize, log: Logger): Promise<Apologies> {
    const a = new Apologies();
    const jobs: Promise<void>[] = [];
    for (const { wf, tts, voiceFor } of workflows) {
      if (wf.mode !== 'media') continue; // in relay mode Twilio speaks the line
      const locales = new Set([wf.language, ...Object.keys(wf.voices)].map((l) => getLocale(l)?.code).filter((l): l is string => l !== undefined));
      for (const locale of locales) {
        jobs.push(
          synthesize(tts, wf, workflowLine(wf, 'fallback', locale), voiceFor(locale), locale).then(
            (audio) => void (audio.length > 0 && a.audio.set(key(wf.id, locale), audio)),
            (e) => log.warn({ err: e, workflow: wf.id, locale }, 'could not pre-synthesise the fallback line: a failed answer will need the TTS'),
          ),
        );
      }
    }
    await Promise.all(jobs);
    return a;
  }

  get(workflowId: string, locale: string): Uint8Array | undefined {
    const code = getLocale(locale)?.code;
    return code ? this.audio.get(key(workflowId, code)) : undefined;
  }

  get size(): number {
    return this.audio.size;
  }
}

const key = (workflowId: string, locale: string) => `${workflowId}\u0000${locale}`;
