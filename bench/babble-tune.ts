// A babble tuning set, separate from the held-out noisy lines (bench/echo-fixtures.ts): other
// callers (human-utt1, -2, -5, which the held-out lines never use), other babble talkers (eSpeak in
// Portuguese, Polish, Swedish, Finnish, Turkish) and other seeds, at 20, 10 and 5 dB SNR. Babble
// handling is tuned on these; the held-out lines are scored once at the end.
//
//   npx tsx bench/babble-tune.ts [--out data/fixtures/babble-tune]
//   npm run dsp:eval -- --fixtures data/fixtures/babble-tune
import { fileURLToPath } from 'node:url';
import { EspeakTts } from '../adapters/local/espeak-tts.ts';
import { babbleTalkers, decode, loadFixture, noisyLines, writeLines } from './echo-fixtures.ts';

async function main(): Promise<void> {
  const i = process.argv.indexOf('--out');
  const dir = i > 0 ? process.argv[i + 1] : 'data/fixtures/babble-tune';
  const utts = ['human-utt1', 'human-utt2', 'human-utt5'].map((n) => decode(loadFixture(n)));
  const babble = await babbleTalkers('tune');
  await EspeakTts.shutdown();
  // Two calls per SNR, each with its own pick of utterances and babble.
  const lines = [...noisyLines('tune-a', utts, ['babble'], 12000, babble), ...noisyLines('tune-b', utts, ['babble'], 13000, babble)];
  writeLines(dir, lines);
  console.log(`wrote ${lines.length} babble tuning lines to ${dir}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
