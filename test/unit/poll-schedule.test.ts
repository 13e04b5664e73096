/**
 * The poll schedule (issue 19) in virtual time: pure functions of what the polls saw, so every
 * figure here is exact and no clock is involved. Its use through the engine is in
 * test/integration/poll-schedule.test.ts.
 */
import type { PollSighting } from '../../nodes/FluxKontext/job/poll-schedule';
import {
	endWindow,
	JobWatch,
	nextPollDelay,
	RunTimes,
	SCHEDULE,
} from '../../nodes/FluxKontext/job/poll-schedule';

const ENDPOINT = 'fal-ai/flux-pro/kontext';

interface SimJob {
	submitAt: number;
	queueMs: number;
	runMs: number;
	retryAfterMs?: number;
}

/**
 * Follows jobs as follow.ts does, in virtual time with a 4 ms round trip: each polls when the
 * schedule says (taking turns with the others while nothing is learned), and a finished one
 * teaches the others, who plan again at once.
 */
function simulate(jobs: SimJob[], runTimes = new RunTimes()) {
	const RTT = 4;
	const items = jobs.map((job, i) => {
		const watch = new JobWatch(ENDPOINT, job.submitAt, i);
		runTimes.enter(watch);
		return {
			job,
			watch,
			start: job.submitAt + job.queueMs,
			end: job.submitAt + job.queueMs + job.runMs,
			next: job.submitAt + nextPollDelay(watch, runTimes.of(ENDPOINT), job.submitAt),
			polls: [] as number[],
			seenAt: undefined as number | undefined,
		};
	});
	for (;;) {
		const live = items.filter((item) => item.seenAt === undefined);
		if (live.length === 0) break;
		const item = live.reduce((a, b) => (a.next <= b.next ? a : b));
		const at = item.next;
		item.polls.push(at);
		const status = at < item.start ? 'IN_QUEUE' : at < item.end ? 'IN_PROGRESS' : 'COMPLETED';
		const sighting: PollSighting = {
			at,
			status,
			queuePosition: 0,
			inferenceMs: status === 'COMPLETED' ? item.job.runMs : undefined,
		};
		const now = at + RTT;
		if (status === 'COMPLETED') {
			item.seenAt = now;
			runTimes.leave(item.watch);
			runTimes.learn(item.watch, sighting);
			for (const other of items)
				if (other.seenAt === undefined)
					other.next = now + nextPollDelay(other.watch, runTimes.of(ENDPOINT), now);
		} else {
			item.watch.observe(sighting);
			item.next =
				now + nextPollDelay(item.watch, runTimes.of(ENDPOINT), now, item.job.retryAfterMs);
		}
	}
	const delays = items.map((item) => item.seenAt! - item.end).sort((a, b) => a - b);
	const jobSeconds = items.reduce((sum, item) => sum + (item.end - item.job.submitAt) / 1000, 0);
	const polls = items.reduce((sum, item) => sum + item.polls.length, 0);
	return { items, delays, median: delays[Math.ceil(delays.length / 2) - 1], polls, jobSeconds };
}

const gapsOf = (polls: number[]) => polls.slice(1).map((at, i) => at - polls[i]);

describe('the poll schedule, with nothing learned', () => {
	it("is today's back-off for a lone job: 100 ms after the submit, then 1.5x longer, then 500 ms", () => {
		const [item] = simulate([{ submitAt: 0, queueMs: 0, runMs: 4000 }]).items;
		expect(item.polls[0]).toBe(100);
		const gaps = gapsOf(item.polls);
		expect(gaps.slice(0, 3).map(Math.round)).toEqual([150, 225, 338]);
		// Then one poll every 500 ms (the first of them at the item's phase of the cycle).
		for (const gap of gaps.slice(4)) expect(gap).toBe(500);
		expect(item.polls.length).toBeLessThanOrEqual(4000 / 500 + 5);
	});

	it('lets the items of a batch take turns: together often, each seldom, a shared end seen early', () => {
		const lone = simulate([{ submitAt: 0, queueMs: 0, runMs: 5000 }]);
		const batch = Array.from({ length: 10 }, (_, i) => ({ submitAt: i, queueMs: 0, runMs: 5000 }));
		const { items, delays, polls } = simulate(batch);
		// Each item polls less often than a lone job (today's schedule) over the same 5 s...
		for (const item of items) expect(item.polls.length).toBeLessThan(lone.polls);
		expect(polls).toBeLessThan(lone.polls * 10 * 0.75);
		// ...and together they poll every 70 ms or so: never 150 ms without a poll of the batch.
		const together = items.flatMap((item) => item.polls.filter((at) => at < 5000));
		const gaps = gapsOf(together.sort((a, b) => a - b).filter((at) => at >= 800));
		expect(Math.max(...gaps)).toBeLessThan(150);
		// The first to ask after the shared end wakes the others, who ask at once.
		expect(Math.max(...delays)).toBeLessThan(150);
	});

	it('leaves the queued jobs out of the turns, each at its own pace', () => {
		const batch = Array.from({ length: 12 }, (_, i) => ({
			submitAt: i,
			queueMs: i >= 8 ? 4000 : 0,
			runMs: 5000,
		}));
		const { items } = simulate(batch);
		const [running, queued] = [items.slice(0, 8), items.slice(8)];
		for (const item of queued) expect(item.watch.lastQueuedAt).toBeDefined();
		// The 8 running take turns among themselves: each once per 8 x 70 ms, not 12 x 70 ms.
		for (const item of running) {
			const gaps = gapsOf(item.polls.filter((at) => at >= 1000 && at < 4900));
			expect(gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length).toBeLessThan(650);
		}
		const together = running.flatMap((item) => item.polls.filter((at) => at < 4900));
		const gaps = gapsOf(together.sort((a, b) => a - b).filter((at) => at >= 1000));
		expect(Math.max(...gaps)).toBeLessThan(200);
		for (const item of queued) expect(item.seenAt! - item.end).toBeLessThan(400);
	});

	it.each([0, 1000])(
		"evens out the turns of a small batch (3 jobs, submitted %i ms apart) at a lone job's pace",
		(apart) => {
			const batch = Array.from({ length: 3 }, (_, i) => ({
				submitAt: i * apart,
				queueMs: 0,
				runMs: 20_000,
			}));
			const { items } = simulate(batch);
			const lone = simulate([{ submitAt: 0, queueMs: 0, runMs: 20_000 }]);
			for (const item of items) expect(item.polls.length).toBeLessThanOrEqual(lone.polls);
			// Three share a lone job's 500 ms: together every 167 ms or so, not two at once.
			const together = items.flatMap((item) => item.polls.filter((at) => at >= 5000));
			const gaps = gapsOf(together.sort((a, b) => a - b).filter((at) => at < 20_000));
			expect(Math.max(...gaps)).toBeLessThan(250);
			expect(Math.min(...gaps)).toBeGreaterThan(100);
		},
	);

	it('keeps the jobs that started later out of the turns of those that started together', () => {
		// 7 jobs run from their submit; 3 wait in the queue for 5-6 s, then run as long. The end the
		// 7 share falls anywhere in a second, in 7 ms steps.
		const firstSeen: number[] = [];
		for (let offset = 0; offset < 1000; offset += 7) {
			const batch = Array.from({ length: 10 }, (_, i) => ({
				submitAt: i,
				queueMs: i >= 7 ? 5000 + 300 * (i - 7) : 0,
				runMs: 15_000 + offset,
			}));
			const { items } = simulate(batch);
			const [together, later] = [items.slice(0, 7), items.slice(7)];
			for (const item of later) expect(item.watch.lastQueuedAt).toBeDefined();
			// The 7 poll as one, every 70 ms or so, up to their shared end: the later ones' polls
			// among theirs (which cannot see that end) would leave holes.
			const end = together[0].end;
			const polls = together.flatMap((item) => item.polls.filter((at) => at < end));
			const gaps = gapsOf(polls.sort((a, b) => a - b).filter((at) => at >= end - 5000));
			expect(Math.max(...gaps)).toBeLessThan(150);
			firstSeen.push(Math.min(...together.map((item) => item.seenAt! - item.end)));
		}
		// So the first of them sees it soon, wherever it falls (mixed in with the later ones'
		// polls: up to 208 ms).
		expect(Math.max(...firstSeen)).toBeLessThan(120);
	});
});

describe('the poll schedule, with nothing learned: who takes no turns', () => {
	it('takes no turns with an item that waits out a long Retry-After: the others poll as a lone job', () => {
		const lone = simulate([{ submitAt: 0, queueMs: 0, runMs: 20_000 }]);
		const { items } = simulate([
			{ submitAt: 0, queueMs: 0, runMs: 20_000, retryAfterMs: 30_000 },
			{ submitAt: 1, queueMs: 0, runMs: 20_000 },
		]);
		expect(items[0].polls.length).toBe(2);
		expect(items[1].polls.length).toBeLessThanOrEqual(lone.polls);
	});

	it('keeps the turns of the others every 70 ms or so while one item waits out a Retry-After', () => {
		const batch = Array.from({ length: 10 }, (_, i) => ({
			submitAt: i,
			queueMs: 0,
			runMs: 8000,
			retryAfterMs: i === 0 ? 1000 : undefined,
		}));
		const { items } = simulate(batch);
		const others = items.slice(1).flatMap((item) => item.polls);
		const gaps = gapsOf(others.sort((a, b) => a - b).filter((at) => at >= 2000 && at < 8000));
		expect(Math.max(...gaps)).toBeLessThan(150);
	});
	it('polls the one running job among queued ones as a lone job', () => {
		const lone = simulate([{ submitAt: 0, queueMs: 0, runMs: 3000 }]);
		const batch = simulate(
			Array.from({ length: 10 }, (_, i) => ({
				submitAt: i,
				queueMs: i === 0 ? 0 : 20_000,
				runMs: 3000,
			})),
		);
		const [running] = batch.items;
		// Once the others are seen queued it has no one to take turns with: today's 500 ms.
		const gaps = gapsOf(running.polls.filter((at) => at >= 1000));
		expect(Math.max(...gaps)).toBeLessThanOrEqual(SCHEDULE.maxMs);
		expect(running.seenAt! - running.end).toBeLessThanOrEqual(SCHEDULE.maxMs + 4);
		expect(running.polls.length).toBeLessThanOrEqual(lone.polls + 1);
	});

	it('polls each of a batch of jobs submitted elsewhere (Get Result) as today', () => {
		const runTimes = new RunTimes();
		const watches = Array.from({ length: 5 }, (_, i) => new JobWatch('', undefined, i));
		for (const watch of watches) runTimes.enter(watch);
		for (const watch of watches) {
			expect(nextPollDelay(watch, runTimes.of(''), 0)).toBe(0);
			const delays: number[] = [];
			for (let at = 0, n = 0; n < 6; n++) {
				watch.observe({ at, status: 'IN_PROGRESS' });
				const delay = nextPollDelay(watch, runTimes.of(''), at);
				delays.push(Math.round(delay));
				at += delay;
			}
			expect(delays).toEqual([100, 150, 225, 338, 500, 500]);
		}
	});
});

describe('the poll schedule, learned from the jobs that finished', () => {
	function learnedFrom(runMs: number): RunTimes {
		const runTimes = new RunTimes();
		simulate([{ submitAt: 0, queueMs: 0, runMs }], runTimes);
		return runTimes;
	}

	it('polls sparsely far from the learned end and densely around it', () => {
		const runTimes = learnedFrom(5000);
		const [item] = simulate([{ submitAt: 10_000, queueMs: 0, runMs: 5000 }], runTimes).items;
		const relative = item.polls.map((at) => at - 10_000);
		const far = relative.filter((at) => at < 4000).length;
		const near = relative.filter((at) => at >= 4700 && at <= 5300).length;
		expect(far).toBeLessThanOrEqual(4);
		expect(near).toBeGreaterThan(0);
		// Per second of time, many more polls near the end than far from it.
		expect(near / 0.6).toBeGreaterThan((far / 4) * 3);
		expect(item.seenAt! - item.polls.at(-1)!).toBeLessThan(10);
		expect(item.seenAt! - 15_000).toBeLessThan(SCHEDULE.minGapMs + 10);
	});

	it('times a queued job from when it left the queue, polling the queue by its position', () => {
		const runTimes = learnedFrom(3000);
		const watch = new JobWatch(ENDPOINT, 0, 1);
		watch.observe({ at: 500, status: 'IN_QUEUE', queuePosition: 3 });
		expect(nextPollDelay(watch, runTimes.of(ENDPOINT), 504)).toBe(500 + 3 * 250 - 4);
		watch.observe({ at: 1750, status: 'IN_QUEUE', queuePosition: 0 });
		expect(nextPollDelay(watch, runTimes.of(ENDPOINT), 1754)).toBe(496);
		watch.observe({ at: 2250, status: 'IN_PROGRESS' });
		const [from, to] = endWindow(watch, runTimes.of(ENDPOINT))!;
		// Started between 1750 and 2250: it ends 3 s after that, give or take the margin.
		expect(from).toBeLessThan(1750 + 3000);
		expect(from).toBeGreaterThan(1750 + 3000 - 200);
		expect(to).toBeGreaterThan(2250 + 3000);
		expect(to).toBeLessThan(2250 + 3000 + 200);
	});

	it('backs off to 500 ms once a job is later than any learned', () => {
		const runTimes = learnedFrom(1000);
		const [item] = simulate([{ submitAt: 0, queueMs: 0, runMs: 20_000 }], runTimes).items;
		const gaps = gapsOf(item.polls);
		expect(Math.round(Math.max(...gaps))).toBe(500);
		expect(gaps.slice(-10).every((gap) => Math.round(gap) === 500)).toBe(true);
	});

	it('keeps fal’s inference time within what the polls saw, and learns nothing from a failed job', () => {
		const runTimes = new RunTimes();
		const changed = runTimes.changed;
		const watch = new JobWatch(ENDPOINT, 0, 0);
		watch.observe({ at: 100, status: 'IN_PROGRESS' });
		watch.observe({ at: 2000, status: 'IN_PROGRESS' });
		// fal says 5 s, but the job was running at 100 ms and over at 2.1 s.
		runTimes.learn(watch, { at: 2100, status: 'COMPLETED', inferenceMs: 5000 });
		expect(runTimes.of(ENDPOINT)!.run).toEqual([2100]);
		expect(changed.aborted).toBe(true);
		expect(runTimes.changed.aborted).toBe(false);
		const failed = new JobWatch(ENDPOINT, 0, 1);
		runTimes.learn(failed, { at: 300, status: 'COMPLETED', inferenceMs: 200, failed: true });
		expect(runTimes.of(ENDPOINT)!.run).toEqual([2100]);
	});
});

describe('the poll schedule: limits that always hold', () => {
	it('never polls within 100 ms of the previous poll, with Retry-After 0 or after a wake-up', () => {
		const runTimes = new RunTimes();
		const { items } = simulate(
			Array.from({ length: 5 }, (_, i) => ({
				submitAt: i,
				queueMs: 0,
				runMs: 1000 + i,
				retryAfterMs: 0,
			})),
			runTimes,
		);
		for (const item of items)
			for (const gap of gapsOf(item.polls)) expect(gap).toBeGreaterThanOrEqual(100);
		// Planning again right after a poll (another item taught something) waits out the floor,
		// though the learned end (about 930 ms after the submit) is nearer.
		const watch = new JobWatch(ENDPOINT, 0, 0);
		watch.observe({ at: 850, status: 'IN_PROGRESS' });
		expect(endWindow(watch, runTimes.of(ENDPOINT))![0]).toBeLessThan(950);
		expect(nextPollDelay(watch, runTimes.of(ENDPOINT), 860, 0)).toBe(90);
	});

	it("honours a Retry-After as the least wait, within today's clamp of 30 s", () => {
		const watch = new JobWatch(ENDPOINT, 0, 0);
		watch.observe({ at: 100, status: 'IN_PROGRESS' });
		expect(nextPollDelay(watch, undefined, 100, 2000)).toBe(2000);
		expect(nextPollDelay(watch, undefined, 100, 3_600_000)).toBe(SCHEDULE.maxRetryAfterMs);
	});

	it('a job submitted elsewhere (Get Result) is asked at once, then as today', () => {
		const watch = new JobWatch('', undefined, 0);
		expect(nextPollDelay(watch, undefined, 5000)).toBe(0);
		watch.observe({ at: 5000, status: 'IN_PROGRESS' });
		expect(nextPollDelay(watch, undefined, 5000)).toBe(100);
	});
});

describe('the poll schedule on the bench’s batches, in virtual time', () => {
	it.each([1000, 5000, 15_000])(
		'%i ms jobs, fixed and ±30 %, 3 of 10 queued first: median within 120 ms, p95 within 400 ms',
		(length) => {
			const spread = (i: number, offset = 0) => (offset + i * 0.6180339887) % 1;
			const batch = (varied: boolean) =>
				Array.from({ length: 10 }, (_, i) => ({
					submitAt: i,
					queueMs: i >= 7 ? Math.round(length * (0.3 + 0.3 * spread(i, 0.3))) : 0,
					runMs: varied ? Math.round(length * (0.7 + 0.6 * spread(i))) : length,
				}));
			const fixed = simulate(batch(false));
			const varied = simulate(batch(true));
			const delays = [...fixed.delays, ...varied.delays].sort((a, b) => a - b);
			expect(delays[9]).toBeLessThanOrEqual(120);
			expect(delays[18]).toBeLessThanOrEqual(400);
			const perJobSecond = (fixed.polls + varied.polls) / (fixed.jobSeconds + varied.jobSeconds);
			// With nothing learned in a job's first second, 1 s jobs cost more (today's: about 5.3).
			expect(perJobSecond).toBeLessThanOrEqual(length === 1000 ? 4 : 3);
		},
	);
});
