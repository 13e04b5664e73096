/**
 * Issue 3: items run in parallel with exact order and pairing; completion is seen over fal's SSE status stream,
 * with polling as the automatic fallback; Retry-After is honoured.
 */
import { runWorkflow } from '../support/engine';
import { credentialsFor, isJpeg, requestsOf, textToImageParams, useFakeFal } from './setup';

const server = useFakeFal();

const prompts = (n: number) =>
	Array.from({ length: n }, (_, i) => ({ json: { prompt: `image ${i}` } }));

describe('items in parallel', () => {
	it("keeps input order and pairedItem when jobs finish in reverse order, in about one job's time", async () => {
		const { fal } = server;
		// item i takes (5 - i) x 150 ms: the last item finishes first
		fal.options.timing = (input) => ({
			queueMs: 0,
			runMs: (5 - Number(String(input.prompt).split(' ')[1])) * 150,
		});
		const run = await runWorkflow({
			parameters: textToImageParams({ prompt: '={{ $json.prompt }}' }),
			credentials: credentialsFor(fal),
			items: prompts(5),
		});
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
		// one after another this would take 150+300+450+600+750 = 2250 ms of jobs alone
		expect(run.durationMs).toBeLessThan(1500);
	});

	it('never runs more than Max Concurrent Requests items at once', async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 0, runMs: 120 });
		const run = await runWorkflow({
			parameters: textToImageParams({
				prompt: '={{ $json.prompt }}',
				options: { maxConcurrency: 2 },
			}),
			credentials: credentialsFor(fal),
			items: prompts(6),
		});
		expect(run.error).toBeUndefined();
		const jobs = [...fal.jobs.values()];
		const peak = Math.max(
			...jobs.map(
				(job) =>
					jobs.filter(
						(other) =>
							other.submittedAt <= job.submittedAt && other.resultFetchedAt! > job.submittedAt,
					).length,
			),
		);
		expect(peak).toBe(2);
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
		for (const item of run.output()) expect(item.binary?.data).toBeDefined();
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
		expect(run.output()[0].binary?.data).toBeDefined();
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
			headers: { 'Retry-After': '1' },
		});
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		const [throttled, next] = requestsOf(fal, 'status');
		expect(next.at - throttled.at).toBeGreaterThanOrEqual(950);
		expect(next.at - throttled.at).toBeLessThan(1500);
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
