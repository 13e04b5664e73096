import type { IDataObject } from 'n8n-workflow';
import { sleep } from 'n8n-workflow';

import type { CallOptions, FalClient, StreamAnswer } from '../transport';
import { headerValue, parseRetryAfter } from '../transport/retry';
import { SseParser } from './sse';

/** Polling starts short (Kontext jobs take seconds) and backs off to at most this. */
export const POLL = { firstMs: 100, factor: 1.5, maxMs: 500 } as const;

/** What the node has learned about the server during one execution, shared by all its items. */
export interface ServerTraits {
	/** false once the server answered 404/405 to a status stream: the other items poll straight away. */
	streams?: boolean;
	/** Settles once the first item has asked for a stream: the others wait for its answer instead of all asking. */
	probing?: Promise<void>;
}

/**
 * Follows a job until fal reports it COMPLETED and returns that status body. It listens on fal's SSE status
 * stream, which reports completion the moment it happens, and polls where the server has no stream (404/405)
 * or the stream breaks. Aborting `options.signal` ends the wait with the signal's reason.
 */
export async function waitForCompletion(
	client: FalClient,
	statusUrl: string,
	traits: ServerTraits,
	options: CallOptions,
	onStatus: (status: IDataObject) => void = () => undefined,
): Promise<IDataObject> {
	if (traits.streams === undefined && traits.probing) await traits.probing;
	if (traits.streams !== false) {
		const completed = await followStream(client, statusUrl, traits, options, onStatus);
		if (completed) return completed;
	}
	return await poll(client, statusUrl, options, onStatus);
}

async function followStream(
	client: FalClient,
	statusUrl: string,
	traits: ServerTraits,
	options: CallOptions,
	onStatus: (status: IDataObject) => void,
): Promise<IDataObject | undefined> {
	let probed = () => undefined as void;
	if (traits.streams === undefined && !traits.probing) traits.probing = new Promise<void>((resolve) => (probed = resolve));
	let answer: StreamAnswer;
	try {
		answer = await client.openStream(statusUrl, options);
		if (answer.statusCode === 200) traits.streams = true;
		else if (answer.statusCode === 404 || answer.statusCode === 405 || answer.statusCode === 501) traits.streams = false;
	} finally {
		probed();
	}
	const { body } = answer;
	if (answer.statusCode !== 200) {
		body?.destroy?.();
		return undefined;
	}
	const stop = () => body.destroy();
	options.signal?.addEventListener('abort', stop, { once: true });
	try {
		const parser = new SseParser();
		for await (const chunk of body) {
			for (const data of parser.feed(typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8'))) {
				const status = parseJson(data);
				if (!status) continue;
				onStatus(status);
				if (status.status === 'COMPLETED') return status;
			}
		}
	} catch (error) {
		// A broken stream is not a failed job: the poll below picks up where it left off.
		client.logFallback(error);
	} finally {
		options.signal?.removeEventListener('abort', stop);
		body.destroy();
	}
	options.signal?.throwIfAborted();
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
		if (status.status === 'COMPLETED') return status;
		const retryAfter = parseRetryAfter(headerValue(answer.headers, 'retry-after'));
		await sleep(retryAfter ?? interval, options.signal);
		interval = Math.min(interval * POLL.factor, POLL.maxMs);
	}
}

function parseJson(text: string): IDataObject | undefined {
	try {
		const value: unknown = JSON.parse(text);
		return value && typeof value === 'object' && !Array.isArray(value) ? (value as IDataObject) : undefined;
	} catch {
		return undefined;
	}
}
