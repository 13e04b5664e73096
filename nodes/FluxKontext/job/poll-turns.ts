/**
 * The poll schedule with nothing learned yet (poll-schedule.ts learns from finished jobs). A lone
 * job is polled as the node always did: 100 ms after the submit, then 1.5x longer each time, up to
 * one poll every 500 ms. The items of a batch whose jobs started at their submit take turns, in
 * rotation: each polls one turn after the latest poll the others planned, so that together they
 * poll every 70 ms, each once per 70 ms times their number (never more often than a lone job, at
 * least every 700 ms, later every tenth of the time waited up to a second). Jobs alike end alike,
 * so an end they share is seen within about 70 ms, and the first that ends teaches the others (a
 * job's own end later than the others' is seen within its cycle), at a fraction of the requests
 * of each on its own. A job seen queued started later: it keeps its own pace, at its golden-ratio
 * phase.
 */
import type { JobWatch } from './poll-watch';
import { SCHEDULE } from './poll-watch';

/** The first poll of a job submitted here (the submit's answer was its status at 0 ms). */
export function firstPoll(
	watch: JobWatch,
	submittedAt: number,
	following: JobWatch[] = [],
): number {
	const first = submittedAt + SCHEDULE.firstMs;
	const { cycle, turns } = turnOf(watch, following);
	if (!turns) return first + (cycle - SCHEDULE.firstMs) * watch.phase;
	return inRotation(watch, turns, cycle, first, first + cycle);
}

/** The next poll after the one at `last`. */
export function nextUnlearned(watch: JobWatch, last: number, following: JobWatch[] = []): number {
	const { cycle, turns } = turnOf(watch, following);
	if (turns) return inRotation(watch, turns, cycle, last + cycle / 2, last + cycle * 1.5);
	// Alone, the only one running, or a job submitted elsewhere: today's back-off.
	if (watch.lastQueuedAt === undefined) return last + cycle;
	// Queued, or started later than the others: at its golden-ratio phase, so that such jobs
	// share any cycle evenly.
	const from = last + cycle * 0.4;
	const at = cycle * watch.phase;
	return from + ((((at - from) % cycle) + cycle) % cycle);
}

/**
 * How often this item polls (see the top), and the items taking turns with it: none when it was
 * seen queued, is alone, or is a job submitted elsewhere.
 */
function turnOf(watch: JobWatch, following: JobWatch[]): { cycle: number; turns?: JobWatch[] } {
	// A job submitted here was first asked at 100 ms: its next gap is today's second one.
	const asked = watch.polls - (watch.submittedAt === undefined ? 1 : 0);
	const today = Math.min(SCHEDULE.firstMs * SCHEDULE.factor ** asked, SCHEDULE.maxMs);
	if (watch.submittedAt === undefined) return { cycle: today };
	// Turns are taken by the jobs that started at their submit: alike, they end alike. A job seen
	// queued started later: it shares a cycle with the others seen queued, each at its phase.
	const seenQueued = watch.lastQueuedAt !== undefined;
	const alike = following.filter(
		(other) => other.submittedAt !== undefined && (other.lastQueuedAt !== undefined) === seenQueued,
	);
	const taking = !seenQueued && alike.length > 1 && alike.includes(watch);
	const n = taking || seenQueued ? alike.length : 1;
	const waited = (watch.lastPollAt ?? watch.submittedAt) - watch.submittedAt;
	const longest = Math.min(
		Math.max(SCHEDULE.turnCycleMs, SCHEDULE.turnGrowth * waited),
		SCHEDULE.turnCycleMaxMs,
	);
	const cycle = Math.max(today, Math.min(SCHEDULE.turnMs * n, longest));
	return { cycle, turns: taking ? alike : undefined };
}

/**
 * The next turn of this item: one turn (its cycle shared by the items taking turns) after the
 * latest poll the others planned before `latest`, within [earliest, latest].
 */
function inRotation(
	watch: JobWatch,
	turns: JobWatch[],
	cycle: number,
	earliest: number,
	latest: number,
): number {
	let after: number | undefined;
	for (const other of turns) {
		const at = other.plannedAt;
		if (other !== watch && at !== undefined && at < latest && (after === undefined || at > after))
			after = at;
	}
	if (after === undefined) return earliest;
	return Math.min(latest, Math.max(earliest, after + cycle / turns.length));
}
