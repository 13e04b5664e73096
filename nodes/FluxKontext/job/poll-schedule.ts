/**
 * When to poll a job's status next, where the server has no status stream. Pure: it only reads
 * what the execution observed (times in ms on one clock, passed in) and answers a delay.
 *
 * With nothing learned yet, it polls as the node always did: 100 ms after the submit, then 1.5x
 * longer each time, up to one poll every 500 ms (each item at its own phase of the 500 ms, so
 * that a batch's polls do not fall in step). Once a job of the same endpoint has finished in this
 * execution, it predicts when this one ends: the learned run times (fal's
 * `metrics.inference_time`, kept within what the polls saw) from when the job left the queue, or
 * the learned submit-to-end times for a job never seen queued. It then polls sparsely while the
 * job is far from that window, densely within it, and backs off to 500 ms once the job is later
 * than any learned. A queued job is polled every 500 ms, less often the further back it is. Never
 * less than 100 ms after the previous poll (10 a second per item), nor before a Retry-After.
 */

export const SCHEDULE = {
	/** The ceiling: 10 status requests a second per item, whatever a server says. */
	minGapMs: 100,
	/** With nothing learned: today's schedule. */
	firstMs: 100,
	factor: 1.5,
	maxMs: 500,
	/** A Retry-After is honoured up to this; the item's Timeout ends any wait sooner. */
	maxRetryAfterMs: 30_000,
	/** A queued job: every 500 ms, plus this per place in the queue (up to `queuedMaxMs`). */
	queuedMs: 500,
	queuedPerPlaceMs: 250,
	queuedMaxMs: 1500,
	/** Before the window: straight to it when it is this close, else halfway, at most this far. */
	leapMs: 1000,
	sparseMaxMs: 3000,
	/** Within the window: the window in this many polls, each gap within the bounds. */
	windowPolls: 5,
	windowMaxMs: 250,
	/** The window's margin on each side: this plus a share of the run time. */
	marginMs: 50,
	marginShare: 0.02,
	/** After the window: the gap grows by this share of the lateness, up to `maxMs`. */
	lateShare: 0.1,
	/** Samples kept per endpoint (the most recent). */
	samples: 50,
} as const;

/** What one status poll showed. */
export interface PollSighting {
	/** When the poll was sent. */
	at: number;
	status: string;
	queuePosition?: number;
	/** fal's `metrics.inference_time`, in ms (a finished job). */
	inferenceMs?: number;
	/** The job ended with an error: its run time says nothing about the others. */
	failed?: boolean;
}

/** One job's course as the polls saw it. */
export class JobWatch {
	/** The last poll sent, for the 10-a-second ceiling; undefined before the first. */
	lastPollAt: number | undefined;
	polls = 0;
	/** Last time a poll (not the submit) saw the job queued. */
	lastQueuedAt: number | undefined;
	queuePosition: number | undefined;
	/** First time a poll saw it running (or over). */
	runningSeenAt: number | undefined;
	/** Last time a poll saw it under way (at first: the submit). */
	lastUnderWayAt: number | undefined;
	state: 'queued' | 'running' | 'submitted' = 'submitted';
	/** Where in each 500 ms this item polls once it polls that often with nothing learned. */
	readonly phase: number;

	constructor(
		readonly endpoint: string,
		/** When the submit was sent; undefined for a job submitted elsewhere (Get Result). */
		readonly submittedAt: number | undefined,
		itemIndex = 0,
	) {
		this.lastUnderWayAt = submittedAt;
		// Spread by the golden ratio: any number of items share the cycle about evenly.
		this.phase = SCHEDULE.maxMs * ((itemIndex * 0.6180339887) % 1);
	}

	observe(sighting: PollSighting): void {
		this.lastPollAt = sighting.at;
		this.polls++;
		if (sighting.status === 'IN_QUEUE') {
			this.state = 'queued';
			this.lastQueuedAt = sighting.at;
			this.queuePosition = sighting.queuePosition;
			this.lastUnderWayAt = sighting.at;
			return;
		}
		this.runningSeenAt ??= sighting.at;
		if (sighting.status === 'IN_PROGRESS') {
			this.state = 'running';
			this.lastUnderWayAt = sighting.at;
		}
	}

	/** When the job started, as far as the polls tell: [after, before]. */
	startWindow(): [number, number] | undefined {
		const after = this.lastQueuedAt ?? this.submittedAt;
		if (after === undefined) return undefined;
		return [after, this.runningSeenAt ?? Number.POSITIVE_INFINITY];
	}
}

interface Samples {
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

	of(endpoint: string): Samples | undefined {
		return this.byEndpoint.get(endpoint);
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
		const samples = this.byEndpoint.get(watch.endpoint) ?? { run: [], total: [] };
		push(samples.run, run);
		if (watch.lastQueuedAt === undefined) {
			// Never seen queued: it ended at least `run` after the submit.
			const endFrom = Math.max(endAfter, watch.submittedAt + run);
			push(samples.total, (Math.min(endFrom, endBefore) + endBefore) / 2 - watch.submittedAt);
		}
		this.byEndpoint.set(watch.endpoint, samples);
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
	return Math.max(0, Math.max(earliest, planned(watch, learned, now)) - now);
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
		if (watch.lastPollAt !== undefined) return unlearned(watch, last);
		// The submit's answer was the status at 0 ms; a job submitted elsewhere is asked at once.
		return watch.submittedAt === undefined ? now : watch.submittedAt + SCHEDULE.firstMs;
	}
	const [from, to] = window;
	if (now < from) {
		const ahead = from - now;
		if (ahead <= SCHEDULE.leapMs) return from;
		return now + Math.min(Math.max(ahead / 2, SCHEDULE.leapMs), SCHEDULE.sparseMaxMs);
	}
	const gap = Math.max(
		Math.min((to - from) / SCHEDULE.windowPolls, SCHEDULE.windowMaxMs),
		SCHEDULE.minGapMs,
	);
	if (now <= to) return last + gap;
	return last + Math.min(gap + SCHEDULE.lateShare * (now - to), SCHEDULE.maxMs);
}

/**
 * Today's back-off by poll count (100, 150, 225 ... ms), then one poll every 500 ms at this item's
 * phase: the items of a batch, polling at different moments, together see a moment they share (all
 * their jobs ending at once) within a fraction of 500 ms, each at today's cost.
 */
function unlearned(watch: JobWatch, last: number): number {
	// A job submitted here was first asked at 100 ms: its next gap is today's second one.
	const gap =
		SCHEDULE.firstMs * SCHEDULE.factor ** (watch.polls - (watch.submittedAt === undefined ? 1 : 0));
	if (gap < SCHEDULE.maxMs) return last + gap;
	const cycle = SCHEDULE.maxMs;
	const from = last + cycle * 0.4;
	return from + ((((watch.phase - from) % cycle) + cycle) % cycle);
}
