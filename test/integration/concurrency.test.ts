/**
 * Issue 3: items run in parallel with exact order and pairing; completion is seen over fal's SSE status stream,
 * with polling as the automatic fallback; Retry-After is honoured.
 */
import { makePng } from '../support/fake-fal';
import { runWorkflow } from '../support/engine';
import {
	credentialsFor,
	eventually,
	isJpeg,
	isPng,
	requestsOf,
	textToImageParams,
	useFakeFal,
} from './setup';

const server = useFakeFal();

const prompts = (n: number) =>
	Array.from({ length: n }, (_, i) => ({ json: { prompt: `image ${i}` } }));

describe('items in parallel', () => {
	it("keeps input order and pairedItem when jobs finish in reverse order, in about one job's time", async () => {
		const { fal } = server;
		// Every job stays queued until all five are submitted (or, for a node that does not submit them
		// all at once, until 5 s have passed); then they are run one after another from the last to the
		// first, each after the one before has completed. The order does not depend on the machine's load.
		let holding = true;
		const releaseInReverse = async () => {
			holding = false;
			const held = [...fal.jobs.values()].reverse();
			for (const job of held) {
				await new Promise((resolve) => setTimeout(resolve, 100));
				fal.release(job.id);
				await eventually(() => job.state === 'COMPLETED', 10_000);
			}
		};
		let released: Promise<void> | undefined;
		const deadline = setTimeout(() => (released ??= releaseInReverse()), 5000);
		fal.options.timing = (_input, index) => {
			if (index === 4) setImmediate(() => (released ??= releaseInReverse()));
			return { queueMs: holding ? Infinity : 0, runMs: 50 };
		};
		const run = await runWorkflow({
			parameters: textToImageParams({ prompt: '={{ $json.prompt }}' }),
			credentials: credentialsFor(fal),
			items: prompts(5),
		});
		clearTimeout(deadline);
		await released;
		expect(run.error).toBeUndefined();
		const output = run.output();
		expect(output.map((item) => item.json.prompt)).toEqual([
			'image 0',
			'image 1',
			'image 2',
			'image 3',
			'image 4',
		]);
		expect(output.map((item) => item.pairedItem)).toEqual(
			[0, 1, 2, 3, 4].map((item) => ({ item })),
		);
		for (const item of output) {
			expect(fal.jobs.get(item.json.request_id)?.input.prompt).toBe(item.json.prompt);
			expect(isJpeg(item.binary!.data.data)).toBe(true);
		}
		const completion = [...fal.jobs.values()]
			.sort((a, b) => a.completedAt! - b.completedAt!)
			.map((job) => job.input.prompt);
		expect(completion).toEqual(['image 4', 'image 3', 'image 2', 'image 1', 'image 0']);
		// In parallel: every job is submitted before the first one completes (two at a time, or one
		// after another, would submit the third only after a completion).
		const firstCompletion = Math.min(...[...fal.jobs.values()].map((job) => job.completedAt!));
		for (const job of fal.jobs.values()) expect(job.submittedAt).toBeLessThan(firstCompletion);
	});

	it('never runs more than Max Concurrent Requests items at once', async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 0, runMs: 120 });
		// Slow downloads (a byte every 2 ms): an item holds its slot until its image is in.
		fal.inject({
			kind: 'file',
			times: 6,
			status: 200,
			body: makePng(1, 1),
			headers: { 'content-type': 'image/png' },
			trickleMs: 2,
		});
		const run = await runWorkflow({
			parameters: textToImageParams({
				prompt: '={{ $json.prompt }}',
				options: { maxConcurrency: 2, outputFormat: 'png' },
			}),
			credentials: credentialsFor(fal),
			items: prompts(6),
		});
		expect(run.error).toBeUndefined();
		// The fake notes a download's end when its connection closes, a moment after the last byte.
		await eventually(() => fal.cdnRequests.every((r) => r.closedAt !== undefined));
		// An item is at work from its submit until its download ends (not only until its result).
		const spans = [...fal.jobs.values()].map((job) => ({
			start: job.submittedAt,
			end: Math.max(
				...fal.cdnRequests.filter((r) => r.path.includes(job.id)).map((r) => r.closedAt ?? NaN),
			),
		}));
		expect(spans).toHaveLength(6);
		for (const span of spans) expect(span.end).toBeGreaterThan(span.start);
		const peak = Math.max(
			...spans.map(
				(span) =>
					spans.filter((other) => other.start <= span.start && other.end > span.start).length,
			),
		);
		expect(peak).toBe(2);
		for (const item of run.output()) expect(isPng(item.binary!.data.data)).toBe(true);
		expect(run.output().map((item) => item.json.prompt)).toEqual(
			prompts(6).map((item) => item.json.prompt),
		);
	});
});

describe('completion detection', () => {
	it('follows a job over the status stream: submit + stream + result + one download, no polling', async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 100, runMs: 200 });
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		expect(fal.requests.map((r) => r.kind)).toEqual(['submit', 'stream', 'result']);
		expect(fal.cdnRequests).toHaveLength(1);
		const job = [...fal.jobs.values()][0];
		expect(job.resultFetchedAt! - job.completedAt!).toBeLessThan(100);
	});

	it('falls back to polling when the server has no stream (404), and stops asking for it', async () => {
		const { fal } = server;
		fal.options.stream = '404';
		fal.options.timing = () => ({ queueMs: 100, runMs: 300 });
		const run = await runWorkflow({
			parameters: textToImageParams({
				prompt: '={{ $json.prompt }}',
				options: { maxConcurrency: 1 },
			}),
			credentials: credentialsFor(fal),
			items: prompts(3),
		});
		expect(run.error).toBeUndefined();
		expect(run.output()).toHaveLength(3);
		expect(requestsOf(fal, 'stream')).toHaveLength(1);
		expect(requestsOf(fal, 'status').length).toBeGreaterThanOrEqual(3);
		for (const item of run.output()) expect(isJpeg(item.binary!.data.data)).toBe(true);
	});

	it('asks for the stream once, not once per concurrent item, when the server has none', async () => {
		const { fal } = server;
		fal.options.stream = '404';
		const run = await runWorkflow({
			parameters: textToImageParams({ prompt: '={{ $json.prompt }}' }),
			credentials: credentialsFor(fal),
			items: prompts(6),
		});
		expect(run.error).toBeUndefined();
		expect(run.output()).toHaveLength(6);
		expect(requestsOf(fal, 'stream')).toHaveLength(1);
	});

	it('falls back to polling when the stream answers 405', async () => {
		const { fal } = server;
		fal.options.stream = '405';
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		expect(requestsOf(fal, 'status').length).toBeGreaterThanOrEqual(1);
	});

	it('picks up by polling when the stream breaks mid-way', async () => {
		const { fal } = server;
		fal.options.stream = 'break';
		fal.options.timing = () => ({ queueMs: 100, runMs: 300 });
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		const kinds = fal.requests.map((r) => r.kind);
		expect(kinds[0]).toBe('submit');
		expect(kinds[1]).toBe('stream');
		expect(kinds.slice(2, -1).every((kind) => kind === 'status')).toBe(true);
		expect(kinds.at(-1)).toBe('result');
		expect(isJpeg(run.output()[0].binary!.data.data)).toBe(true);
	});

	it('polling starts short and backs off', async () => {
		const { fal } = server;
		fal.options.stream = '404';
		fal.options.timing = () => ({ queueMs: 0, runMs: 2000 });
		await runWorkflow({ parameters: textToImageParams(), credentials: credentialsFor(fal) });
		const at = requestsOf(fal, 'status').map((r) => r.at);
		const gaps = at.slice(1).map((t, i) => t - at[i]);
		expect(gaps[0]).toBeLessThan(200);
		expect(Math.max(...gaps)).toBeGreaterThan(400);
		expect(Math.max(...gaps)).toBeLessThan(800);
		// a 2 s job needs no more than about a dozen polls
		expect(at.length).toBeLessThanOrEqual(12);
	});

	it('honours Retry-After on a throttled poll', async () => {
		const { fal } = server;
		fal.options.stream = '404';
		fal.options.timing = () => ({ queueMs: 0, runMs: 100 });
		fal.inject({
			kind: 'status',
			status: 429,
			body: { detail: 'Too many requests' },
			headers: { 'Retry-After': '2' },
		});
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		const [throttled, next] = requestsOf(fal, 'status');
		// At least the Retry-After, and not twice it (nor a back-off of its own on top of a long one): a
		// busy machine delays the next poll by far less than the 2 s of margin.
		expect(next.at - throttled.at).toBeGreaterThanOrEqual(1950);
		expect(next.at - throttled.at).toBeLessThan(2 * 2000);
	});

	it('honours Retry-After on a throttled result fetch', async () => {
		const { fal } = server;
		fal.inject({
			kind: 'result',
			status: 503,
			body: { detail: 'Service busy' },
			headers: { 'Retry-After': '1' },
		});
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		const [first, second] = requestsOf(fal, 'result');
		expect(second.at - first.at).toBeGreaterThanOrEqual(950);
	});
});
