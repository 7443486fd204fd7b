// One engine process under the supervisor (supervisor.ts): answers the supervisor's requests for
// its Prometheus metrics (prom-client's cluster aggregation), reports its health once a second,
// and keeps the latest view of every process, so /metrics and /health on any process cover all of
// them. Built by the composition root only when this process is a cluster worker.
import cluster from 'node:cluster';
import client from 'prom-client';

export interface ProcessReport {
  index: number;
  pid: number;
  status: string;
  calls: number;
  uptimeS: number;
  /** Times the supervisor restarted this slot. */
  restarts: number;
  /** Unix ms of the report. */
  at: number;
}

/** Messages between supervisor and processes. */
export type ClusterMessage =
  | { type: 'weaver:ready'; index: number; port: number }
  | { type: 'weaver:report'; report: Omit<ProcessReport, 'restarts'> }
  | { type: 'weaver:cluster'; processes: ProcessReport[] }
  | { type: 'weaver:metrics-req'; id: number }
  | { type: 'weaver:metrics-res'; id: number; text?: string; error?: string };

const REPORT_MS = 1000;
const METRICS_TIMEOUT_MS = 5000;

export interface ClusterMember {
  readonly index: number;
  /** Every process's metrics, aggregated (counters and histograms summed, gauges summed). */
  metrics(): Promise<string>;
  /** /health's view of the other processes. */
  health(): { index: number; processes: ProcessReport[] };
  /** The server listens: start reporting. */
  ready(port: number, local: () => { status: string; calls: number }): void;
  stop(): void;
}

export const isClusterWorker = (): boolean => cluster.isWorker && typeof process.send === 'function';

export function joinCluster(registry: client.Registry, startedAt: number): ClusterMember | undefined {
  if (!isClusterWorker()) return undefined;
  const index = Number(process.env.WEAVER_WORKER_INDEX ?? cluster.worker?.id ?? 0);
  // Constructing an AggregatorRegistry in a worker makes prom-client answer the supervisor's requests.
  new client.AggregatorRegistry();
  client.AggregatorRegistry.setRegistries([registry]);
  let processes: ProcessReport[] = [];
  let nextId = 1;
  const pending = new Map<number, (r: { text?: string; error?: string }) => void>();
  let timer: NodeJS.Timeout | undefined;
  const send = (m: ClusterMessage) => {
    if (process.connected) process.send!(m);
  };
  const onMessage = (m: ClusterMessage) => {
    if (m?.type === 'weaver:cluster') processes = m.processes;
    else if (m?.type === 'weaver:metrics-res') pending.get(m.id)?.(m);
  };
  process.on('message', onMessage);
  // The supervisor is gone: drain like on SIGTERM rather than run unsupervised.
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  return {
    index,
    metrics() {
      const id = nextId++;
      return new Promise<string>((resolve) => {
        const t = setTimeout(() => {
          pending.delete(id);
          registry.metrics().then(resolve, () => resolve('')); // the supervisor did not answer: this process alone
        }, METRICS_TIMEOUT_MS);
        pending.set(id, (r) => {
          clearTimeout(t);
          pending.delete(id);
          if (r.text !== undefined) resolve(r.text);
          else registry.metrics().then(resolve, () => resolve(''));
        });
        send({ type: 'weaver:metrics-req', id });
      });
    },
    health: () => ({ index, processes }),
    ready(port, local) {
      send({ type: 'weaver:ready', index, port });
      const report = () => send({ type: 'weaver:report', report: { index, pid: process.pid, ...local(), uptimeS: Math.round((Date.now() - startedAt) / 1000), at: Date.now() } });
      report();
      timer = setInterval(report, REPORT_MS);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      process.off('message', onMessage);
    },
  };
}
