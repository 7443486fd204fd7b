// ConversationRelay routes: the WebSocket Twilio opens for a relay-mode call, and the
// <Connect action> webhook Twilio requests when the session ends (with HandoffData).
import type { RouteGroup } from '../server.ts';
import { relaySettings } from '../twilio/relay-twiml.ts';
import { flatParams, formParams, twilioWebhook } from '../twilio/signature.ts';
import { callSocketBehavior, type CallSocketData } from '../call-socket.ts';
import { send } from '../http.ts';

export const relayRoutes: RouteGroup = (app, engine) => {
  const { config, log } = engine;
  // A relay workflow whose TwiML Twilio would reject fails now, naming the key, not mid-call.
  for (const wf of engine.workflows.values()) if (wf.mode === 'relay') relaySettings(wf);

  app.ws<CallSocketData>(
    '/twilio/relay',
    callSocketBehavior(engine, 'relay', (socket) => engine.newCall('relay', socket)),
  );

  // Twilio requests the <Connect action> URL once the relay session is over; answer what to do next.
  app.post(
    '/twilio/relay/action',
    twilioWebhook(config, engine.metrics.webhookRejected, ({ res, g, body }) => {
      const p = flatParams(formParams(body));
      engine.registry.recordHandoff(p);
      log.info({ callSid: p.CallSid, sessionStatus: p.SessionStatus, handoffData: p.HandoffData }, 'relay session ended');
      send(res, g, '200 OK', 'text/xml', '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>');
    }),
  );
};
