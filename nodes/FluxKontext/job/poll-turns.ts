/**
 * The poll schedule with nothing learned yet (poll-schedule.ts learns from finished jobs). A lone
 * job is polled as the node always did: 100 ms after the submit, then 1.5x longer each time, up to
 * one poll every 500 ms. The items of a batch whose jobs are not known to be queued take turns:
 * together they poll about every 70 ms, each once per 70 ms times their number (never more often
 * than a lone job, at least every 700 ms, later every tenth of the time waited up to a second),
 * each at the free moment of its cycle nearest its due one. Jobs alike end alike, so an end they
 * share is seen within about 70 ms, and the first that ends teaches the others (a job's own end
 * later than the others' is seen within its cycle), at a fraction of the requests of each on its
 * own. A queued job keeps its own pace, at its golden-ratio phase.
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
	const last = Math.max(first, submittedAt + cycle);
	return freest(first, first, last, plansOf(watch, turns), cycle / turns.length);
}

/** The next poll after the one at `last`. */
export function nextUnlearned(watch: JobWatch, last: number, following: JobWatch[] = []): number {
	const { cycle, turns } = turnOf(watch, following);
	if (turns) {
		const plans = plansOf(watch, turns);
		const latest = last + Math.max(cycle, Math.min(cycle * 1.5, SCHEDULE.turnCycleMaxMs));
		return freest(last + cycle / 2, last + cycle, latest, plans, cycle / turns.length);
	}
	// Alone, the only one running, or a job submitted elsewhere: today's back-off.
	if (watch.state !== 'queued') return last + cycle;
	// Queued: at this item's golden-ratio phase, so that the queued share any cycle evenly.
	const from = last + cycle * 0.4;
	const at = cycle * watch.phase;
	return from + ((((at - from) % cycle) + cycle) % cycle);
}

/**
 * How often this item polls (see the top), and the items taking turns with it: none when it is
 * queued, alone, or a job submitted elsewhere.
 */
function turnOf(watch: JobWatch, following: JobWatch[]): { cycle: number; turns?: JobWatch[] } {
	// A job submitted here was first asked at 100 ms: its next gap is today's second one.
	const asked = watch.polls - (watch.submittedAt === undefined ? 1 : 0);
	const today = Math.min(SCHEDULE.firstMs * SCHEDULE.factor ** asked, SCHEDULE.maxMs);
	if (watch.submittedAt === undefined) return { cycle: today };
	const turns = following.filter((other) => other.state !== 'queued');
	const taking = turns.includes(watch) && turns.length > 1;
	// Not taking turns: alone among running ones (n = 1), or queued among the queued.
	const n = taking ? turns.length : watch.state === 'queued' ? following.length - turns.length : 1;
	const waited = (watch.lastPollAt ?? watch.submittedAt) - watch.submittedAt;
	const longest = Math.min(
		Math.max(SCHEDULE.turnCycleMs, SCHEDULE.turnGrowth * waited),
		SCHEDULE.turnCycleMaxMs,
	);
	const cycle = Math.max(today, Math.min(SCHEDULE.turnMs * n, longest));
	return { cycle, turns: taking ? turns : undefined };
}

function plansOf(watch: JobWatch, turns: JobWatch[]): number[] {
	const plans: number[] = [];
	for (const other of turns)
		if (other !== watch && other.plannedAt !== undefined) plans.push(other.plannedAt);
	return plans.sort((a, b) => a - b);
}

/**
 * The moment within [from, to] nearest `ideal` that is at least `spacing` from every moment in
 * `plans`, or failing that the one farthest from them.
 */
function freest(from: number, ideal: number, to: number, plans: number[], spacing: number): number {
	const candidates = [ideal, from, to];
	for (let i = 0; i < plans.length; i++) {
		candidates.push(plans[i] - spacing, plans[i] + spacing);
		if (i > 0) candidates.push((plans[i - 1] + plans[i]) / 2);
	}
	let best = ideal;
	let score = Number.NEGATIVE_INFINITY;
	for (const candidate of candidates) {
		const at = Math.min(to, Math.max(from, candidate));
		let clear = spacing;
		for (const plan of plans) clear = Math.min(clear, Math.abs(at - plan));
		const value = clear - Math.abs(at - ideal) / (to - from + 1);
		if (value > score) [best, score] = [at, value];
	}
	return best;
}
