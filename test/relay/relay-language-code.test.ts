// A relay call's mid-call `language` message carries the workflow's own code for a locale
// (relay["language.<locale>.code"]), the same code its TwiML gave Twilio.
import { describe, it, expect } from 'vitest';
import { loadConfig } from '../../engine/config.ts';
import { loadWorkflows } from '../../engine/workflow.ts';
import { createMetrics } from '../../engine/metrics/registry.ts';
import { log } from '../../engine/log.ts';
import { RelayCall } from '../../engine/call/relay-call.ts';

describe('relay language codes', () => {
  it('switches Twilio to the workflow-given code, else the registry default', () => {
    const config = loadConfig({}, {});
    const base = loadWorkflows(config.WORKFLOWS_DIR).get('demo-relay')!;
    const sent: any[] = [];
    const socket = { send: (t: string) => sent.push(JSON.parse(t)), close: () => {} };
    const make = (relay: Record<string, string | boolean>) =>
      new RelayCall(socket, { config, metrics: createMetrics(), log, resolve: () => ({ workflow: { ...base, relay }, llm: { name: 'none', stream: async function* () {} }, ttsName: 'twilio' }) });

    const own = make({ ...base.relay, 'language.zh-HK.code': 'yue-HK' });
    own.onMessage(JSON.stringify({ type: 'setup', sessionId: 'VX1', callSid: 'CA1', customParameters: {} }), false);
    own.setLanguage('zh-HK');
    expect(sent.at(-1)).toEqual({ type: 'language', ttsLanguage: 'yue-HK', transcriptionLanguage: 'yue-HK' });

    const plain = make(Object.fromEntries(Object.entries(base.relay).filter(([k]) => !k.endsWith('.code'))));
    plain.onMessage(JSON.stringify({ type: 'setup', sessionId: 'VX2', callSid: 'CA2', customParameters: {} }), false);
    plain.setLanguage('zh-HK');
    expect(sent.at(-1)).toEqual({ type: 'language', ttsLanguage: 'zh-HK', transcriptionLanguage: 'zh-HK' });
    own.end('done');
    plain.end('done');
  });
});
