// ConversationRelay routes: the WebSocket Twilio opens for a relay-mode call, and the
// <Connect action> webhook Twilio requests when the session ends (with HandoffData).
import type { RouteGroup } from '../server.ts';
import type { Engine } from '../engine.ts';
import { RelaySession } from '../call/relay-session.ts';
import { registryVoice } from '../call/dialogue.ts';
import { relaySettings } from '../twilio/relay-twiml.ts';
import { flatParams, formParams, twilioWebhook } from '../twilio/signature.ts';
import { callSocketBehavior, type CallSocketData } from '../call-socket.ts';
import { callRegistry } from '../calls/registry.ts';
import { onSession } from '../metrics/live.ts';
import { send } from '../http.ts';

export const relayRoutes: RouteGroup = (app, engine) => {
  const { config, log } = engine;
  const calls = callRegistry(engine);
  // A relay workflow whose TwiML Twilio would reject fails now, naming the key, not mid-call.
  for (const wf of engine.workflows.values()) if (wf.mode === 'relay') relaySettings(wf);

  app.ws<CallSocketData>(
    '/twilio/relay',
    callSocketBehavior(engine, 'relay', (socket) => {
      const session = newRelaySession(engine, socket);
      session.started$.subscribe(() => calls.rememberRelay(session));
      onSession(engine, session); // relay turns feed the same live metrics and alerts
      return session;
    }),
  );

  // Twilio requests the <Connect action> URL once the relay session is over; answer what to do next.
  app.post(
    '/twilio/relay/action',
    twilioWebhook(config, ({ res, g, body }) => {
      const p = flatParams(formParams(body));
      calls.recordHandoff(p);
      log.info({ callSid: p.CallSid, sessionStatus: p.SessionStatus, handoffData: p.HandoffData }, 'relay session ended');
      send(res, g, '200 OK', 'text/xml', '<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>');
    }),
  );
};

/** A relay session wired to the engine's workflows, providers, cache and metrics. */
export function newRelaySession(engine: Engine, socket: ConstructorParameters<typeof RelaySession>[0]): RelaySession {
  return new RelaySession(socket, {
    config: engine.config,
    metrics: engine.metrics,
    log: engine.log,
    cache: engine.cache,
    voiceFor: registryVoice,
    resolve: (id) => {
      const workflow = engine.workflow(id) ?? engine.workflow(undefined)!;
      const p = engine.providersFor(workflow);
      return { workflow, llm: p.llm, ttsName: p.tts.name };
    },
  });
}
