import { sleepUnlessAborted } from './sleep';

/**
 * Abort signals for the request path. Every wait the node makes (an HTTP exchange, a stream event,
 * a poll interval, a retry back-off) ends at once when its signal aborts, whatever the server does
 * or does not send.
 */

/**
 * Why an exchange gave up on a server that went quiet: counted as a failed attempt, like a timeout.
 */
export class StallError extends Error {
	readonly code = 'ETIMEDOUT';

	constructor(
		readonly what: string,
		readonly ms: number,
	) {
		super(`no answer within ${Math.round(ms / 1000)} s (${what})`);
		this.name = 'StallError';
	}
}

/**
 * A deadline that can be cleared: `signal` aborts with a StallError after `ms`, unless `clear()`
 * came first. (n8n-workflow keeps the timer, through ./sleep; node code may not set its own.)
 */
export function startDeadline(
	ms: number,
	what: string,
): { signal: AbortSignal; clear: () => void } {
	const expired = new AbortController();
	const cleared = new AbortController();
	sleepUnlessAborted(ms, cleared.signal).then(
		() => expired.abort(new StallError(what, ms)),
		() => undefined,
	);
	return { signal: expired.signal, clear: () => cleared.abort() };
}

/** One signal that aborts when any of the given ones does (undefined ones are skipped). */
export function anySignal(...signals: Array<AbortSignal | undefined>): AbortSignal {
	const present = signals.filter((signal): signal is AbortSignal => signal !== undefined);
	return present.length === 1 ? present[0] : AbortSignal.any(present);
}

/**
 * Settles with `promise`, or rejects with the signal's reason as soon as it aborts (at once if it
 * already has). A value that arrives after the abort is handed to `discard` (to free a socket), an
 * error is dropped.
 */
export async function abortable<T>(
	promise: Promise<T>,
	signal: AbortSignal | undefined,
	discard: (late: T) => void = () => undefined,
): Promise<T> {
	if (!signal) return await promise;
	return await new Promise<T>((resolve, reject) => {
		const onAbort = () => reject(signal.reason);
		promise.then(
			(value) => {
				signal.removeEventListener('abort', onAbort);
				if (signal.aborted) discard(value);
				else resolve(value);
			},
			(error: unknown) => {
				signal.removeEventListener('abort', onAbort);
				reject(error);
			},
		);
		if (signal.aborted) onAbort();
		else signal.addEventListener('abort', onAbort, { once: true });
	});
}

/**
 * The chunks of a response body, each wait for the next one bounded by `signal` and by `idleMs`
 * without a byte. A quiet stream cannot hold the node: n8n hands streams over wrapped in an async
 * generator, whose pending read does not end when the stream is destroyed, so every read is raced
 * instead. On exit the body is destroyed and its socket freed.
 */
export async function* chunksOf(
	body: ByteStream,
	signal: AbortSignal | undefined,
	idleMs: number,
	what: string,
): AsyncGenerator<Buffer> {
	const iterator = (body as AsyncIterable<unknown>)[Symbol.asyncIterator]();
	try {
		for (;;) {
			const idle = startDeadline(idleMs, what);
			let step: IteratorResult<unknown>;
			try {
				step = await abortable(iterator.next(), anySignal(signal, idle.signal));
			} finally {
				idle.clear();
			}
			if (step.done) return;
			const chunk = step.value;
			yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
		}
	} finally {
		body.destroy();
		// Not awaited: the generator's return may wait for a byte that never comes.
		iterator.return?.().catch(() => undefined);
	}
}

/**
 * A whole response body, read with `chunksOf`'s bounds. With the size announced (Content-Length),
 * the bytes are copied into one buffer as they arrive, so a large image is held once, not twice
 * (chunks, then their join).
 */
export async function readAll(
	body: ByteStream,
	signal: AbortSignal | undefined,
	idleMs: number,
	what: string,
	{ expectedBytes, maxBytes }: { expectedBytes?: number; maxBytes: number },
): Promise<Buffer> {
	const tooLarge = () => {
		body.destroy();
		const limit = maxBytes >= 1e6 ? `${Math.round(maxBytes / 1e6)} MB` : `${maxBytes} bytes`;
		return new Error(`it is larger than ${limit}, more than the node reads`);
	};
	if (expectedBytes !== undefined && expectedBytes > maxBytes) throw tooLarge();
	const known =
		expectedBytes !== undefined && Number.isSafeInteger(expectedBytes) && expectedBytes > 0;
	const whole = known ? Buffer.allocUnsafe(expectedBytes) : undefined;
	const chunks: Buffer[] = [];
	let filled = 0;
	let total = 0;
	for await (const chunk of chunksOf(body, signal, idleMs, what)) {
		total += chunk.length;
		if (total > maxBytes) throw tooLarge();
		if (whole && chunks.length === 0 && filled + chunk.length <= whole.length) {
			chunk.copy(whole, filled);
			filled += chunk.length;
		} else {
			chunks.push(chunk);
		}
	}
	const head = whole ? whole.subarray(0, filled) : undefined;
	// More than announced: join what came after the announced size.
	return chunks.length === 0
		? (head ?? Buffer.alloc(0))
		: Buffer.concat(head ? [head, ...chunks] : chunks);
}

/**
 * A readable byte stream, as n8n's request helper returns with `encoding: 'stream'` (typed without
 * importing node:stream).
 */
export type ByteStream = { destroy: (error?: Error) => void } & AsyncIterable<unknown>;
