// Engine configuration: environment variables, optionally layered over a JSON file named by
// WEAVER_CONFIG (same keys as the env vars). Validated once at startup; a bad value stops the
// engine with the variable named. Everything has a default that runs with no keys.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const bool = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])]).transform((v) => v === true || v === 'true' || v === '1' || v === 'yes' || v === 'on');
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max).default(def);
const num = (def: number, min = 0, max = Number.MAX_VALUE) => z.coerce.number().min(min).max(max).default(def);
const optStr = z.string().min(1).optional();

export const ConfigSchema = z.object({
  // --- server
  PORT: int(8080, 0, 65535),
  HOST: z.string().default('0.0.0.0'),
  /** Let this engine share PORT with another process already listening there (SO_REUSEPORT); off, a taken port stops startup. */
  WEAVER_SHARE_PORT: bool.default(false),
  /**
   * Engine processes on this machine sharing PORT, each with its own DSP shards, under a supervisor
   * that restarts one that dies (engine/cluster/). 1: the engine runs in this process, as before.
   */
  WEAVER_PROCESSES: int(1, 1, 64),
  // --- scale-out on Redis (engine/shared/): cache, call registry and breaker state shared between
  // instances, never on the audio path. Unset: the engine runs alone.
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL').optional(),
  /** Prefix of every key and channel, so deployments (and test runs) can share one Redis. */
  REDIS_KEY_PREFIX: z.string().default('weaver:'),
  /** A Redis command not answered in this long fails (the engine carries on with local state). */
  REDIS_COMMAND_TIMEOUT_MS: int(500, 10, 60_000),
  /** How long a call's shared record (owner, state, callbacks, turn summaries) stays in Redis. */
  REDIS_CALL_TTL_S: int(86_400, 60),
  /** Writes held while Redis is unreachable; past this the oldest are dropped and counted. */
  REDIS_WRITE_QUEUE_MAX: int(10_000, 0),
  /**
   * Plug-ins loaded before providers are built: comma-separated module paths (TypeScript or
   * JavaScript, relative to the working directory), each registering adapters with registerProvider.
   */
  WEAVER_PLUGINS: z
    .union([z.string(), z.array(z.string())]) // a string in the environment, either in a WEAVER_CONFIG file
    .optional()
    .transform((v) => (Array.isArray(v) ? v : (v ?? '').split(',')).map((p) => p.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/\.(ts|mts|cts|js|mjs|cjs)$/, 'each plug-in must be a module path ending in .ts, .mts, .cts, .js, .mjs or .cjs'))),
  /** Public host name Twilio reaches (e.g. "abc.ngrok.app"); used in TwiML and signature checks. */
  PUBLIC_HOST: optStr,
  WORKFLOWS_DIR: z.string().default(fileURLToPath(new URL('./workflows', import.meta.url))),
  DEFAULT_WORKFLOW: z.string().default('demo'),
  /** Largest WebSocket message accepted; Twilio's media messages are ~400 bytes. */
  MAX_MESSAGE_BYTES: int(64 * 1024, 1024, 16 * 1024 * 1024),
  MAX_CALLS: int(5000, 1),
  SHUTDOWN_GRACE_MS: int(10_000, 0),
  /** A call socket that has not sent `start`/`setup` this long after opening is closed (Twilio sends both at once). */
  CALL_START_TIMEOUT_MS: int(10_000, 100, 600_000),
  /** Calls at once from one remote address; 0: no limit (behind a proxy every call comes from its address). */
  MAX_CALLS_PER_IP: int(0, 0),
  /**
   * Bytes a call socket may hold unsent (a peer that stops reading while the agent speaks) before
   * it is closed: memory stays bounded. 4 MB is minutes of base64 μ-law.
   */
  MAX_SOCKET_BUFFER_BYTES: int(4 * 1024 * 1024, 16 * 1024),
  /**
   * New calls are refused (503 with a reason) once fewer than this many file descriptors remain
   * under the process's soft RLIMIT_NOFILE, keeping room for the live calls' provider connections
   * and files; 0: no check (engine/admission.ts).
   */
  ADMISSION_FD_RESERVE: int(64, 0, 1_000_000),
  /** The process's memory limit in MB; 0: the container's (cgroup) limit, if it has one. */
  MEMORY_LIMIT_MB: int(0, 0),
  /** New calls are refused while RSS is above this share of MEMORY_LIMIT_MB, or the V8 heap above this share of its limit. */
  ADMISSION_MEMORY_RATIO: num(0.9, 0.1, 1),

  // --- DSP (workers/)
  DSP_THREADS: int(Math.max(1, availableParallelism()), 1, 64),
  /**
   * off (VAD only) | spectral (light suppression tracking the noise floor, ~40 µs per frame)
   * | rnnoise (RNNoise WASM at 48 kHz, ~400 µs per frame). Off by default: WebRTC VAD alone
   * finds every labelled utterance down to 10 dB SNR, and a 2-core machine then holds 2,000
   * calls' DSP; turn spectral on for noisy lines (see bench/README.md, "DSP").
   */
  DSP_DENOISE: z.enum(['off', 'spectral', 'rnnoise']).default('off'),
  /** WebRTC VAD aggressiveness 0..3. */
  DSP_VAD_MODE: int(2, 0, 3),
  /**
   * silero (Silero VAD v5, batched per shard task; a speech probability) | webrtc (WebRTC VAD, a
   * decision per frame). Silero by default: it finds every turn at 20, 10 and 5 dB SNR where WebRTC
   * VAD merges turns on noise (bench/README.md, "DSP").
   */
  DSP_VAD: z.enum(['silero', 'webrtc']).default('silero'),
  /** Cancel the agent's own echo on the line (NLMS on the audio the engine sent, workers/echo.ts). */
  DSP_ECHO_CANCEL: bool.default(true),

  // --- turn taking
  /** End-of-turn hangover when the words so far say nothing (no interim transcript, or too few words). */
  TURN_END_SILENCE_MS: int(500, 100, 5000),
  /** Hangover after words that form a complete utterance, and after words that trail off ("and", "um"); MIN ≤ default ≤ MAX. */
  TURN_END_SILENCE_MIN_MS: int(200, 60, 5000),
  TURN_END_SILENCE_MAX_MS: int(900, 100, 5000),
  TURN_MIN_SPEECH_MS: int(100, 20, 2000),
  /** Speech probability that starts a voiced stretch, and that holds it (hysteresis; offset ≤ onset). */
  TURN_ONSET_PROB: num(0.5, 0.05, 0.95),
  TURN_OFFSET_PROB: num(0.35, 0.01, 0.95),
  /** The onset threshold rises to the line's non-speech probability plus this. */
  TURN_NOISE_PROB_MARGIN: num(0.2, 0, 1),
  /** A frame must be this many dB above the line's noise floor to count as voiced (0: off). */
  TURN_SNR_GATE_DB: num(3, 0, 40),
  /**
   * On a line whose background is other talkers (babble, a TV), a frame must stand this fraction
   * of the way from the background's level to the caller's to count as voiced (0: off).
   */
  TURN_FOREGROUND_FRAC: num(0.3, 0, 1),
  /**
   * A pause inside speech up to this long counts as speech once it resumes, so barge-in's minimum
   * speech spans a short gap between words (0: off). Off by default: with 100 ms (and a 240 ms
   * minimum speech) barge-in over echo came ~100 ms sooner, but noise on the line made 3× the
   * false barge-ins (bench/README.md, "Turn taking").
   */
  TURN_PAUSE_BRIDGE_MS: int(0, 0, 1000),
  /** Speech needed while the agent talks to count as a barge-in (a cough is shorter). */
  BARGE_IN_MIN_SPEECH_MS: int(300, 20, 5000),
  BARGE_IN_ENABLED: bool.default(true),
  /** While the agent's echo may be on the line, caller speech must be this many dB above the echo left after cancellation. */
  BARGE_IN_ECHO_MARGIN_DB: num(6, 0, 60),
  /** The same margin for a frame that continues the caller's speech (hysteresis: their quieter syllables; ≤ the margin). */
  BARGE_IN_ECHO_HOLD_DB: num(0, 0, 60),
  /**
   * While the agent's echo may be on the line, caller speech counts (a turn, a barge-in) once one
   * frame of it stands this many dB out of echo and noise (0: off). Off by default: 12 dB cut false
   * barge-ins from line noise in bench/echo-eval.ts, but a caller on a 5 dB SNR line then never
   * took the turn while the agent spoke (test/e2e/turn-taking.test.ts).
   */
  BARGE_IN_ECHO_CONFIRM_DB: num(0, 0, 60),
  /**
   * While the agent's echo may be on the line, a frame also counts as the caller's when this share
   * of its energy lies in bands standing 6 dB out of the echo left and the noise (the canceller's
   * band-by-band view, workers/echo-bands.ts), however loud the echo is over the whole band
   * (1: off).
   */
  BARGE_IN_ECHO_SHARE: num(0.5, 0, 1),
  /**
   * Media Streams: start a speculative answer (cache, then LLM) on the interim transcript when the
   * caller pauses on words that sound complete. Off by default: a speculation in the call's current
   * language is thrown away when the final transcript switches language, and each mid-sentence
   * pause on complete-sounding words costs a discarded request.
   */
  MEDIA_SPECULATION: bool.default(false),
  /** Simulated STT: how long it "thinks" before emitting the next transcript. */
  SIM_STT_LATENCY_MS: int(120, 0, 10_000),

  // --- cache
  PERFORMANCE_CACHE_ENABLED: bool.default(true),
  CACHE_THRESHOLD: num(0.85, 0, 1),
  CACHE_CAPACITY: int(10_000, 1),
  CACHE_TTL_S: int(7 * 24 * 3600, 1),
  CACHE_DIR: z.string().default('data/cache'),
  CACHE_PERSIST_INTERVAL_S: int(60, 1),
  /** auto | transformers | openai | hashing (offline, no model file). */
  CACHE_EMBEDDING_BACKEND: z.enum(['auto', 'transformers', 'openai', 'hashing']).default('auto'),
  CACHE_MODEL: z.string().default('Xenova/paraphrase-multilingual-MiniLM-L12-v2'),
  CACHE_MODEL_DIR: z.string().default('data/models'),
  /** LLM answers seen this many times become cache entries. */
  CACHE_LEARN_MIN_COUNT: int(2, 1),
  // (cache, added by the cache helper) learn policy: off switch and the longest answer worth
  // caching (long answers tend to be conversational or caller-specific).
  CACHE_LEARN_ENABLED: bool.default(true),
  CACHE_LEARN_MAX_CHARS: int(400, 1),
  /**
   * Prediction (engine/call/prediction.ts): after a turn answered by a cache entry, the entry that
   * usually answers the caller's next turn is synthesised in the call's voice in the background,
   * when it followed at least CACHE_PREDICT_MIN_COUNT times and in at least
   * CACHE_PREDICT_MIN_PROB of the turns after it. At most CACHE_PREDICT_CONCURRENCY syntheses at
   * once in the process; a prediction that finds them busy is dropped (counted), not queued.
   */
  CACHE_PREDICT: bool.default(true),
  CACHE_PREDICT_MIN_PROB: num(0.4, 0.01, 1),
  CACHE_PREDICT_MIN_COUNT: int(3, 1),
  CACHE_PREDICT_CONCURRENCY: int(2, 1, 64),
  /** Threshold for the offline hashing backend: its cosine measures word overlap, a lower scale than a sentence model's. */
  CACHE_HASHING_THRESHOLD: num(0.5, 0, 1),
  CACHE_HASHING_DIMS: int(512, 16, 65536),
  /** Extra similarity required when query and entry share no content word (no lexical anchor). The hashing backend never accepts an unanchored match. */
  CACHE_UNANCHORED_MARGIN: num(0.05, 0, 1),
  /**
   * HNSW graph degree, build and search breadth, chosen from bench/micro/cache.bench.ts: M=8
   * keeps evict+insert into a reused slot near 1 ms (M=16: 7-10 ms, blocking the event loop);
   * ef=128 gives recall@1 1.000 against brute force at 10k.
   */
  CACHE_HNSW_M: int(8, 2, 128),
  CACHE_HNSW_EF_CONSTRUCTION: int(64, 8, 2000),
  CACHE_HNSW_EF: int(128, 1, 4096),
  /**
   * Embedding worker threads (Piscina); 0 embeds on the main thread. Unset: 1 for transformers.js,
   * 0 for the hashing backend (36 µs a text, less than a round trip to a thread).
   */
  CACHE_EMBED_THREADS: z.coerce.number().int().min(0).max(16).optional(),
  /** Let transformers.js download CACHE_MODEL into CACHE_MODEL_DIR when it is not there. */
  CACHE_MODEL_DOWNLOAD: bool.default(false),
  CACHE_OPENAI_EMBEDDING_MODEL: z.string().default('text-embedding-3-small'),
  /** Requested vector size for OpenAI text-embedding-3 models (omit for the model's own). */
  CACHE_OPENAI_DIMENSIONS: z.coerce.number().int().min(1).max(8192).optional(),

  // --- providers and hedging
  PERFORMANCE_FAILOVER_ENABLED: bool.default(true),
  /** JSON array overriding every workflow's LLM chain: [{"provider":"openai","model":…}, …]. */
  WEAVER_LLM_CHAIN: optStr,
  OPENAI_API_KEY: optStr,
  OPENAI_BASE_URL: optStr,
  AZURE_OPENAI_API_KEY: optStr,
  AZURE_OPENAI_ENDPOINT: optStr,
  AZURE_OPENAI_DEPLOYMENT: optStr,
  AZURE_OPENAI_API_VERSION: z.string().default('2024-10-21'),
  AZURE_SPEECH_KEY: optStr,
  AZURE_SPEECH_REGION: optStr,
  AZURE_SPEECH_ENDPOINT: optStr,
  ANTHROPIC_API_KEY: optStr,
  /** Anthropic Messages API origin (default https://api.anthropic.com). */
  ANTHROPIC_BASE_URL: optStr,
  DEEPGRAM_API_KEY: optStr,
  /** Deepgram streaming endpoint (default wss://api.deepgram.com/v1/listen). */
  DEEPGRAM_URL: optStr,
  ELEVENLABS_API_KEY: optStr,
  /** ElevenLabs API origin (default https://api.elevenlabs.io). */
  ELEVENLABS_BASE_URL: optStr,
  /** HTTP providers' connection pool (adapters/kit/http-pool.ts): offer HTTP/2 by ALPN (undici multiplexes no POSTs, so it saves no connection)… */
  PROVIDER_HTTP2: bool.default(false),
  /** …and keep an idle connection this long (ms), so turns seconds apart reuse it (a server's Keep-Alive hint can shorten it). */
  PROVIDER_KEEPALIVE_MS: int(60_000, 1000, 3_600_000),
  HEDGE_MIN_DELAY_MS: int(150, 0),
  HEDGE_MAX_DELAY_MS: int(1500, 0),
  /**
   * Expected time to first output of a provider before any sample (a provider spec's
   * expectedFirstOutputMs overrides it): the hedge delay starts at HEDGE_TAIL_MULTIPLE × this,
   * and observed samples take over as they arrive. 400 ms: a small hosted LLM's typical first token.
   */
  HEDGE_PRIOR_MS: int(400, 1, 60_000),
  /** k: the hedge delay is min(observed p95, k × median), so stalls in the tail cannot push it up (bench/hedge.bench.ts sweeps k). */
  HEDGE_TAIL_MULTIPLE: num(2.5, 1, 100),
  /** Hedge budget, a token bucket as in gRPC retry throttling: its size (hedging allowed while tokens > half)… */
  HEDGE_BUDGET_TOKENS: int(10, 1, 10_000),
  /** …and the tokens an answered request puts back (a failed attempt or a hedge that lost takes 1). */
  HEDGE_BUDGET_RATIO: num(0.1, 0, 1),
  FIRST_OUTPUT_TIMEOUT_MS: int(4000, 100),
  // Provider resilience (engine/providers/): a provider that streams nothing for this long
  // mid-answer is treated as failed and the answer is finished by the next one.
  STREAM_STALL_TIMEOUT_MS: int(3000, 100),
  /** Circuit breaker: opens after this many consecutive failures… */
  BREAKER_FAILURES: int(5, 1),
  /** …or when this share of the requests in BREAKER_WINDOW_MS failed (with ≥ BREAKER_MIN_REQUESTS). */
  BREAKER_FAILURE_RATIO: num(0.5, 0, 1),
  BREAKER_WINDOW_MS: int(10_000, 100),
  BREAKER_MIN_REQUESTS: int(10, 1),
  /** Time an open breaker waits before letting one probe request through (half-open). */
  BREAKER_COOLDOWN_MS: int(5000, 10),

  // --- language
  PERFORMANCE_LANGUAGE_OPTIMIZATION: bool.default(true),
  LANGUAGE_SWITCH_CONFIDENCE: num(0.8, 0, 1),

  // --- performance alerts
  PERFORMANCE_TARGET_LATENCY: int(300, 1),
  PERFORMANCE_MAX_LATENCY: int(500, 1),

  // --- call history (engine/history/): every call, turn and event kept in a store, off the audio path
  HISTORY_ENABLED: bool.default(true),
  /** SQLite file (embedded, the default store); ':memory:' keeps nothing across restarts. */
  HISTORY_PATH: z.string().min(1).default('data/history.sqlite'),
  /** postgres://user@host:5432/db: the store is PostgreSQL instead of SQLite. */
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// or postgresql:// URL').optional(),
  /** Calls older than this are deleted (at start, then hourly); 0 keeps them forever. */
  HISTORY_RETENTION_DAYS: int(30, 0, 36_500),
  /** Personal data in stored transcripts: off (as said) | pii (emails, numbers, references, titled names masked) | transcripts (no text kept, timings only). */
  HISTORY_REDACT: z.enum(['off', 'pii', 'transcripts']).default('off'),
  /** Store caller and callee numbers masked (+1******4567). */
  HISTORY_MASK_NUMBERS: bool.default(false),
  /** Records waiting for the store; past this, new ones are dropped and counted (weaver_history_dropped_total). */
  HISTORY_QUEUE_MAX: int(10_000, 10, 10_000_000),
  HISTORY_BATCH_SIZE: int(200, 1, 10_000),
  HISTORY_FLUSH_MS: int(250, 10, 60_000),
  /** Quality score alert: share of caller turns answered within PERFORMANCE_TARGET_LATENCY with no error, fallback or cut-off, percent. */
  QUALITY_ALERT_THRESHOLD: num(85, 0, 100),
  /** Rolling window of the engine-wide quality score and its alert. */
  QUALITY_WINDOW_S: int(900, 10, 86_400),
  /** This engine instance's name in the call history (default: the host name). */
  INSTANCE_ID: optStr,

  // --- Twilio and security
  TWILIO_ACCOUNT_SID: optStr,
  TWILIO_AUTH_TOKEN: optStr,
  TWILIO_API_KEY: optStr,
  TWILIO_API_SECRET: optStr,
  /** Default caller id for outbound calls. */
  TWILIO_FROM_NUMBER: optStr,
  /** Bearer token for the engine's own API (POST /calls, /calls/:sid). */
  WEAVER_API_TOKEN: optStr,
  /** Twilio REST API origin override (tests' loopback fake, Twilio-compatible mocks); default https://api.twilio.com. */
  TWILIO_API_BASE_URL: z.string().url().optional(),
  /** ConversationRelay: start cache lookup and LLM on a partial prompt once it has been stable this long (buffered, never sent before the final prompt). */
  RELAY_SPECULATION: bool.default(true),
  RELAY_SPECULATE_AFTER_MS: int(150, 0, 5000),
  /** ConversationRelay gives no playback events: an agent hang-up waits for the goodbye at about this speaking rate. */
  RELAY_SPEAKING_CHARS_PER_S: num(14, 1, 100_000),
}).superRefine((c, ctx) => {
  // Turn taking (engine/call/turn-detector.ts): the adaptive hangover's bounds and the hysteresis.
  if (!(c.TURN_END_SILENCE_MIN_MS <= c.TURN_END_SILENCE_MS && c.TURN_END_SILENCE_MS <= c.TURN_END_SILENCE_MAX_MS)) {
    ctx.addIssue({ code: 'custom', path: ['TURN_END_SILENCE_MS'], message: `needs TURN_END_SILENCE_MIN_MS ≤ TURN_END_SILENCE_MS ≤ TURN_END_SILENCE_MAX_MS, got ${c.TURN_END_SILENCE_MIN_MS} ≤ ${c.TURN_END_SILENCE_MS} ≤ ${c.TURN_END_SILENCE_MAX_MS}` });
  }
  if (c.TURN_OFFSET_PROB > c.TURN_ONSET_PROB) ctx.addIssue({ code: 'custom', path: ['TURN_OFFSET_PROB'], message: `must not exceed TURN_ONSET_PROB (${c.TURN_ONSET_PROB})` });
  if (c.BARGE_IN_ECHO_HOLD_DB > c.BARGE_IN_ECHO_MARGIN_DB) ctx.addIssue({ code: 'custom', path: ['BARGE_IN_ECHO_HOLD_DB'], message: `must not exceed BARGE_IN_ECHO_MARGIN_DB (${c.BARGE_IN_ECHO_MARGIN_DB})` });
});

export type Config = z.infer<typeof ConfigSchema>;

/** Reads WEAVER_CONFIG (if set) then the environment; throws one error naming every bad setting. */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Record<keyof Config, unknown>> = {}): Config {
  let file: Record<string, unknown> = {};
  if (env.WEAVER_CONFIG) {
    try {
      file = JSON.parse(readFileSync(env.WEAVER_CONFIG, 'utf8'));
    } catch (e) {
      throw new Error(`WEAVER_CONFIG=${env.WEAVER_CONFIG}: cannot read config file: ${(e as Error).message}`);
    }
  }
  const fromEnv: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') fromEnv[key] = v;
  }
  const r = ConfigSchema.safeParse({ ...file, ...fromEnv, ...overrides });
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid configuration: ${msg}`);
  }
  return r.data;
}
