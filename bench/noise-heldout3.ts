// A third held-out set of noisy lines for turn taking (issue 13): a single competing talker (a TV
// or radio in the room), written before the single-talker work on the turn detector and scored once
// before it and once after, never tuned on. Nothing in it is in the tuning sets (talker-tune,
// babble-tune, noise-heldout, noise-heldout2, the committed pink calls):
//   - callers: the five recordings cut at pauses no other set cuts at, and two eSpeak callers
//     with their own words;
//   - talkers: a Spanish talk show (Latin American voice, high pitch), a German news reader (low
//     pitch, slow) and a Brazilian Portuguese radio host, each with its own pauses;
//   - 20, 10 and 5 dB SNR, one call per talker and SNR, plus one call per SNR where the TV is
//     already talking at the line's first sample (it opens on a word, not in one of its pauses);
//   - four utterances per call with pauses of 1.0-2.0 s between them (the pauses that end a turn).
//
//   npx tsx bench/noise-heldout3.ts [--out data/fixtures/noise-heldout3]
//   npm run dsp:eval -- --fixtures data/fixtures/noise-heldout3
import { fileURLToPath } from 'node:url';
import { EspeakTts } from '../adapters/local/espeak-tts.ts';
import { rng } from './load/sim-providers.ts';
import { cutAtPause, decode, loadFixture, mixCall, scaleToRms, speak, speechOnset, type NoisyLine, writeLines } from './echo-fixtures.ts';
import { talker } from './noise-heldout2.ts';

/** Recordings cut at their quietest frame in these windows (ms): words no other set opens on. */
const CUTS: ReadonlyArray<readonly [string, number, number]> = [
  ['human-utt1', 1500, 2200],
  ['human-utt2', 1800, 2400],
  ['human-utt3', 1200, 1800],
  ['human-utt4', 1400, 2000],
  ['human-utt5', 2000, 2600],
];
const CALLERS = [
  ['My car keeps making a grinding noise when I brake, can someone look at it?', 'en-us', 'en-US', { pitch: 80, rate: 140 }],
  ['Is the pharmacy on Elm Street still open on Sundays?', 'en-gb', 'en-GB', { pitch: 15, rate: 190 }],
] as const;
const TALKERS = [
  [
    'Bienvenidos otra vez al programa. Hoy tenemos con nosotros a una invitada muy especial, que acaba de volver de un viaje por toda la costa. ' +
      'Cuéntanos, ¿qué fue lo que más te sorprendió? Bueno, la verdad es que la gente, siempre tan amable, y la comida, claro.',
    'es-419',
    'es-MX',
    { pitch: 75, rate: 175 },
  ],
  [
    'Guten Abend, meine Damen und Herren. Die Regierung hat heute neue Pläne für den Ausbau der Bahnstrecken vorgestellt. ' +
      'Im Süden des Landes bleibt es morgen sonnig, im Norden ziehen am Nachmittag Schauer auf. Die Börse schloss leicht im Plus.',
    'de',
    'de-DE',
    { pitch: 20, rate: 150 },
  ],
  [
    'Boa tarde, você está ouvindo a rádio da cidade. Agora vamos ouvir os recados dos ouvintes, e depois a previsão do tempo. ' +
      'O trânsito continua lento na avenida principal por causa das obras, então saia mais cedo se puder.',
    'pt-br',
    'pt-BR',
    { pitch: 55, rate: 185 },
  ],
] as const;

/** The talker from the start of one of its words, looped: it is talking at the line's first sample. */
function talkerFromWord(x: Float64Array, n: number, seed: number): Float64Array {
  const from = Math.floor(rng(seed)() * x.length * 0.5);
  const off = from + speechOnset(x.subarray(from));
  return scaleToRms(Float64Array.from({ length: n }, (_, i) => x[(off + i) % x.length]), 1);
}

export async function heldOut3Lines(): Promise<NoisyLine[]> {
  const utts = CUTS.map(([name, from, to]) => cutAtPause(decode(loadFixture(name)), from, to));
  for (const [text, voice, lang, opts] of CALLERS) utts.push(decode(await speak(text, voice, lang, opts)));
  const tvs: Float64Array[] = [];
  for (const [text, voice, lang, opts] of TALKERS) tvs.push(decode(await speak(text, voice, lang, opts)));
  const out: NoisyLine[] = [];
  let seed = 47_000;
  const line = (name: string, snr: number, noiseOf: (n: number, s: number) => Float64Array): void => {
    const r = rng(seed);
    const picks = [0, 1, 2, 3].map(() => utts[Math.floor(r() * utts.length)]);
    const pauses = [0, 1, 2].map(() => 1000 + Math.round(r() * 50) * 20).concat(1600);
    const s = seed++;
    out.push(mixCall(name, picks, pauses, (n) => noiseOf(n, s), snr));
  };
  const names = ['es-show', 'de-news', 'pt-radio'];
  for (const snr of [20, 10, 5]) {
    tvs.forEach((tv, k) => line(`h3-${names[k]}-${snr}db`, snr, (n, s) => talker(tv, n, s)));
    line(`h3-first-second-${snr}db`, snr, (n, s) => talkerFromWord(tvs[snr % tvs.length], n, s));
  }
  return out;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--out');
  const dir = i > 0 ? process.argv[i + 1] : 'data/fixtures/noise-heldout3';
  const lines = await heldOut3Lines();
  await EspeakTts.shutdown();
  writeLines(dir, lines);
  console.log(`wrote ${lines.length} held-out single-talker lines to ${dir}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
