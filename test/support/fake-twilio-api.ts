// A loopback fake of the slice of Twilio's REST API the engine uses: POST
// /2010-04-01/Accounts/{AccountSid}/Calls.json (form-encoded, HTTP Basic auth with the account
// SID and auth token, or an API key and secret). It answers like Twilio (201 with a call
// resource in snake_case; errors as {code, message, more_info, status}) and records every
// request, so tests assert on what twilio-node actually sent.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** Form params; a repeated name (StatusCallbackEvent) collects every value. */
  form: Record<string, string[]>;
  /** user:password from the Basic auth header. */
  auth?: { user: string; password: string };
}

export interface FakeTwilioOptions {
  accountSid: string;
  /** Accepted Basic auth passwords by user (the account SID → auth token, or an API key → secret). */
  credentials: Record<string, string>;
}

export interface FakeTwilioApi {
  url: string;
  requests: RecordedRequest[];
  /** Makes the next call creation fail the way Twilio would. */
  failNext(status: number, code: number, message: string): void;
  close(): Promise<void>;
}

const rand = (n: number) => {
  let s = '';
  while (s.length < n) s += Math.random().toString(16).slice(2);
  return s.slice(0, n);
};

export async function startFakeTwilioApi(opts: FakeTwilioOptions): Promise<FakeTwilioApi> {
  const requests: RecordedRequest[] = [];
  let nextFailure: { status: number; code: number; message: string } | undefined;

  const error = (res: ServerResponse, status: number, code: number, message: string) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }));
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const form: Record<string, string[]> = {};
      for (const [k, v] of new URLSearchParams(body)) (form[k] ??= []).push(v);
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      let auth: RecordedRequest['auth'];
      if (basic) {
        const [user, ...rest] = Buffer.from(basic, 'base64').toString('utf8').split(':');
        auth = { user, password: rest.join(':') };
      }
      const path = (req.url ?? '').split('?')[0];
      requests.push({ method: req.method ?? '', path, headers: req.headers, form, auth });

      if (!auth || opts.credentials[auth.user] !== auth.password) return error(res, 401, 20003, 'Authenticate');
      const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\.json$/.exec(path);
      if (!m || req.method !== 'POST') return error(res, 404, 20404, `The requested resource ${path} was not found`);
      if (m[1] !== opts.accountSid) return error(res, 404, 20404, `The requested resource ${path} was not found`);
      const one = (k: string) => form[k]?.[0];
      if (!one('To')) return error(res, 400, 21201, "No 'To' number is specified");
      if (!one('From')) return error(res, 400, 21603, "A 'From' phone number is required.");
      if (!one('Twiml') && !one('Url') && !one('ApplicationSid')) return error(res, 400, 21205, 'Url parameter is required.');
      if ((one('Twiml') ?? '').length > 4000) return error(res, 400, 21236, 'Twiml parameter exceeds the 4000 character limit');
      if (nextFailure) {
        const f = nextFailure;
        nextFailure = undefined;
        return error(res, f.status, f.code, f.message);
      }
      const sid = 'CA' + rand(32);
      const now = new Date().toUTCString();
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          sid,
          account_sid: opts.accountSid,
          to: one('To'),
          to_formatted: one('To'),
          from: one('From'),
          from_formatted: one('From'),
          status: 'queued',
          direction: 'outbound-api',
          api_version: '2010-04-01',
          date_created: now,
          date_updated: now,
          start_time: null,
          end_time: null,
          duration: null,
          price: null,
          price_unit: 'USD',
          answered_by: null,
          caller_name: null,
          forwarded_from: null,
          group_sid: null,
          parent_call_sid: null,
          phone_number_sid: null,
          queue_time: '0',
          trunk_sid: null,
          uri: `/2010-04-01/Accounts/${opts.accountSid}/Calls/${sid}.json`,
          subresource_uris: {},
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(status, code, message) {
      nextFailure = { status, code, message };
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
