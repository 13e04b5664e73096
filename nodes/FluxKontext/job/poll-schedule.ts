/**
 * When to poll a job's status next, where the server has no status stream. It reads only what the
 * execution observed (times in ms on one clock, passed in), answers a delay and notes it on the
 * job's watch (so that the items of a batch can take turns: poll-turns.ts).
 *
 * With nothing learned yet, a lone job is polled as the node always did, and the items of a batch
 * take turns (poll-turns.ts). Once a job of the same endpoint has finished in this execution, it
 * predicts when this one ends: the learned run times (fal's `metrics.inference_time`, kept within
 * what the polls saw) from when the job left the queue, or the learned submit-to-end times for a
 * job never seen queued. It then polls sparsely while the job is far from that window, every 150
 * to 200 ms within it, as often for 2 s once the job is later than any learned (the others of a
 * batch end one after another), then backs off to 500 ms. A queued job is polled every 500 ms,
 * less often the further back it is. Never less than 100 ms after the previous poll (10 a second
 * per item), nor before a Retry-After.
 */

import type { JobWatch, PollSighting } from './poll-watch';
import { SCHEDULE } from './poll-watch';
import { firstPoll, nextUnlearned } from './poll-turns';

export type { PollSighting } from './poll-watch';
export { JobWatch, SCHEDULE } from './poll-watch';

/** What one execution knows of an endpoint's jobs. */
export interface Samples {
	/** The items following a job of this endpoint now by polling, in the order they began. */
	following: JobWatch[];
	/** Run times: from leaving the queue to the end. */
	run: number[];
	/** Submit to end, of jobs no poll saw queued. */
	total: number[];
}

/**
 * What the execution learned about each endpoint's jobs, shared by its items. `changed` aborts
 * whenever something is learned, so that items waiting on an older plan plan again.
 */
export class RunTimes {
	private readonly byEndpoint = new Map<string, Samples>();
	private controller = new AbortController();

	get changed(): AbortSignal {
		return this.controller.signal;
	}

	of(endpoint: string): Samples {
		let samples = this.byEndpoint.get(endpoint);
		if (!samples) this.byEndpoint.set(endpoint, (samples = { following: [], run: [], total: [] }));
		return samples;
	}

	/** An item starts polling its job (`leave` when it stops, however it stops). */
	enter(watch: JobWatch): void {
		this.of(watch.endpoint).following.push(watch);
	}

	leave(watch: JobWatch): void {
		const following = this.of(watch.endpoint).following;
		const at = following.indexOf(watch);
		if (at >= 0) following.splice(at, 1);
	}

	/** Learns from a job whose last poll (`final`) found it over. */
	learn(watch: JobWatch, final: PollSighting): void {
		watch.observe(final);
		if (final.failed || final.status !== 'COMPLETED') return;
		const start = watch.startWindow();
		if (!start || watch.submittedAt === undefined) return;
		const [endAfter, endBefore] = [watch.lastUnderWayAt ?? watch.submittedAt, final.at];
		const startBefore = Math.min(start[1], endBefore);
		// The run time the polls allow, and fal's own figure kept within it.
		const shortest = Math.max(0, endAfter - startBefore);
		const longest = Math.max(shortest, endBefore - start[0]);
		const run =
			final.inferenceMs !== undefined && Number.isFinite(final.inferenceMs)
				? Math.min(longest, Math.max(shortest, final.inferenceMs))
				: (shortest + longest) / 2;
		const samples = this.of(watch.endpoint);
		push(samples.run, run);
		if (watch.lastQueuedAt === undefined) {
			// Never seen queued: it ended at least `run` after the submit.
			const endFrom = Math.max(endAfter, watch.submittedAt + run);
			push(samples.total, (Math.min(endFrom, endBefore) + endBefore) / 2 - watch.submittedAt);
		}
		this.controller.abort();
		this.controller = new AbortController();
	}
}

function push(list: number[], value: number): void {
	list.push(value);
	if (list.length > SCHEDULE.samples) list.shift();
}

/** When the job should end, with margins: [from, to], or undefined when nothing tells. */
export function endWindow(
	watch: JobWatch,
	learned: Samples | undefined,
): [number, number] | undefined {
	if (!learned || learned.run.length === 0 || watch.state === 'queued') return undefined;
	const start = watch.startWindow();
	if (!start) return undefined;
	let from: number;
	let to: number;
	if (watch.lastQueuedAt === undefined && learned.total.length > 0) {
		from = start[0] + Math.min(...learned.total);
		to = start[0] + Math.max(...learned.total);
	} else {
		const started = Math.min(start[1], watch.lastPollAt ?? start[0]);
		from = start[0] + Math.min(...learned.run);
		to = (watch.runningSeenAt === undefined ? start[0] : started) + Math.max(...learned.run);
	}
	const margin = SCHEDULE.marginMs + SCHEDULE.marginShare * (to - start[0]);
	return [from - margin, to + margin];
}

/**
 * Milliseconds from `now` until the next poll of the job. `retryAfterMs` is the server's
 * Retry-After on the last answer (a lower bound, clamped as ever).
 */
export function nextPollDelay(
	watch: JobWatch,
	learned: Samples | undefined,
	now: number,
	retryAfterMs?: number,
): number {
	const floor = Math.min(Math.max(retryAfterMs ?? 0, SCHEDULE.minGapMs), SCHEDULE.maxRetryAfterMs);
	const earliest = watch.lastPollAt === undefined ? now : watch.lastPollAt + floor;
	watch.plannedAt = Math.max(now, earliest, planned(watch, learned, now));
	return watch.plannedAt - now;
}

/** The moment the schedule aims at, before the floor. */
function planned(watch: JobWatch, learned: Samples | undefined, now: number): number {
	const last = watch.lastPollAt ?? now;
	if (watch.state === 'queued' && learned?.run.length) {
		const places = Math.min(watch.queuePosition ?? 0, 4);
		const gap = SCHEDULE.queuedMs + SCHEDULE.queuedPerPlaceMs * places;
		return last + Math.min(gap, SCHEDULE.queuedMaxMs);
	}
	const window = endWindow(watch, learned);
	if (!window) {
		if (watch.lastPollAt !== undefined) return nextUnlearned(watch, last, learned?.following);
		// A job submitted elsewhere (Get Result) is asked at once.
		if (watch.submittedAt === undefined) return now;
		return firstPoll(watch, watch.submittedAt, learned?.following);
	}
	const [from, to] = window;
	if (now < from) {
		const ahead = from - now;
		if (ahead <= SCHEDULE.leapMs) return from;
		return now + Math.min(Math.max(ahead / 2, SCHEDULE.leapMs), SCHEDULE.sparseMaxMs);
	}
	const gap = Math.max(
		Math.min((to - from) / SCHEDULE.windowPolls, SCHEDULE.windowMaxMs),
		SCHEDULE.windowMinMs,
	);
	if (now <= to) return last + gap;
	// Later than any learned (the others of a batch end one after another): as densely for a while.
	const late = Math.max(0, now - to - SCHEDULE.lateDenseMs);
	return last + Math.min(gap + SCHEDULE.lateShare * late, SCHEDULE.maxMs);
}
