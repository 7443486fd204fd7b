// The μ-law tables must match a reference G.711 implementation bit for bit.
import { describe, expect, it } from 'vitest';
import alawmulaw from 'alawmulaw';
import { decodeUlaw, encodeUlaw, PCM_TO_ULAW, ULAW_TO_PCM } from '../../adapters/kit/ulaw.ts';

const { mulaw } = alawmulaw;

describe('μ-law codec vs alawmulaw', () => {
  it('decodes all 256 codes identically', () => {
    const mismatches: number[] = [];
    for (let c = 0; c < 256; c++) if (ULAW_TO_PCM[c] !== mulaw.decodeSample(c)) mismatches.push(c);
    expect(mismatches).toEqual([]);
  });

  it('encodes all 65,536 samples identically', () => {
    let mismatches = 0;
    let first = -1;
    for (let s = -32768; s <= 32767; s++) {
      // alawmulaw returns the byte unmasked (can be negative): compare the low 8 bits.
      if (PCM_TO_ULAW[s & 0xffff] !== (mulaw.encodeSample(s) & 0xff)) {
        if (first < 0) first = s;
        mismatches++;
      }
    }
    expect({ mismatches, first }).toEqual({ mismatches: 0, first: -1 });
  });

  it('frame helpers use the tables and the caller-supplied buffers', () => {
    const pcm = new Int16Array(160);
    for (let i = 0; i < 160; i++) pcm[i] = Math.round(Math.sin(i / 5) * 12000);
    const out = new Uint8Array(160);
    expect(encodeUlaw(pcm, out)).toBe(out);
    const ref = mulaw.encode(pcm);
    expect(Array.from(out)).toEqual(Array.from(ref, (b: number) => b & 0xff));
    const back = new Int16Array(160);
    expect(decodeUlaw(out, back)).toBe(back);
    expect(Array.from(back)).toEqual(Array.from(mulaw.decode(out)));
  });
});
