import type { IDataObject } from 'n8n-workflow';

import type { CallOptions, FalClient } from '../transport';
import { IDLE_MS } from '../transport';
import { headerValue } from '../fal/answer';
import { parseRetryAfter } from '../transport/retry';
import { abortable, chunksOf } from '../transport/signals';
import { sleepUnlessAborted } from '../transport/sleep';
import { SseParser } from './sse';

/**
 * Polling starts short (Kontext jobs take seconds) and backs off to at most `maxMs`. A server's
 * Retry-After is honoured within `firstMs` (never faster) and `maxRetryAfterMs`; the item's Timeout
 * ends any wait sooner.
 */
export const POLL = { firstMs: 100, factor: 1.5, maxMs: 500, maxRetryAfterMs: 30_000 } as const;

/** The statuses of a job still under way; fal has no others but COMPLETED. */
const UNDER_WAY = new Set(['IN_QUEUE', 'IN_PROGRESS']);

/**
 * Whether a status ends the wait: COMPLETED, or any terminal status a gateway has of its own
 * (FAILED, ERROR...).
 */
export function isFinal(status: IDataObject): boolean {
	return !UNDER_WAY.has(String(status.status));
}

/** What the node has learned about the server during one execution, shared by all its items. */
export interface ServerTraits {
	/** false once the status stream failed in any way: the other items poll straight away. */
	streams?: boolean;
	/**
	 * Settles once the first item has asked for a stream: the others wait for its answer instead of
	 * all asking.
	 */
	probing?: Promise<void>;
}

/**
 * Follows a job until its status is final and returns that status body. It listens on fal's SSE
 * status stream, which reports completion the moment it happens, and polls where the server has no
 * stream or the stream fails. `options.signal` ends the wait at once, with the signal's reason.
 */
export async function waitForCompletion(
	client: FalClient,
	statusUrl: string,
	traits: ServerTraits,
	options: CallOptions,
	onStatus: (status: IDataObject) => void,
): Promise<IDataObject> {
	if (traits.streams === undefined && traits.probing)
		await abortable(traits.probing, options.signal);
	if (traits.streams !== false) {
		const final = await followStream(client, statusUrl, traits, options, onStatus);
		if (final) return final;
	}
	return await poll(client, statusUrl, options, onStatus);
}

/** The final status from the stream, or undefined when the stream is not to be had (then: poll). */
async function followStream(
	client: FalClient,
	statusUrl: string,
	traits: ServerTraits,
	options: CallOptions,
	onStatus: (status: IDataObject) => void,
): Promise<IDataObject | undefined> {
	let probed = () => undefined as void;
	if (traits.streams === undefined && !traits.probing)
		traits.probing = new Promise<void>((resolve) => (probed = resolve));
	try {
		const answer = await client.openStream(statusUrl, options);
		if (answer.statusCode === 200) {
			traits.streams = true;
			probed();
			const parser = new SseParser();
			const decoder = new TextDecoder();
			for await (const chunk of chunksOf(
				answer.body,
				options.signal,
				IDLE_MS.stream,
				'status stream',
			)) {
				for (const data of parser.feed(decoder.decode(chunk, { stream: true }))) {
					const status = parseJson(data);
					if (!status) continue;
					onStatus(status);
					if (isFinal(status)) return status;
				}
			}
			client.debug('status stream ended before the job did; polling instead');
		} else {
			answer.body?.destroy?.();
			client.debug(`status stream answered ${answer.statusCode}; polling instead`);
		}
	} catch (error) {
		options.signal?.throwIfAborted();
		client.debug('status stream broke; polling instead', error);
	} finally {
		probed();
	}
	// No stream, or a broken one: this item and every item after it poll.
	traits.streams = false;
	return undefined;
}

async function poll(
	client: FalClient,
	statusUrl: string,
	options: CallOptions,
	onStatus: (status: IDataObject) => void,
): Promise<IDataObject> {
	let interval: number = POLL.firstMs;
	for (;;) {
		const answer = await client.status(statusUrl, false, options);
		const status = client.expectJson(answer, 'status', options);
		onStatus(status);
		if (isFinal(status)) return status;
		const retryAfter = parseRetryAfter(headerValue(answer.headers, 'retry-after'));
		await sleepUnlessAborted(
			Math.min(Math.max(retryAfter ?? interval, POLL.firstMs), POLL.maxRetryAfterMs),
			options.signal,
		);
		interval = Math.min(interval * POLL.factor, POLL.maxMs);
	}
}

function parseJson(text: string): IDataObject | undefined {
	try {
		const value: unknown = JSON.parse(text);
		return value && typeof value === 'object' && !Array.isArray(value)
			? (value as IDataObject)
			: undefined;
	} catch {
		return undefined;
	}
}
