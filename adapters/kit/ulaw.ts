// G.711 μ-law codec with lookup tables (ITU-T G.711, the Sun/CCITT reference algorithm:
// bias 0x84, clip 32635, bits inverted on the wire). Tables make a 160-byte frame cost well
// under a microsecond; callers pass output buffers so the hot path allocates nothing.

const BIAS = 0x84;
const CLIP = 32635;

/** μ-law byte → linear PCM16. */
export const ULAW_TO_PCM = new Int16Array(256);
for (let i = 0; i < 256; i++) {
  const u = ~i & 0xff;
  const sign = u & 0x80;
  const exponent = (u >> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
  ULAW_TO_PCM[i] = sign ? -magnitude : magnitude;
}

function encodeSample(sample: number): number {
  let s = sample;
  const sign = s < 0 ? 0x80 : 0;
  if (sign) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** Linear PCM16 (as unsigned 16-bit index) → μ-law byte. 64 KiB, built once. */
export const PCM_TO_ULAW = new Uint8Array(65536);
for (let i = 0; i < 65536; i++) PCM_TO_ULAW[i] = encodeSample(i < 32768 ? i : i - 65536);

export function decodeUlaw(ulaw: Uint8Array, out: Int16Array = new Int16Array(ulaw.length)): Int16Array {
  for (let i = 0; i < ulaw.length; i++) out[i] = ULAW_TO_PCM[ulaw[i]];
  return out;
}

export function encodeUlaw(pcm: Int16Array, out: Uint8Array = new Uint8Array(pcm.length)): Uint8Array {
  for (let i = 0; i < pcm.length; i++) out[i] = PCM_TO_ULAW[pcm[i] & 0xffff];
  return out;
}

/** μ-law silence (0xFF decodes to 0). */
export const ULAW_SILENCE = 0xff;
