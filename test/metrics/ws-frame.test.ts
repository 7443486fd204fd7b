// The load generator's hand-made client frames, read back by the `ws` library's own frame
// parser acting as a server (which insists on masked client frames).
import { describe, it, expect } from 'vitest';
import * as ws from 'ws';
import { clientTextFrame } from '../../bench/load/ws-frame.ts';

// ws exports its frame parser at run time; @types/ws does not describe it.
interface FrameReader {
  on(event: 'message', fn: (data: Buffer, isBinary: boolean) => void): void;
  on(event: 'error', fn: (e: Error) => void): void;
  write(chunk: Buffer): void;
}
const { Receiver } = ws as unknown as { Receiver: new (o: { isServer: boolean }) => FrameReader };

function receive(frames: string[]): string[] {
  const got: string[] = [];
  const errors: Error[] = [];
  const r = new Receiver({ isServer: true });
  r.on('message', (data: Buffer, isBinary: boolean) => got.push(`${isBinary ? 'binary:' : ''}${data.toString()}`));
  r.on('error', (e: Error) => errors.push(e));
  for (const f of frames) r.write(Buffer.from(f, 'latin1'));
  expect(errors).toEqual([]);
  return got;
}

describe('clientTextFrame', () => {
  it('frames short and 16-bit-length text messages that a server reads back whole, in order', () => {
    const media = JSON.stringify({ event: 'media', media: { payload: 'A'.repeat(216) } });
    const texts = ['{}', 'x'.repeat(125), 'y'.repeat(126), media, 'z'.repeat(65535)];
    expect(receive(texts.map(clientTextFrame))).toEqual(texts);
  });

  it('reads back frames split across writes as one stream (as TCP may deliver them)', () => {
    const a = clientTextFrame('first message');
    const b = clientTextFrame('second');
    const both = a + b;
    expect(receive([both.slice(0, 5), both.slice(5, 20), both.slice(20)])).toEqual(['first message', 'second']);
  });

  it('refuses a message longer than a 16-bit length', () => {
    expect(() => clientTextFrame('q'.repeat(65536))).toThrow(/65535/);
  });
});
