// Call control: the engine's own API (POST /calls places an outbound call, GET /calls/:sid
// reports one), behind WEAVER_API_TOKEN; and Twilio's status callbacks (POST /twilio/status).
import { z } from 'zod';
import type { RouteGroup } from '../server.ts';
import { guard, readBody, requestInfo, send, sendJson } from '../http.ts';
import { checkApiAuth } from '../calls/api-auth.ts';
import { callView } from '../calls/call-view.ts';
import { flatParams, formParams, twilioWebhook } from '../twilio/signature.ts';
import { connectTwiml } from '../twilio/relay-twiml.ts';
import { OutboundError, TwilioOutbound } from '../twilio/outbound.ts';
import { sendStoredCall } from './history.ts';

const PHONE = /^(\+[1-9]\d{6,14}|sip:\S+|client:\S+)$/;

export const PlaceCallSchema = z.strictObject({
  to: z.string().regex(PHONE, 'an E.164 number (+15551234567), sip:… or client:…'),
  from: z.string().regex(PHONE, 'an E.164 number or client:…').optional(),
  workflow: z.string().min(1).optional(),
  /** Extra <Parameter>s for the stream / relay session. */
  parameters: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), z.string().max(400)).default({}),
  /** Seconds to let it ring. */
  timeout: z.number().int().min(5).max(600).optional(),
});

export const callRoutes: RouteGroup = (app, engine) => {
  const { config, log } = engine;
  const calls = engine.registry;
  const outbound = new TwilioOutbound(config);

  app.post('/calls', (res, req) => {
    const info = requestInfo(req);
    const g = guard(res);
    const auth = checkApiAuth(config, info.headers);
    if (!auth.ok) return send(res, g, auth.status, 'application/json', JSON.stringify({ error: auth.error }), auth.headers);
    readBody(res, 16 * 1024).then(
      async (body) => {
        let raw: unknown;
        try {
          raw = JSON.parse(body.toString('utf8'));
        } catch {
          return sendJson(res, g, '400 Bad Request', { error: 'body must be JSON: {"to": "+1555…", "workflow": "demo"}' });
        }
        const parsed = PlaceCallSchema.safeParse(raw);
        if (!parsed.success) return sendJson(res, g, '400 Bad Request', { error: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ') });
        const r = parsed.data;
        const wf = engine.workflow(r.workflow);
        if (!wf) return sendJson(res, g, '404 Not Found', { error: `unknown workflow ${r.workflow}`, workflows: [...engine.workflows.keys()] });
        const from = r.from ?? config.TWILIO_FROM_NUMBER;
        if (!from) return sendJson(res, g, '400 Bad Request', { error: 'no caller id: pass "from" or set TWILIO_FROM_NUMBER' });
        const host = config.PUBLIC_HOST;
        if (!host) return sendJson(res, g, '503 Service Unavailable', { error: 'outbound calls need PUBLIC_HOST: Twilio must reach this engine for the call audio and status callbacks' });
        const twiml = connectTwiml(wf, host, r.parameters);
        try {
          const call = await outbound.placeCall({ to: r.to, from, twiml, statusCallback: `https://${host}/twilio/status`, timeoutS: r.timeout });
          calls.note(call.sid, { direction: 'outbound-api', workflow: wf.id, mode: wf.mode, to: call.to, from: call.from, status: call.status });
          engine.shared?.calls.noted(call.sid, { direction: 'outbound-api', workflow: wf.id, mode: wf.mode, to: call.to, from: call.from, status: call.status });
          log.info({ callSid: call.sid, to: r.to, workflow: wf.id, mode: wf.mode }, 'outbound call placed');
          sendJson(res, g, '201 Created', { callSid: call.sid, status: call.status, workflow: wf.id, mode: wf.mode, to: call.to, from: call.from });
        } catch (e) {
          const x = e instanceof OutboundError ? e : new OutboundError('unreachable', String((e as Error).message ?? e));
          const status = { config: '503 Service Unavailable', bad_request: '400 Bad Request', rejected: '422 Unprocessable Entity', unreachable: '502 Bad Gateway' }[x.kind];
          log.warn({ err: x, to: r.to }, 'outbound call failed');
          sendJson(res, g, status, { error: x.message, twilioStatus: x.twilioStatus, twilioCode: x.twilioCode });
        }
      },
      (e) => send(res, g, '413 Payload Too Large', 'text/plain', String(e.message)),
    );
  });

  app.get('/calls/:sid', (res, req) => {
    const info = requestInfo(req);
    const sid = req.getParameter(0) ?? '';
    const g = guard(res);
    const auth = checkApiAuth(config, info.headers);
    if (!auth.ok) return send(res, g, auth.status, 'application/json', JSON.stringify({ error: auth.error }), auth.headers);
    const record = calls.get(sid);
    const media = engine.recent.get(sid);
    const relay = calls.recentRelay.get(sid);
    if (engine.shared) {
      // Joined with what the other instances shared (engine/shared/); local alone if Redis cannot answer now.
      engine.shared.calls.view(sid, record, relay ?? media, relay ? 'relay' : media ? 'media' : undefined, relay?.workflowId).then(
        (v) => (v ? sendJson(res, g, '200 OK', v) : sendStoredCall(engine, sid, res, g)), // no instance knows it now: the call history, else 404
        (e: Error) => sendJson(res, g, '500 Internal Server Error', { error: e.message }),
      );
      return;
    }
    if (!record && !media && !relay) return sendStoredCall(engine, sid, res, g); // not live or recent here: from the call history, else 404
    const view = relay
      ? callView(sid, record, relay, 'relay', relay.workflowId)
      : callView(sid, record, media, media ? 'media' : undefined, media?.workflowId);
    sendJson(res, g, '200 OK', view);
  });

  // Call status and <Stream statusCallback> events. Twilio may deliver them out of order; the
  // registry orders them by SequenceNumber (calls) and Timestamp (streams).
  app.post(
    '/twilio/status',
    twilioWebhook(config, engine.metrics.webhookRejected, ({ res, g, body, reject }) => {
      const p = flatParams(formParams(body));
      if (!p.CallSid) return reject('400 Bad Request', 'missing CallSid');
      const kept = p.StreamEvent ? calls.recordStream(p) : calls.recordStatus(p);
      if (!kept && !p.StreamEvent && !p.CallStatus) return reject('400 Bad Request', 'neither CallStatus nor StreamEvent');
      log.debug({ callSid: p.CallSid, status: p.CallStatus, stream: p.StreamEvent, seq: p.SequenceNumber, duplicate: !kept }, 'status callback');
      send(res, g, '204 No Content', 'text/plain', '');
    }),
  );
};
