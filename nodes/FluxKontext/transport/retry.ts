/**
 * When to retry a request to fal's queue, and how long to wait first. Reads (status, result,
 * cancel, image downloads) retry transient failures; a submit retries only where fal proves nothing
 * was queued, so that a paid job is never queued twice.
 */
import { errorTypeOf, headerValue } from '../fal/answer';
import { NOT_SENT_CODES } from '../fal/socket-errors';

import { FAL_HEADERS } from '../fal/constants';

/**
 * `submit` queues a paid job; `result` reads a job's stored outcome; `read` is any other read
 * (status, cancel, downloads); `once` is never retried (opening the status stream, whose fallback
 * is polling; prices, whose fallback is the credential's). `submitLimited` is a submit with a Max
 * Queue Length, whose 429 (fal's queue is longer) is final.
 */
export type RequestKind = 'submit' | 'submitLimited' | 'result' | 'read' | 'once';

/** HTTP statuses fal's own clients treat as transient. */
const TRANSIENT_STATUSES = new Set([429, 500, 502, 503, 504]);

/** Socket-level failures where the server may be momentarily unreachable. */
const TRANSIENT_CODES = new Set([
	'ECONNRESET',
	'ECONNREFUSED',
	'ETIMEDOUT',
	'EPIPE',
	'ECONNABORTED',
	'EAI_AGAIN',
	'UND_ERR_SOCKET',
]);

export interface RetryPolicy {
	/** Retries after the first attempt. */
	retries: number;
	baseMs: number;
	maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseMs: 500, maxMs: 30_000 };

export function shouldRetry(
	kind: RequestKind,
	failure: { status?: number; code?: string; headers?: Record<string, unknown>; body?: unknown },
): boolean {
	if (kind === 'once') return false;
	if (failure.status !== undefined) {
		if (kind === 'submitLimited') return false;
		if (kind === 'submit') return failure.status === 429;
		// A result that carries fal's error type is the job's own failure, stored: asking again gives
		// the same.
		if (kind === 'result' && failure.status >= 500 && errorTypeOf(failure)) return false;
		// A 504 because the user's own X-Fal-Request-Timeout passed is final (fal's clients agree).
		if (
			failure.status === 504 &&
			headerValue(failure.headers, FAL_HEADERS.startTimeoutType.toLowerCase()) === 'user'
		)
			return false;
		return TRANSIENT_STATUSES.has(failure.status);
	}
	if (!failure.code) return false;
	// A submit is retried only where nothing was sent and the failure may pass (a refused
	// connection).
	return kind === 'submit' || kind === 'submitLimited'
		? NOT_SENT_CODES.has(failure.code) && TRANSIENT_CODES.has(failure.code)
		: TRANSIENT_CODES.has(failure.code);
}

/**
 * Milliseconds to wait before retry number `attempt` (1-based): the server's Retry-After when it
 * gives one, otherwise exponential backoff with ±25% jitter, both capped at the policy's maximum.
 */
export function retryDelayMs(
	attempt: number,
	headers: Record<string, unknown> | undefined,
	policy: RetryPolicy = DEFAULT_RETRY,
	random: () => number = Math.random,
	now: number = Date.now(),
): number {
	const retryAfter = parseRetryAfter(headerValue(headers, 'retry-after'), now);
	if (retryAfter !== undefined) return Math.min(retryAfter, policy.maxMs);
	const exponential = policy.baseMs * 2 ** (attempt - 1);
	const jitter = 1 + (random() * 2 - 1) * 0.25;
	return Math.min(Math.round(exponential * jitter), policy.maxMs);
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(
	value: string | undefined,
	now: number = Date.now(),
): number | undefined {
	if (value === undefined || value.trim() === '') return undefined;
	const text = value.trim();
	if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
	const date = Date.parse(text);
	return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
