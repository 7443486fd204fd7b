// Opens a call socket the way Twilio would, for the limit and fault tests: resolves with the open
// socket, or with the HTTP status and body of a refused upgrade, or the error that ended it
// (a process out of descriptors may not accept at all: that ends as a timeout, never a hang).
import WebSocket from 'ws';

export function openCallSocket(baseUrl: string, path: '/twilio/media' | '/twilio/relay', timeoutMs = 5000): Promise<{ ws?: WebSocket; status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + path, { handshakeTimeout: timeoutMs });
    ws.on('error', (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
  });
}
