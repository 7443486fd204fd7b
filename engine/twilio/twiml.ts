// TwiML for the voice webhook, built with the twilio library's VoiceResponse.
import twilio from 'twilio';
import type { Workflow } from '../workflow.ts';

/**
 * `<Connect><Stream>` to our media socket; the workflow travels as a <Parameter> (no query
 * strings on stream URLs). Stream status callbacks come back to /twilio/status.
 */
export function streamTwiml(wf: Workflow, host: string, extra: Record<string, string> = {}): string {
  const vr = new twilio.twiml.VoiceResponse();
  const stream = vr.connect().stream({ url: `wss://${host}/twilio/media`, name: `weaver-${wf.id}`, statusCallback: `https://${host}/twilio/status`, statusCallbackMethod: 'POST' });
  stream.parameter({ name: 'workflow', value: wf.id });
  for (const [name, value] of Object.entries(extra)) stream.parameter({ name, value });
  return vr.toString();
}

/**
 * A new call the engine cannot take: `<Reject reason="busy"/>` as the only verb, so Twilio does not
 * answer it (no charge) and the caller hears a busy signal; the call ends with status busy.
 */
export function busyTwiml(): string {
  const vr = new twilio.twiml.VoiceResponse();
  vr.reject({ reason: 'busy' });
  return vr.toString();
}
