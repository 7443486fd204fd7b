// What the Azure Speech STT and TTS adapters share: building a SpeechConfig from a key plus a
// region or an endpoint URL, and mapping the SDK's cancellation codes onto ProviderError kinds.
import * as sdk from 'microsoft-cognitiveservices-speech-sdk';
import { ProviderError, type ProviderErrorKind } from '../kit/types.ts';

export interface AzureSpeechAuth {
  key: string;
  /** e.g. "westeurope"; or give `endpoint`. */
  region?: string;
  /** Full service URL (wss://…, or a loopback ws:// in tests); wins over `region`. */
  endpoint?: string;
}

export function speechConfig(a: AzureSpeechAuth): sdk.SpeechConfig {
  if (!a.key) throw new Error('Azure Speech: key is required');
  if (a.endpoint) return sdk.SpeechConfig.fromEndpoint(new URL(a.endpoint), a.key);
  if (a.region) return sdk.SpeechConfig.fromSubscription(a.key, a.region);
  throw new Error('Azure Speech: region or endpoint is required');
}

const KINDS: Partial<Record<sdk.CancellationErrorCode, ProviderErrorKind>> = {
  [sdk.CancellationErrorCode.AuthenticationFailure]: 'auth',
  [sdk.CancellationErrorCode.Forbidden]: 'auth',
  [sdk.CancellationErrorCode.TooManyRequests]: 'rate_limited',
  [sdk.CancellationErrorCode.BadRequestParameters]: 'bad_request',
  [sdk.CancellationErrorCode.ConnectionFailure]: 'server',
  [sdk.CancellationErrorCode.ServiceError]: 'server',
  [sdk.CancellationErrorCode.ServiceTimeout]: 'timeout',
  [sdk.CancellationErrorCode.RuntimeError]: 'unknown',
};

export function mapCancellation(provider: string, code: sdk.CancellationErrorCode, details: string | undefined): ProviderError {
  let kind = KINDS[code] ?? 'unknown';
  // A rejected WebSocket upgrade surfaces as a connection failure that names the HTTP status.
  const status = /\b(401|403|429)\b/.exec(details ?? '')?.[1];
  if (kind === 'server' && status) kind = status === '429' ? 'rate_limited' : 'auth';
  return new ProviderError(provider, kind, `${sdk.CancellationErrorCode[code] ?? code}: ${(details ?? '').slice(0, 300)}`);
}

/** Escapes text for an SSML element. */
export function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}
