// A second held-out set of noisy lines for turn taking (issue 13), written before the babble
// work on the turn detector and scored once before it and once after, never tuned on. Nothing in
// it is in the tuning sets (bench/babble-tune.ts, the held-out lines of bench/echo-fixtures.ts,
// the committed pink calls):
//   - callers: the five recordings cut at later pauses than any other set (so they open on other
//     words), eSpeak's French question (tts-fr-hours), and two eSpeak callers in voices no set uses;
//   - noises: babble of four talkers in five other languages (Russian, Greek, Czech, Hungarian,
//     Danish), a single competing talker (a TV in the room: English news in a voice no set uses,
//     with its own pauses), and street-like noise (brown rumble, mains hum, a little hiss);
//   - 20, 10 and 5 dB SNR, two calls each with their own seeds, four utterances per call with
//     pauses of 1.0-2.0 s between them (the pauses that should end a turn).
//
//   npx tsx bench/noise-heldout2.ts [--out data/fixtures/noise-heldout2]
//   npm run dsp:eval -- --fixtures data/fixtures/noise-heldout2
import { fileURLToPath } from 'node:url';
import { EspeakTts } from '../adapters/local/espeak-tts.ts';
import { rng } from './load/sim-providers.ts';
import { cutAtPause, decode, loadFixture, mixCall, noise, scaleToRms, speak, type NoisyLine, writeLines } from './echo-fixtures.ts';

/** Recordings cut at their quietest frame in these windows (ms): later words than other sets start on. */
const CUTS: ReadonlyArray<readonly [string, number, number]> = [
  ['human-utt1', 2600, 3400],
  ['human-utt2', 900, 1400],
  ['human-utt3', 2400, 3000],
  ['human-utt4', 2600, 3400],
  ['human-utt5', 1000, 1600],
];
const CALLERS = [
  ['Hi, yes, I was hoping to book a cleaning for my son next week.', 'en-us', 'en-US', { pitch: 25, rate: 150 }],
  ['Do you have anything later in the afternoon, after school?', 'en-gb', 'en-GB', { pitch: 60, rate: 180 }],
] as const;
const BABBLE = [
  ['Поезд в Москву отправляется через десять минут.', 'ru', 'ru-RU'],
  ['Το λεωφορείο αργεί πάλι σήμερα το πρωί.', 'el', 'el-GR'],
  ['Zítra ráno půjdeme spolu na trh pro zeleninu.', 'cs', 'cs-CZ'],
  ['A könyvtár hétvégén csak délig van nyitva.', 'hu', 'hu-HU'],
  ['Vi mødes ved havnen klokken tre i eftermiddag.', 'da', 'da-DK'],
] as const;
const TV =
  'Good evening. Heavy rain is expected across the north of the country tonight, with flooding possible on some roads. ' +
  'In other news, the city council has approved plans for a new bridge over the river, which should open in two years. ' +
  'And finally, the local football team won their third match in a row on Saturday, in front of a record crowd.';

type Kind = 'babble' | 'tv' | 'street';

/** A single talker (the TV) from a random point, looped, at unit RMS: its own pauses stay in. */
export function talker(x: Float64Array, n: number, seed: number): Float64Array {
  const off = Math.floor(rng(seed)() * x.length);
  return scaleToRms(Float64Array.from({ length: n }, (_, i) => x[(off + i) % x.length]), 1);
}

/** Street-like noise: brown rumble (traffic), mains hum with its clicks, a little hiss. */
function street(n: number, seed: number): Float64Array {
  const b = noise('brown', n, seed);
  const h = noise('hum', n, seed + 1);
  const w = noise('white', n, seed + 2);
  return scaleToRms(b.map((v, i) => v + 0.5 * h[i] + 0.2 * w[i]), 1);
}

export async function heldOut2Lines(): Promise<NoisyLine[]> {
  const utts = CUTS.map(([name, from, to]) => cutAtPause(decode(loadFixture(name)), from, to));
  utts.push(decode(loadFixture('tts-fr-hours')));
  for (const [text, voice, lang, opts] of CALLERS) utts.push(decode(await speak(text, voice, lang, opts)));
  const babbleTalkers = Float64Array.from((await Promise.all(BABBLE.map(([t, v, l]) => speak(t, v, l)))).flatMap((u) => Array.from(decode(u))));
  const tv = decode(await speak(TV, 'en-gb-x-gbcwmd', 'en-GB', { rate: 165 }));
  const noiseOf: Record<Kind, (n: number, seed: number) => Float64Array> = {
    babble: (n, seed) => noise('babble', n, seed, babbleTalkers),
    tv: (n, seed) => talker(tv, n, seed),
    street,
  };
  const out: NoisyLine[] = [];
  let seed = 31_000;
  for (const kind of ['babble', 'tv', 'street'] as const)
    for (const snr of [20, 10, 5])
      for (const call of ['a', 'b']) {
        const r = rng(seed);
        const picks = [0, 1, 2, 3].map(() => utts[Math.floor(r() * utts.length)]);
        const pauses = [0, 1, 2].map(() => 1000 + Math.round(r() * 50) * 20).concat(1600);
        const s = seed++;
        out.push(mixCall(`h2${call}-${kind}-${snr}db`, picks, pauses, (n) => noiseOf[kind](n, s), snr));
      }
  return out;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--out');
  const dir = i > 0 ? process.argv[i + 1] : 'data/fixtures/noise-heldout2';
  const lines = await heldOut2Lines();
  await EspeakTts.shutdown();
  writeLines(dir, lines);
  console.log(`wrote ${lines.length} held-out noisy lines to ${dir}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
