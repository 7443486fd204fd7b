// Outbound calls through twilio-node's REST client. TWILIO_API_BASE_URL points the same client
// at another origin (the tests' loopback fake of Twilio's API) by way of the client's own
// httpClient hook, so requests are still built, authenticated and parsed by twilio-node.
import twilio from 'twilio';
import type { Config } from '../config.ts';

/** Twilio's limit on inline TwiML in calls.create. */
export const MAX_TWIML_CHARS = 4000;
export const STATUS_EVENTS = ['initiated', 'ringing', 'answered', 'completed'] as const;

export interface PlaceCallRequest {
  to: string;
  from: string;
  twiml: string;
  statusCallback: string;
  /** Seconds to let the phone ring (Twilio: 5–600, default 60). */
  timeoutS?: number;
}

export interface PlacedCall {
  sid: string;
  status: string;
  to: string;
  from: string;
}

export type OutboundErrorKind = 'config' | 'bad_request' | 'rejected' | 'unreachable';

export class OutboundError extends Error {
  constructor(
    readonly kind: OutboundErrorKind,
    message: string,
    /** Twilio's HTTP status and error code, when Twilio answered. */
    readonly twilioStatus?: number,
    readonly twilioCode?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OutboundError';
  }
}

/** twilio-node's own request client, sending to `baseUrl` instead of https://*.twilio.com. */
function redirectedRequestClient(baseUrl: URL): twilio.RequestClient {
  const client = new twilio.RequestClient();
  const request = client.request.bind(client);
  client.request = ((opts) => {
    const u = new URL(opts.uri);
    u.protocol = baseUrl.protocol;
    u.host = baseUrl.host;
    return request({ ...opts, uri: u.href });
  }) as typeof client.request;
  return client;
}

type OutboundConfig = Pick<Config, 'TWILIO_ACCOUNT_SID' | 'TWILIO_AUTH_TOKEN' | 'TWILIO_API_KEY' | 'TWILIO_API_SECRET' | 'TWILIO_API_BASE_URL'>;

/** A REST client from the config: an API key pair if set, else the account's auth token. */
export function createTwilioClient(config: OutboundConfig): twilio.Twilio {
  const sid = config.TWILIO_ACCOUNT_SID;
  if (!sid) throw new OutboundError('config', 'outbound calls need TWILIO_ACCOUNT_SID');
  const httpClient = config.TWILIO_API_BASE_URL ? redirectedRequestClient(new URL(config.TWILIO_API_BASE_URL)) : undefined;
  if (config.TWILIO_API_KEY && config.TWILIO_API_SECRET) return twilio(config.TWILIO_API_KEY, config.TWILIO_API_SECRET, { accountSid: sid, httpClient });
  if (config.TWILIO_AUTH_TOKEN) return twilio(sid, config.TWILIO_AUTH_TOKEN, { httpClient });
  throw new OutboundError('config', 'outbound calls need TWILIO_AUTH_TOKEN (or TWILIO_API_KEY and TWILIO_API_SECRET)');
}

export class TwilioOutbound {
  private client?: twilio.Twilio;

  constructor(private readonly config: OutboundConfig) {}

  async placeCall(req: PlaceCallRequest): Promise<PlacedCall> {
    if (req.twiml.length > MAX_TWIML_CHARS) throw new OutboundError('bad_request', `TwiML is ${req.twiml.length} characters; Twilio accepts at most ${MAX_TWIML_CHARS}`);
    this.client ??= createTwilioClient(this.config);
    try {
      const call = await this.client.calls.create({
        to: req.to,
        from: req.from,
        twiml: req.twiml,
        statusCallback: req.statusCallback,
        statusCallbackEvent: [...STATUS_EVENTS],
        statusCallbackMethod: 'POST',
        ...(req.timeoutS !== undefined ? { timeout: req.timeoutS } : {}),
      });
      return { sid: call.sid, status: call.status, to: call.to, from: call.from };
    } catch (e) {
      const x = e as { status?: number; code?: number; message?: string };
      // RestException: Twilio answered with an error (bad number, auth, rate limit…).
      if (typeof x.status === 'number') {
        throw new OutboundError(x.status >= 500 ? 'unreachable' : 'rejected', `Twilio refused the call: ${x.message ?? 'error'}`, x.status, x.code, { cause: e });
      }
      throw new OutboundError('unreachable', `cannot reach the Twilio API: ${x.message ?? String(e)}`, undefined, undefined, { cause: e });
    }
  }
}
