// A client WebSocket text frame built as one latin1 string, for the load generator's media
// messages: written straight to the socket (one write, no Buffer, no framing objects), it costs
// the generator about half of what `ws.send` does per frame, and the generator shares the
// machine with the engine it measures. RFC 6455 §5.2: FIN + text opcode, the MASK bit with an
// all-zero masking key (a client must mask; a zero key leaves the payload as it is), then the
// payload. Only for ASCII payloads (JSON of ASCII strings), where latin1 is the UTF-8 bytes.

const ZERO_MASK = '\0\0\0\0';

/** The frame of `text` (ASCII only), as latin1: write it with `socket.write(frame, 'latin1')`. */
export function clientTextFrame(text: string): string {
  const n = text.length;
  if (n < 126) return '\x81' + String.fromCharCode(0x80 | n) + ZERO_MASK + text;
  if (n < 65536) return '\x81\xfe' + String.fromCharCode(n >> 8, n & 0xff) + ZERO_MASK + text;
  throw new RangeError(`clientTextFrame: ${n} characters is more than a media message needs (max 65535)`);
}
