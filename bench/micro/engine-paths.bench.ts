// Engine hot paths outside DSP and cache (tinybench): parsing an inbound Media Streams
// message, building an outbound media message, and sentence chunking of a streamed answer.
//   npx tsx bench/micro/engine-paths.bench.ts   (bench/run.ts also runs it)
import { Bench } from 'tinybench';
import { parseInbound, mediaMessage } from '../../engine/twilio/media-protocol.ts';
import { SentenceChunker } from '../../engine/call/sentence-chunker.ts';

export interface MicroRow {
  task: string;
  /** Per operation, microseconds. */
  p50Us: number | null;
  p99Us: number | null;
  meanUs: number | null;
  opsPerSec: number | null;
  samples: number;
}

export async function runEnginePathBenches(timeMs = 300): Promise<MicroRow[]> {
  const payload = Buffer.from(new Uint8Array(160).map((_, i) => (i * 37) & 0xff)).toString('base64');
  const inbound = JSON.stringify({ event: 'media', sequenceNumber: '42', streamSid: 'MZ' + '0'.repeat(32), media: { track: 'inbound', chunk: '41', timestamp: '820', payload } });
  const inboundBuf = new TextEncoder().encode(inbound).buffer;
  const out = new Uint8Array(1600).fill(0x7f);
  const answer = "Sure, I can help you with that. We're open Monday to Friday from 8 a.m. to 6 p.m., and on Saturdays from 9 to 1. Would you like to book a visit?";
  const bench = new Bench({ time: timeMs });
  bench
    .add('frame parse: inbound media message (JSON + strict base64 + decode)', () => {
      const r = parseInbound(inboundBuf, false, 64 * 1024);
      if (!r.ok) throw new Error(r.error.message);
    })
    .add('frame encode: outbound media message (200 ms of μ-law)', () => void mediaMessage('MZ' + '0'.repeat(32), out))
    .add('sentence chunking: 150-char answer streamed in 8-char deltas', () => {
      const c = new SentenceChunker();
      for (let i = 0; i < answer.length; i += 8) c.push(answer.slice(i, i + 8));
      c.flush();
    });
  await bench.run();
  return bench.tasks.map((t) => {
    const r = t.result as unknown as { latency?: { p50?: number; p99?: number; mean?: number; samplesCount?: number; samples?: number[] }; throughput?: { mean?: number } };
    const us = (v: number | undefined) => (v === undefined ? null : Math.round(v * 1000 * 1000) / 1000);
    return { task: t.name, p50Us: us(r.latency?.p50), p99Us: us(r.latency?.p99), meanUs: us(r.latency?.mean), opsPerSec: r.throughput?.mean ? Math.round(r.throughput.mean) : null, samples: r.latency?.samplesCount ?? r.latency?.samples?.length ?? 0 };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await runEnginePathBenches());
}
