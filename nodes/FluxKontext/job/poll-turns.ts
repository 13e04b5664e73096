/**
 * The poll schedule with nothing learned yet (poll-schedule.ts learns from finished jobs). A lone
 * job is polled as the node always did: 100 ms after the submit, then 1.5x longer each time, up to
 * one poll every 500 ms. The items of a batch whose jobs started alike take turns, in rotation:
 * each polls one turn after the latest poll the others planned (a turn: its cycle shared among
 * them), never sooner than a lone job would and at most a turn late. Each polls once per 70 ms
 * times their number, but never more often than a lone job, at least every 700 ms (and a turn),
 * later every tenth of the time waited up to a second: together about every 70 ms, or every
 * 500 ms shared among them when 7 or fewer take turns. Jobs alike end alike: while the server
 * answers steadily, an end they share is seen within about one turn, and the first that ends
 * teaches the others (a job's own end later than the others' is seen within its cycle). Alike are
 * the jobs that started at their submit, and apart from them those seen queued first (they
 * started later). An item whose poll is under way, or whose next poll is further off than a turn
 * allows (a long Retry-After), is out of the turns until it plans again. A queued job keeps its
 * own pace, at its golden-ratio phase.
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
	return inRotation(watch, turns, cycle, submittedAt, first + cycle, first, first + cycle) ?? first;
}

/** The next poll after the one at `last`. */
export function nextUnlearned(watch: JobWatch, last: number, following: JobWatch[] = []): number {
	const { cycle, today, turns } = turnOf(watch, following);
	if (turns) {
		// Never sooner than a lone job would poll; up to a turn late, so that the turns even out
		// where the cycle is a lone job's (7 or fewer taking turns), but never past a second.
		const earliest = last + Math.max(cycle / 2, today);
		const latest =
			last + Math.max(cycle, Math.min(cycle * (1 + 1 / turns.length), SCHEDULE.turnCycleMaxMs));
		const next = inRotation(watch, turns, cycle, last, latest, earliest, latest);
		return next ?? last + cycle;
	}
	// Alone, or a job submitted elsewhere: today's back-off.
	if (watch.state !== 'queued') return last + cycle;
	// Queued: at this item's golden-ratio phase, so that the queued share any cycle evenly.
	const from = last + cycle * 0.4;
	const at = cycle * watch.phase;
	return from + ((((at - from) % cycle) + cycle) % cycle);
}

interface Turn {
	/** How often this item polls. */
	cycle: number;
	/** How often a lone job would, now. */
	today: number;
	/** The items it takes turns with (itself among them): undefined when it takes none. */
	turns?: JobWatch[];
}

/**
 * How often this item polls (see the top), and the items it takes turns with: none when it is
 * queued, alone, or a job submitted elsewhere.
 */
function turnOf(watch: JobWatch, following: JobWatch[]): Turn {
	// A job submitted here was first asked at 100 ms: its next gap is today's second one.
	const asked = watch.polls - (watch.submittedAt === undefined ? 1 : 0);
	const today = Math.min(SCHEDULE.firstMs * SCHEDULE.factor ** asked, SCHEDULE.maxMs);
	if (watch.submittedAt === undefined) return { cycle: today, today };
	const mine = following.filter((other) => other.submittedAt !== undefined);
	const queued = watch.state === 'queued';
	// Jobs alike end alike: those that started at their submit take turns among themselves, and so
	// do those seen queued first (which started later), so that an end the alike share falls
	// between two of their own polls, not among the others'. The queued share a cycle, each at
	// its phase.
	const seenQueued = watch.lastQueuedAt !== undefined;
	const alike = mine.filter((other) =>
		queued
			? other.state === 'queued'
			: other.state !== 'queued' && (other.lastQueuedAt !== undefined) === seenQueued,
	);
	const n = alike.length;
	const waited = (watch.lastPollAt ?? watch.submittedAt) - watch.submittedAt;
	const longest = Math.min(
		Math.max(SCHEDULE.turnCycleMs, SCHEDULE.turnGrowth * waited),
		SCHEDULE.turnCycleMaxMs,
	);
	const cycle = Math.max(today, Math.min(SCHEDULE.turnMs * n, longest));
	return { cycle, today, turns: queued || n < 2 ? undefined : alike };
}

/**
 * One turn after the latest poll the others taking turns planned within (`after`, `before`), kept
 * within [`earliest`, `latest`]: a turn is the cycle shared by them and this item. Plans up to
 * `after` are polls under way, and plans from `before` on (a long Retry-After) are out of the
 * turns. Undefined when none is left.
 */
function inRotation(
	watch: JobWatch,
	turns: JobWatch[],
	cycle: number,
	after: number,
	before: number,
	earliest: number,
	latest: number,
): number | undefined {
	let last: number | undefined;
	let taking = 1;
	for (const other of turns) {
		const at = other.plannedAt;
		if (other === watch || at === undefined || at <= after || at > before) continue;
		// Planned further from its own last poll than a turn allows: a Retry-After, out of the turns.
		if (other.lastPollAt !== undefined && at - other.lastPollAt > before - after) continue;
		taking++;
		if (last === undefined || at > last) last = at;
	}
	if (last === undefined) return undefined;
	return Math.min(latest, Math.max(earliest, last + cycle / taking));
}
