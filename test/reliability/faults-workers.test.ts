// Worker threads killed under live calls. A DSP worker dies mid-call: its calls go on with fresh
// DSP state, the frames of the batch it held are lost and counted, and a call on the other shard
// never notices. An embedding worker dies during a cache lookup: that turn is a miss answered by
// the LLM, counted as a cache error, and the next lookup embeds on the thread Piscina starts.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { simulateCall, type SimCallResult } from '../../bench/load/twilio-sim.ts';
import { RelayCaller } from '../../bench/load/relay-sim.ts';
import { startTestEngine, fixture, waitFor, type TestEngine } from '../support/engine.ts';

const CALL = fixture('call-3turns.ulaw');
const TRANSCRIPTS = ['What are your opening hours on weekdays?', 'Is there parking at the clinic?', 'Do you treat children?'];

async function metric(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + (labels ? `{${labels}}` : ' ')));
  return line ? Number(line.split(' ').pop()) : NaN;
}

describe('a DSP worker killed mid-call', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine({ DSP_THREADS: 2, PERFORMANCE_CACHE_ENABLED: false });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('the calls on its shard go on and answer every turn, the lost frames are counted, the other shard is untouched', async () => {
    const sids: Record<string, string> = {};
    const shard: Record<string, number> = {};
    const call = (name: 'victim' | 'bystander', inject?: (sid: string) => void): Promise<SimCallResult> =>
      simulateCall({
        baseUrl: t.url,
        audio: CALL,
        transcripts: TRANSCRIPTS,
        speed: 2,
        inject: (_ws, sid) => {
          sids[name] = sid;
          inject?.(sid);
        },
      });
    const bystander = call('bystander');
    await waitFor(() => sids.bystander !== undefined && t.engine.dsp.shardOf(sids.bystander) >= 0, 'the bystander on a shard');
    const victim = call('victim', (sid) =>
      // 0.6 s into the caller's audio (speed 2), before its first utterance: the worker dies with a batch.
      setTimeout(() => {
        shard.victim = t.engine.dsp.shardOf(sid);
        shard.bystander = t.engine.dsp.shardOf(sids.bystander);
        t.engine.dsp.injectWorkerFault(sid, 'exit');
      }, 300),
    );
    const [v, b] = await Promise.all([victim, bystander]);
    expect(shard.victim).not.toBe(shard.bystander);

    for (const r of [v, b]) {
      const turns = t.engine.recent.get(r.callSid)!.turns.filter((x) => x.index > 0);
      expect(turns.map((x) => x.user)).toEqual(TRANSCRIPTS); // every turn heard and answered
      expect(turns.every((x) => x.source !== 'fallback')).toBe(true);
      expect(r.closeCode).toBe(1000); // the caller hung up; the engine never closed it
    }
    const st = t.engine.dsp.stats();
    expect(st.shards[shard.victim].workerRestarts).toBe(1);
    expect(st.shards[shard.victim].framesLost).toBeGreaterThan(0);
    expect(st.shards[shard.bystander].workerRestarts).toBe(0);
    expect(st.shards[shard.bystander].framesLost).toBe(0);
    expect(await metric(t.url, 'weaver_dsp_frames_lost')).toBe(st.framesLost);
    expect(await metric(t.url, 'weaver_dsp_worker_restarts')).toBe(1);
  });
});

describe('an embedding worker killed during a lookup (CACHE_EMBED_THREADS=1)', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await startTestEngine({ CACHE_EMBEDDING_BACKEND: 'hashing', CACHE_EMBED_THREADS: 1 });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('that turn is a miss answered by the LLM and counted; the next lookup hits on the new thread; the call goes on', async () => {
    const cache = t.engine.cache!;
    await waitFor(() => cache.stats().entries > 0, 'the FAQ pre-warm');
    const caller = new RelayCaller({ baseUrl: t.url, workflow: 'demo-relay' });
    await caller.connect();
    const call = () => t.engine.registry.recentRelay.get(caller.callSid)!;
    const lastSource = () => call().turns.at(-1)!.source;

    // A paraphrase: not the exact text, so the lookup needs an embedding.
    expect((await caller.turn('What time do you open during the week?')).answer).toMatch(/Monday to Friday/);
    expect(lastSource()).toBe('cache-semantic');

    const errors = cache.stats().errors;
    expect(cache.injectEmbedWorkerFault()).toBe(true);
    const hit = await caller.turn('When do you open on weekdays?');
    expect(hit.timedOut).toBe(false);
    expect(hit.answer).toMatch(/Monday to Friday/); // the workflow's LLM answered instead
    expect(lastSource()).toBe('llm');
    expect(cache.stats().errors).toBe(errors + 1);
    expect(await metric(t.url, 'weaver_cache_stat', 'stat="errors"')).toBe(errors + 1);

    expect((await caller.turn('What are your opening hours during the week?')).answer).toMatch(/Monday to Friday/);
    expect(lastSource()).toBe('cache-semantic');
    await caller.hangup();
    await waitFor(() => call().state === 'ended', 'the call to end');
    expect(call().outcome).toBe('hangup');
  });
});
