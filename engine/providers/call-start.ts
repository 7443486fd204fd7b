// Tells a call's providers that it is starting, so each can open what its first turn needs (a
// pooled connection's handshake) while the caller is still being greeted or speaking.
import type { CallContext, ProviderLifecycle } from '../../adapters/kit/types.ts';
import type { Logger } from '../../adapters/kit/log.ts';

export function callStarting(providers: Array<ProviderLifecycle & { name: string }>, ctx: CallContext, log: Logger): void {
  for (const p of new Set(providers)) {
    // Not awaited: a pre-connect that fails or is slow only means the first request connects itself.
    void Promise.resolve()
      .then(() => p.onCallStart?.(ctx))
      .catch((e: unknown) => log.debug({ err: e, provider: p.name }, 'pre-connect at call start failed'));
  }
}
