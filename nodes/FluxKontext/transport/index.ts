/**
 * The transport layer's public face: the client and what callers pass to it. Files: client.ts (one
 * method per exchange with fal), exchange.ts (an HTTP exchange, its deadline and retries),
 * origins.ts (the credential's URLs and the token guard), download.ts (result images), deadlines.ts
 * (every time and size limit), retry.ts (when to retry), signals.ts (abortable waits and reads).
 */
export { FalClient } from './client';
export type { CallOptions, StreamAnswer } from './exchange';
export { DEADLINES_MS, IDLE_MS, MAX_IMAGE_BYTES, UPLOAD_MIN_BYTES_PER_S } from './deadlines';
export type { ByteStream } from './signals';
