// A tuning set for a single competing talker (a radio or TV in the room), beside the babble
// tuning set (bench/babble-tune.ts): the callers of babble-tune (human-utt1, -2, -5, whole), a
// radio talker in a voice and words no other set uses, at 20, 10 and 5 dB SNR, two calls each.
// Tuned on; the held-out lines (bench/noise-heldout2.ts) are scored once before and once after.
//
//   npx tsx bench/talker-tune.ts [--out data/fixtures/talker-tune]
//   npm run dsp:eval -- --fixtures data/fixtures/talker-tune
import { fileURLToPath } from 'node:url';
import { EspeakTts } from '../adapters/local/espeak-tts.ts';
import { rng } from './load/sim-providers.ts';
import { decode, loadFixture, mixCall, speak, type NoisyLine, writeLines } from './echo-fixtures.ts';
import { talker } from './noise-heldout2.ts';

const RADIO =
  'And now the traffic. The ring road is slow between junctions four and six after an earlier accident. ' +
  'Trains are running normally this afternoon, but expect delays on the coast line because of engineering work. ' +
  'Coming up after the break, we talk to the chef who opened three restaurants in a single year.';

async function main(): Promise<void> {
  const i = process.argv.indexOf('--out');
  const dir = i > 0 ? process.argv[i + 1] : 'data/fixtures/talker-tune';
  const utts = ['human-utt1', 'human-utt2', 'human-utt5'].map((n) => decode(loadFixture(n)));
  const radio = decode(await speak(RADIO, 'en-gb-x-rp', 'en-GB', { pitch: 45, rate: 170 }));
  await EspeakTts.shutdown();
  const lines: NoisyLine[] = [];
  let seed = 15_000;
  for (const snr of [20, 10, 5])
    for (const call of ['a', 'b']) {
      const r = rng(seed);
      const picks = [0, 1, 2].map(() => utts[Math.floor(r() * utts.length)]);
      const s = seed++;
      lines.push(mixCall(`talker-${call}-${snr}db`, picks, [1600, 1600, 1600], (n) => talker(radio, n, s), snr));
    }
  writeLines(dir, lines);
  console.log(`wrote ${lines.length} single-talker tuning lines to ${dir}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
