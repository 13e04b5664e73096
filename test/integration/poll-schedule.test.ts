/**
 * Issue 19 through n8n's engine against the fake, with no status stream: the poll schedule learns
 * from the items that finished, the 10-a-second ceiling, Max Queue Length, Allow Fallback Endpoints
 * and billed_units. The schedule's figures in virtual time are in test/unit/poll-schedule.test.ts.
 */
import { performance } from 'node:perf_hooks';

import type { RecordedRequest } from '../support/fake-fal';
import { runWorkflow } from '../support/engine';
import { credentialsFor, requestsOf, textToImageParams, useFakeFal } from './setup';

const server = useFakeFal();

const prompts = (n: number) =>
	Array.from({ length: n }, (_, i) => ({ json: { prompt: `job ${i}` } }));
const byPrompt = '={{ $json.prompt }}';

/** The status polls of each job, by its prompt, as the fake received them (ms after its submit). */
function pollsByPrompt(): Map<string, number[]> {
	const { fal } = server;
	const polls = new Map<string, number[]>();
	for (const job of fal.jobs.values()) {
		const mine = requestsOf(fal, 'status').filter((r: RecordedRequest) =>
			r.path.includes(`/requests/${job.id}/`),
		);
		polls.set(
			String(job.input.prompt),
			mine.map((r) => r.at - job.submittedAt),
		);
	}
	return polls;
}

describe('the poll schedule, through the engine', () => {
	it('polls a job sparsely far from the end it learned from the item before, and densely around it', async () => {
		const { fal } = server;
		fal.options.stream = '404';
		fal.options.timing = () => ({ queueMs: 0, runMs: 3000 });
		const run = await runWorkflow({
			parameters: textToImageParams({ prompt: byPrompt, options: { maxConcurrency: 1 } }),
			credentials: credentialsFor(fal),
			items: prompts(2),
		});
		expect(run.error).toBeUndefined();
		const polls = pollsByPrompt();
		const first = polls.get('job 0')!;
		const second = polls.get('job 1')!;
		const far = (list: number[]) => list.filter((at) => at < 2000).length;
		const near = (list: number[]) => list.filter((at) => at >= 2500).length;
		// Nothing learned for job 0: today's back-off, 100 ms growing to 500 ms (6 polls in 2 s, fewer
		// when every request is slow).
		expect(far(first)).toBeGreaterThanOrEqual(3);
		expect(far(second)).toBeLessThan(far(first));
		// Job 1 knows jobs take about 3 s: one or two polls in its first 2 s, the rest near the end.
		expect(far(second)).toBeLessThanOrEqual(2);
		expect(near(second)).toBeGreaterThanOrEqual(1);
		expect(near(second) / 1).toBeGreaterThan(far(second) / 2);
		expect(second.length).toBeLessThan(first.length);
	});

	it('never polls one job more than 10 times a second, with Retry-After: 0 and items teaching each other', async () => {
		const { fal } = server;
		fal.options.stream = '404';
		fal.options.statusRetryAfter = '0';
		// Three jobs end together and teach the fourth a tight window that it then outlasts: the
		// schedule would poll it densely, but never faster than the ceiling.
		fal.options.timing = (input) => ({
			queueMs: 0,
			runMs: input.prompt === 'job 3' ? 2200 : 1000,
		});
		const run = await runWorkflow({
			parameters: textToImageParams({ prompt: byPrompt }),
			credentials: credentialsFor(fal),
			items: prompts(4),
		});
		expect(run.error).toBeUndefined();
		for (const [, polls] of pollsByPrompt()) {
			expect(polls.length).toBeGreaterThan(0);
			// In any second, at most 10 polls (one more for a request that arrived late).
			for (const at of polls)
				expect(
					polls.filter((other) => other >= at && other < at + 1000).length,
				).toBeLessThanOrEqual(11);
		}
	});
	it('lets a batch take turns: fewer polls than each alone, the shared end still seen early', async () => {
		const { fal } = server;
		fal.options.stream = '404';
		fal.options.timing = () => ({ queueMs: 0, runMs: 3000 });
		const parameters = textToImageParams({ prompt: byPrompt, options: { maxConcurrency: 10 } });
		const alone = await runWorkflow({
			parameters,
			credentials: credentialsFor(fal),
			items: prompts(1),
		});
		expect(alone.error).toBeUndefined();
		const lonePolls = requestsOf(fal, 'status').length;
		const loneJobs = new Set(fal.jobs.keys());
		const batch = await runWorkflow({
			parameters,
			credentials: credentialsFor(fal),
			items: prompts(10),
		});
		expect(batch.error).toBeUndefined();
		expect(batch.output()).toHaveLength(10);
		// Alone, a 3 s job is polled about 9 times; in turns, each of ten about 5 or 6 times.
		expect(requestsOf(fal, 'status').length - lonePolls).toBeLessThan(lonePolls * 10 * 0.8);
		// Together they poll every 70 ms or so: the first to ask after the end wakes the others.
		const batchJobs = [...fal.jobs.values()].filter((job) => !loneJobs.has(job.id));
		expect(batchJobs).toHaveLength(10);
		for (const job of batchJobs) expect(job.resultFetchedAt! - job.completedAt!).toBeLessThan(1000);
	});

	it('the Timeout ends a wait the schedule planned long (far from the learned end) on time', async () => {
		const { fal } = server;
		fal.options.stream = '404';
		fal.options.timing = () => ({ queueMs: 0, runMs: 6000 });
		const run = await runWorkflow({
			parameters: textToImageParams({
				prompt: byPrompt,
				options: { maxConcurrency: 1, timeout: '={{ $json.timeout }}' },
			}),
			credentials: credentialsFor(fal),
			items: [
				{ json: { prompt: 'job 0', timeout: 60 } },
				{ json: { prompt: 'job 1', timeout: 1 } },
			],
			continueOnFail: true,
		});
		const ended = performance.now();
		const [, late] = run.output();
		expect(late.json.error).toMatch(/^Timed out after 1 s waiting for request/);
		// Job 1's first poll was planned 3 s out: the Timeout came first and ended the sleep then.
		expect(pollsByPrompt().get('job 1')).toEqual([]);
		const job1 = [...fal.jobs.values()].find((job) => job.input.prompt === 'job 1')!;
		expect(ended - job1.submittedAt).toBeLessThan(2500);
	});
});

describe('Max Queue Length', () => {
	it("a 429 from fal's queue limit fails the item once, not retried, not submitted", async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 10_000, runMs: 100 });
		// One job waits in fal's queue (handed off), so the queue is longer than 0.
		const queued = await runWorkflow({
			parameters: textToImageParams({ waitForCompletion: false }),
			credentials: credentialsFor(fal),
		});
		expect(queued.error).toBeUndefined();
		const run = await runWorkflow({
			parameters: textToImageParams({ options: { maxQueueLength: 0 } }),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		const [item] = run.output();
		expect(item.json.error).toBe("fal's queue is longer than 0: not submitted, not billed");
		expect(item.json.request_id).toBeUndefined();
		const submits = requestsOf(fal, 'submit');
		expect(submits).toHaveLength(2);
		expect(submits[1].query.fal_max_queue_length).toBe('0');
		expect(fal.jobs.size).toBe(1);
		expect(run.durationMs).toBeLessThan(3000);
	});

	it('is sent only when set; under the limit the job runs as ever', async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 0, runMs: 50 });
		const run = await runWorkflow({
			parameters: textToImageParams({ prompt: byPrompt, options: { maxQueueLength: 5 } }),
			credentials: credentialsFor(fal),
			items: prompts(2),
		});
		expect(run.error).toBeUndefined();
		await runWorkflow({ parameters: textToImageParams(), credentials: credentialsFor(fal) });
		const submits = requestsOf(fal, 'submit');
		expect(submits.map((r) => r.query.fal_max_queue_length)).toEqual(['5', '5', undefined]);
	});

	it('without it, a 429 on submit is still retried as a rate limit', async () => {
		const { fal } = server;
		fal.inject({ kind: 'submit', status: 429, headers: { 'Retry-After': '0' } });
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		expect(requestsOf(fal, 'submit')).toHaveLength(2);
	});
});

describe('Allow Fallback Endpoints', () => {
	it.each([
		['off', { allowFallbacks: false }, true],
		['on', { allowFallbacks: true }, false],
		['not set', {}, false],
	] as const)('%s: x-app-fal-disable-fallback sent only when off', async (_name, options, sent) => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: textToImageParams({ options }),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.headers['x-app-fal-disable-fallback']).toBe(sent ? 'true' : undefined);
		expect([...fal.jobs.values()][0].fallbacksDisabled).toBe(sent);
	});
});

describe('billed_units', () => {
	it("is on a finished item when fal's result carries X-Fal-Billable-Units, beside cost_estimate", async () => {
		const { fal } = server;
		fal.options.billableUnits = (input) => (input.num_images === 2 ? '2' : '1');
		const run = await runWorkflow({
			parameters: textToImageParams({ options: { numImages: 2 } }),
			credentials: credentialsFor(fal, { platformUrl: fal.platformUrl }),
		});
		expect(run.error).toBeUndefined();
		const [item] = run.output();
		expect(item.json.billed_units).toBe(2);
		expect(item.json.cost_estimate).toMatchObject({ images: 2 });
	});

	it('is absent when fal sends no such header', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		expect(run.output()[0].json).not.toHaveProperty('billed_units');
	});
});
