/**
 * What the poll schedule (poll-schedule.ts) reads: its constants, and one job's course as its
 * polls saw it.
 */

export const SCHEDULE = {
	/** The ceiling: 10 status requests a second per item, whatever a server says. */
	minGapMs: 100,
	/** With nothing learned: today's schedule. */
	firstMs: 100,
	factor: 1.5,
	maxMs: 500,
	/**
	 * With nothing learned, the items of a batch take turns: together about once per `turnMs`,
	 * each once per `turnMs` times their number, but at least once per `turnCycleMs` (later once
	 * per `turnGrowth` of the time it waited, up to `turnCycleMaxMs`).
	 */
	turnMs: 70,
	turnCycleMs: 700,
	turnGrowth: 0.1,
	turnCycleMaxMs: 1000,
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
	windowMinMs: 150,
	windowMaxMs: 200,
	/** The window's margin on each side: this plus a share of the run time. */
	marginMs: 50,
	marginShare: 0.02,
	/**
	 * After the window: the same gap for this long, then growing by `lateShare` of the lateness
	 * beyond it, up to `maxMs`.
	 */
	lateDenseMs: 2000,
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
	/** The next poll as last planned, so that the items of a batch can take turns. */
	plannedAt: number | undefined;
	/**
	 * Where in its cycle this item polls with nothing learned, as a share of the cycle: the items
	 * of a batch, spread by the golden ratio, share any cycle about evenly.
	 */
	readonly phase: number;

	constructor(
		readonly endpoint: string,
		/** When the submit was sent; undefined for a job submitted elsewhere (Get Result). */
		readonly submittedAt: number | undefined,
		itemIndex = 0,
	) {
		this.lastUnderWayAt = submittedAt;
		this.phase = (itemIndex * 0.6180339887) % 1;
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
