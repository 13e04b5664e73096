import type { IDataObject } from 'n8n-workflow';

import type { CallOptions, FalClient } from '../transport';
import { IDLE_MS } from '../transport';
import { headerValue } from '../fal/answer';
import { parseRetryAfter } from '../transport/retry';
import { abortable, anySignal, chunksOf } from '../transport/signals';
import { sleepUnlessAborted } from '../transport/sleep';
import type { PollSighting } from './poll-schedule';
import { JobWatch, nextPollDelay, RunTimes } from './poll-schedule';
import { SseParser } from './sse';

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
	/** The run times of the jobs that finished, by endpoint: when to poll (job/poll-schedule.ts). */
	runTimes?: RunTimes;
}

/** The job being followed: its endpoint and when it was submitted (unknown for Get Result). */
export interface FollowedJob {
	endpoint: string;
	submittedAt?: number;
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
	job: FollowedJob = { endpoint: '' },
): Promise<IDataObject> {
	if (traits.streams === undefined && traits.probing)
		await abortable(traits.probing, options.signal);
	if (traits.streams !== false) {
		const final = await followStream(client, statusUrl, traits, options, onStatus);
		if (final) return final;
	}
	traits.runTimes ??= new RunTimes();
	return await poll(client, statusUrl, options, onStatus, traits.runTimes, job);
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

/**
 * Polls until the status is final, each poll when the schedule says (job/poll-schedule.ts); what
 * the job showed teaches the other items of the execution.
 */
async function poll(
	client: FalClient,
	statusUrl: string,
	options: CallOptions,
	onStatus: (status: IDataObject) => void,
	runTimes: RunTimes,
	job: FollowedJob,
): Promise<IDataObject> {
	const watch = new JobWatch(job.endpoint, job.submittedAt, options.itemIndex);
	let retryAfter: number | undefined;
	// The items polling jobs of one endpoint take turns while nothing is learned (poll-turns.ts).
	runTimes.enter(watch);
	try {
		for (;;) {
			await untilNextPoll(watch, runTimes, retryAfter, options.signal);
			const at = Date.now();
			const answer = await client.status(statusUrl, false, options);
			const status = client.expectJson(answer, 'status', options);
			onStatus(status);
			const sighting = sightingOf(at, status);
			if (isFinal(status)) {
				// The others plan again only after an await: the `finally` has let this one go by then.
				runTimes.learn(watch, sighting);
				return status;
			}
			watch.observe(sighting);
			// Counted from the answer, as the server meant it; the schedule counts from the poll.
			const wait = parseRetryAfter(headerValue(answer.headers, 'retry-after'));
			retryAfter = wait === undefined ? undefined : wait + (Date.now() - at);
		}
	} finally {
		runTimes.leave(watch);
	}
}

/**
 * Sleeps until the schedule's next poll, planning again whenever another item teaches something.
 * Only `signal` (Stop, the halt, the Timeout) ends the wait early with an error.
 */
async function untilNextPoll(
	watch: JobWatch,
	runTimes: RunTimes,
	retryAfter: number | undefined,
	signal: AbortSignal | undefined,
): Promise<void> {
	for (;;) {
		signal?.throwIfAborted();
		const changed = runTimes.changed;
		const delay = nextPollDelay(watch, runTimes.of(watch.endpoint), Date.now(), retryAfter);
		if (delay <= 0) return;
		try {
			await sleepUnlessAborted(delay, anySignal(signal, changed));
			return;
		} catch {
			// Stop, the halt or the Timeout end the wait; otherwise another item taught something.
			signal?.throwIfAborted();
		}
	}
}

function sightingOf(at: number, status: IDataObject): PollSighting {
	const metrics = status.metrics as IDataObject | undefined;
	const seconds = metrics?.inference_time;
	return {
		at,
		status: String(status.status),
		queuePosition: typeof status.queue_position === 'number' ? status.queue_position : undefined,
		inferenceMs: typeof seconds === 'number' ? seconds * 1000 : undefined,
		failed: status.error !== undefined && status.error !== null,
	};
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
