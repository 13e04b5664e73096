/**
 * Issue 8: no paid job runs unseen. Every interruption (Stop, Timeout, On Timeout, the halt after a failed item)
 * takes effect at once whatever the server sends or does not send; Timeout bounds the whole wait and each exchange
 * has its own deadline; the halt cannot be missed; every submitted job is accounted for.
 *
 * Timing assertions are bounds a loaded 2-core machine meets with room to spare: "long before the job would have
 * finished" (a third of its duration or less), never exact milliseconds.
 */
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

import { FakeFal } from '../support/fake-fal';
import { runWorkflow } from '../support/engine';
import {
	credentialsFor,
	editParams,
	eventually,
	requestsOf,
	textToImageParams,
	useFakeFal,
	useTransportSettings,
} from './setup';

const server = useFakeFal();

/** The built transport's deadlines and retry policy, shortened per test. */
const transport = useTransportSettings();

/** A job that stays queued far longer than any of these tests may take. */
const queuedFor = (ms: number) => () => ({ queueMs: ms, runMs: 100 });
const items = (n: number) =>
	Array.from({ length: n }, (_, i) => ({ json: { prompt: `image #${i}` } }));

describe('every interruption takes effect at once, whatever the server sends', () => {
	it('Timeout on a quiet status stream (no pings) ends the wait long before the job would have finished', async () => {
		const { fal } = server;
		fal.options.pingMs = 0;
		fal.options.timing = queuedFor(9000);
		const run = await runWorkflow({
			parameters: editParams({ options: { timeout: 1 } }),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		const id = [...fal.jobs.keys()][0];
		expect(run.output()[0].json.error).toBe(
			`Timed out after 1 s waiting for request ${id} (last status IN_QUEUE)`,
		);
		expect(run.durationMs).toBeLessThan(3000);
	});

	it('On Timeout = cancel on a quiet stream: the PUT goes out at once, while the job is still queued', async () => {
		const { fal } = server;
		fal.options.pingMs = 0;
		fal.options.timing = queuedFor(9000);
		const run = await runWorkflow({
			parameters: editParams({ options: { timeout: 1, onTimeout: 'cancel' } }),
			credentials: credentialsFor(fal),
		});
		const [submit] = requestsOf(fal, 'submit');
		const [cancel] = requestsOf(fal, 'cancel');
		expect(cancel.at - submit.at).toBeLessThan(3000);
		expect([...fal.jobs.values()][0].state).toBe('CANCELLED');
		expect(run.error?.message).toMatch(
			/^Timed out after 1 s waiting for request [0-9a-f-]{36}; the job was cancelled at fal/,
		);
	});

	it('a stream that sends its headers and then nothing: the Timeout still ends the wait', async () => {
		const { fal } = server;
		fal.options.stream = 'silent';
		fal.options.timing = queuedFor(15_000);
		const run = await runWorkflow({
			parameters: editParams({ options: { timeout: 2 } }),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		expect(run.output()[0].json.error).toMatch(/^Timed out after 2 s waiting for request/);
		expect(run.durationMs).toBeLessThan(5000);
		// The node gave up on the stream's socket too.
		await eventually(() =>
			requestsOf(fal, 'stream').every((request) => request.closedAt !== undefined),
		);
	});

	it('Stop on a quiet stream: the cancel goes out at once', async () => {
		const { fal } = server;
		fal.options.pingMs = 0;
		fal.options.timing = queuedFor(9000);
		const start = performance.now();
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: credentialsFor(fal),
			items: items(2),
			cancelAfterMs: 500,
		});
		expect(run.status).toBe('canceled');
		await eventually(() => requestsOf(fal, 'cancel').length === 2);
		for (const cancel of requestsOf(fal, 'cancel'))
			expect(cancel.at - start).toBeLessThan(500 + 1500);
		expect([...fal.jobs.values()].map((job) => job.state)).toEqual(['CANCELLED', 'CANCELLED']);
	});

	it('the halt reaches an item waiting out a long Retry-After', async () => {
		const { fal } = server;
		fal.options.stream = '404';
		// Item 1's first poll sees its job queued and waits out the Retry-After; item 0 polls at its own pace.
		fal.options.statusRetryAfter = (input) => (input.prompt === 'image #0' ? '' : '3600');
		fal.options.timing = (input) =>
			input.prompt === 'image #0' ? { queueMs: 0, runMs: 0 } : queuedFor(9000)();
		fal.options.failure = (input) =>
			input.prompt === 'image #0'
				? { error: 'Runner disconnected', error_type: 'runner_disconnected', status: 503 }
				: undefined;
		fal.options.submitDelayMs = (input) => (input.prompt === 'image #0' ? 300 : 0);
		const run = await runWorkflow({
			parameters: textToImageParams({ prompt: '={{ $json.prompt }}' }),
			credentials: credentialsFor(fal),
			items: items(2),
		});
		expect(run.error?.message).toBe(
			'The job failed on fal: Runner disconnected (runner_disconnected)',
		);
		expect(run.durationMs).toBeLessThan(3000);
		expect([...fal.jobs.values()].find((job) => job.input.prompt === 'image #1')?.state).toBe(
			'CANCELLED',
		);
	});

	it('Timeout during a download that trickles: ends at the Timeout, says the job finished, cancels nothing', async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 0, runMs: 50 });
		fal.inject({
			kind: 'file',
			status: 200,
			body: 'x'.repeat(1000),
			trickleMs: 100,
			headers: { 'content-type': 'image/jpeg' },
		});
		const run = await runWorkflow({
			parameters: editParams({ options: { timeout: 2 } }),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		const id = [...fal.jobs.keys()][0];
		const [item] = run.output();
		expect(item.json.error).toBe(`Timed out after 2 s while fetching the result of request ${id}`);
		expect(item.json.description).toMatch(
			/^The job had finished at fal and is billed: fetch its result with Resource "Request" > Get Result/,
		);
		expect(item.json.request_id).toBe(id);
		expect(run.durationMs).toBeLessThan(5000);
		expect(requestsOf(fal, 'cancel')).toHaveLength(0);
		await eventually(() => fal.cdnRequests[0]?.closedAt !== undefined);
	});

	it('Stop during a download: the download ends at once and the finished job is not cancelled', async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 0, runMs: 50 });
		fal.inject({
			kind: 'file',
			status: 200,
			body: 'x'.repeat(1000),
			trickleMs: 100,
			headers: { 'content-type': 'image/jpeg' },
		});
		const start = performance.now();
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal),
			cancelAfterMs: 800,
		});
		expect(run.status).toBe('canceled');
		await eventually(() => fal.cdnRequests[0]?.closedAt !== undefined);
		expect(fal.cdnRequests[0].closedAt! - start).toBeLessThan(800 + 1500);
		expect(requestsOf(fal, 'cancel')).toHaveLength(0);
	});
});

describe('Timeout bounds the whole wait; each exchange has its own deadline', () => {
	it('a status poll that never answers is a failed attempt after its deadline; the next poll goes on', async () => {
		const { fal } = server;
		transport.deadlines.status = 300;
		fal.options.stream = '404';
		fal.options.timing = () => ({ queueMs: 0, runMs: 400 });
		fal.inject({ kind: 'status', hang: true });
		const run = await runWorkflow({ parameters: editParams(), credentials: credentialsFor(fal) });
		expect(run.error).toBeUndefined();
		const [hung, ...rest] = requestsOf(fal, 'status');
		expect(rest.length).toBeGreaterThanOrEqual(1);
		// The node closed the stalled exchange's socket, not merely stopped waiting for it.
		expect(hung.closedAt! - hung.at).toBeLessThan(2000);
	});

	it('a stream that never sends headers: its deadline moves the execution to polling; it is not asked again', async () => {
		const { fal } = server;
		transport.deadlines.stream = 300;
		fal.options.timing = () => ({ queueMs: 0, runMs: 200 });
		fal.inject({ kind: 'stream', hang: true });
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: credentialsFor(fal),
			items: items(3),
		});
		expect(run.error).toBeUndefined();
		expect(run.output()).toHaveLength(3);
		expect(requestsOf(fal, 'stream')).toHaveLength(1);
		expect(requestsOf(fal, 'status').length).toBeGreaterThanOrEqual(3);
		expect(run.durationMs).toBeLessThan(4000);
	});

	it('a result that trickles a byte at a time ends at the Timeout', async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 0, runMs: 50 });
		fal.inject({
			kind: 'result',
			status: 200,
			body: { images: [], padding: 'x'.repeat(500) },
			trickleMs: 100,
		});
		const run = await runWorkflow({
			parameters: editParams({ options: { timeout: 2 } }),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		expect(run.output()[0].json.error).toMatch(
			/^Timed out after 2 s while fetching the result of request/,
		);
		expect(run.durationMs).toBeLessThan(5000);
	});

	it("Timeout is held to what n8n's timers can hold (24 days), checked before any request", async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: editParams({ options: { timeout: 99_999_999, onTimeout: 'cancel' } }),
			credentials: credentialsFor(fal),
		});
		expect(run.error?.message).toBe('Timeout: 99999999 is out of range');
		expect(run.error?.description).toMatch(/^Use a number from 1 to 2073600/);
		expect(fal.requests).toHaveLength(0);
		const longest = await runWorkflow({
			parameters: editParams({ options: { timeout: 2_073_600, onTimeout: 'cancel' } }),
			credentials: credentialsFor(fal),
		});
		expect(longest.error).toBeUndefined();
		expect(requestsOf(fal, 'cancel')).toHaveLength(0);
	});
});

describe('the halt is race-free, and every submitted job is accounted for', () => {
	/** Every 7th job fails at once; the others stay queued until `letOut()`, then run and complete. */
	const every7thFails = (fal: FakeFal) => {
		const fails = (input: Record<string, unknown>) =>
			Number(/#(\d+)/.exec(String(input.prompt))?.[1]) % 7 === 6;
		let holding = true;
		fal.options.timing = (input) =>
			fails(input) ? { queueMs: 0, runMs: 50 } : { queueMs: holding ? Infinity : 0, runMs: 100 };
		fal.options.failure = (input) =>
			fails(input)
				? { error: 'Runner disconnected', error_type: 'runner_disconnected', status: 503 }
				: undefined;
		return {
			letOut: () => {
				holding = false;
				for (const job of fal.jobs.values()) fal.release(job.id);
			},
		};
	};

	it.each([
		['the status stream', 'ok'],
		['polling', '404'],
	] as const)(
		'60 items, concurrency 50, every 7th fails (%s): no job runs unseen',
		async (_name, stream) => {
			const { fal } = server;
			fal.options.stream = stream;
			const { letOut } = every7thFails(fal);
			// The queued jobs never leave the queue unless let out: a node that waited for them instead of
			// cancelling them would wait forever. After 10 s (several times what the whole run takes on a
			// busy machine) they are let out, run and complete, and the checks below fail on them.
			let letOutAt: number | undefined;
			const valve = setTimeout(() => {
				letOutAt = performance.now();
				letOut();
			}, 10_000);
			const run = await runWorkflow({
				parameters: textToImageParams({
					prompt: '={{ $json.prompt }}',
					options: { maxConcurrency: 50 },
				}),
				credentials: credentialsFor(fal),
				items: items(60),
			}).finally(() => clearTimeout(valve));
			expect(run.error?.message).toBe(
				'The job failed on fal: Runner disconnected (runner_disconnected)',
			);
			const description = run.error?.description ?? '';
			expect(description).toContain(`Jobs this execution submitted (${fal.jobs.size}):`);
			for (const job of fal.jobs.values()) {
				expect(description).toContain(`request ${job.id}:`);
				// Every job that did not fail on its own was still queued: all of them were cancelled.
				if (!job.failure) expect(job.state).toBe('CANCELLED');
			}
			// The halt came while they were all still held: none was ever let out.
			expect(letOutAt).toBeUndefined();
		},
		25_000,
	);

	it('a submit in flight when another item fails: its job is cancelled as soon as its id arrives', async () => {
		const { fal } = server;
		fal.options.submitDelayMs = (input) => (input.prompt === 'image #1' ? 800 : 0);
		fal.options.timing = (input) =>
			input.prompt === 'image #0' ? { queueMs: 0, runMs: 50 } : queuedFor(8000)();
		fal.options.failure = (input) =>
			input.prompt === 'image #0'
				? { error: 'Runner disconnected', error_type: 'runner_disconnected', status: 503 }
				: undefined;
		const run = await runWorkflow({
			parameters: textToImageParams({ prompt: '={{ $json.prompt }}' }),
			credentials: credentialsFor(fal),
			items: items(2),
		});
		expect(run.error?.message).toBe(
			'The job failed on fal: Runner disconnected (runner_disconnected)',
		);
		const late = [...fal.jobs.values()].find((job) => job.input.prompt === 'image #1')!;
		expect(late.state).toBe('CANCELLED');
		expect(run.error?.description).toContain(
			`- item 2, request ${late.id}: the job was cancelled at fal`,
		);
		expect(requestsOf(fal, 'stream').filter((r) => r.path.includes(late.id))).toHaveLength(0);
	});

	it('items not yet submitted when the halt comes submit nothing', async () => {
		const { fal } = server;
		fal.options.timing = (input) =>
			input.prompt === 'image #0' ? { queueMs: 0, runMs: 50 } : queuedFor(8000)();
		fal.options.failure = (input) =>
			input.prompt === 'image #0'
				? { error: 'Runner disconnected', error_type: 'runner_disconnected', status: 503 }
				: undefined;
		fal.options.submitDelayMs = (input) => (input.prompt === 'image #0' ? 0 : 600);
		const run = await runWorkflow({
			parameters: textToImageParams({
				prompt: '={{ $json.prompt }}',
				options: { maxConcurrency: 2 },
			}),
			credentials: credentialsFor(fal),
			items: items(6),
		});
		expect(run.error?.message).toBe(
			'The job failed on fal: Runner disconnected (runner_disconnected)',
		);
		// Item 0 failed while item 1's submit was in flight; items 2..5 never started.
		expect(requestsOf(fal, 'submit')).toHaveLength(2);
		expect([...fal.jobs.values()].map((job) => job.state)).toEqual(['COMPLETED', 'CANCELLED']);
	});

	it('when the server dies mid-batch, the error lists every job and what is known of it', async () => {
		const fal = await FakeFal.start({ timing: queuedFor(8000), pingMs: 0 });
		// The node retries reads against a dead server as it would against a flaky one; no real back-off here.
		Object.assign(transport.retry, { baseMs: 10, maxMs: 50 });
		try {
			const running = runWorkflow({
				parameters: textToImageParams({ prompt: '={{ $json.prompt }}' }),
				credentials: credentialsFor(fal),
				items: items(3),
			});
			await eventually(() => requestsOf(fal, 'stream').length === 3);
			const ids = [...fal.jobs.keys()];
			await fal.stop();
			const run = await running;
			expect(run.error?.message).toMatch(
				/^Lost track of request [0-9a-f-]{36} while waiting for it: Could not reach 127\.0\.0\.1:\d+/,
			);
			expect(run.error?.description).toContain('Jobs this execution submitted (3):');
			for (const id of ids)
				expect(run.error?.description).toMatch(
					new RegExp(
						`request ${id}: the cancel could not be confirmed \\(.+\\): check the job with Get Status`,
					),
				);
			expect(run.durationMs).toBeLessThan(8000 / 2);
		} finally {
			await fal.stop();
		}
	});

	it('a submit that may have queued a job is accounted for too, by the request id its answer named', async () => {
		const { fal } = server;
		fal.options.timing = queuedFor(8000);
		const maybe = '12345678-1234-4234-8234-123456789abc';
		fal.inject({
			kind: 'submit',
			status: 502,
			body: 'Bad Gateway',
			headers: { 'x-fal-request-id': maybe },
		});
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: credentialsFor(fal),
			items: items(3),
		});
		expect(run.error?.message).toBe(
			'The submit may have queued a job: fal answered 502: Bad Gateway',
		);
		const description = run.error?.description ?? '';
		expect(description).toContain('Jobs this execution submitted (3):');
		expect(description).toContain(
			`request ${maybe}: its submit failed in a way that may have queued a job (The submit may have queued a job: fal answered 502: Bad Gateway): look for it in fal's request list`,
		);
		for (const job of fal.jobs.values()) expect(job.state).toBe('CANCELLED');
	});

	it.each([
		['the status stream', 'ok'],
		['polling', '404'],
	] as const)(
		"with Continue On Fail, a failed item outputs the URLs the node really used (a gateway's own), not rebuilt ones (%s)",
		async (_name, stream) => {
			const { fal } = server;
			// A gateway under a path prefix whose URLs carry a query it routes by (without it: 404).
			fal.options.gateway = { prefix: '/gateway', query: 'shard=7' };
			fal.options.stream = stream;
			fal.options.timing = () => ({ queueMs: 100, runMs: 100 });
			fal.failNextJobs(1, { error: 'Runner disconnected on shard 7' });
			const run = await runWorkflow({
				parameters: editParams(),
				credentials: credentialsFor(fal, { baseUrl: `${fal.url}/gateway`, authScheme: 'auto' }),
				continueOnFail: true,
			});
			const [item] = run.output();
			const [id] = fal.jobs.keys();
			const own = `${fal.url}/gateway/fal-ai/flux-pro/requests/${id}`;
			// The gateway's URLs with their query: URLs rebuilt from the id would have none.
			expect(item.json).toMatchObject({
				request_id: id,
				status_url: `${own}/status?shard=7`,
				response_url: `${own}?shard=7`,
				cancel_url: `${own}/cancel?shard=7`,
			});
			// The job's own failure, reached through those URLs (not a 404 from a URL the node broke).
			expect(item.json.error).toMatch(/Runner disconnected on shard 7/);
			// The stream asked for at .../status/stream, polls at .../status, the result: each with the
			// query as the gateway gave it, nothing anywhere else.
			const path = `/gateway/fal-ai/flux-pro/requests/${id}`;
			const where = { stream: `${path}/status/stream`, status: `${path}/status`, result: path };
			const [submit, ...later] = fal.requests;
			expect(submit.path).toBe('/gateway/fal-ai/flux-pro/kontext');
			expect(later.map((r) => r.kind)[0]).toBe('stream');
			expect(later.map((r) => r.kind).at(-1)).toBe('result');
			if (stream === '404') expect(requestsOf(fal, 'status').length).toBeGreaterThanOrEqual(1);
			for (const request of later) {
				expect(request.path).toBe(where[request.kind as keyof typeof where]);
				expect(request.query.shard).toBe('7');
			}
		},
	);

	it("after Stop, n8n's log lists every job and what became of it", async () => {
		const { fal } = server;
		fal.options.timing = queuedFor(8000);
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: credentialsFor(fal),
			items: items(2),
			cancelAfterMs: 400,
		});
		expect(run.status).toBe('canceled');
		await eventually(() =>
			run.logs.some((line) => line.includes('Jobs this execution submitted (2)')),
		);
		const log = run.logs.find((line) => line.includes('Jobs this execution submitted'))!;
		for (const id of fal.jobs.keys())
			expect(log).toContain(`request ${id}: the job was cancelled at fal`);
	});
});

describe('what the review found', () => {
	it('Get Result never cancels a job this execution did not submit, even when the batch halts', async () => {
		const { fal } = server;
		fal.options.timing = queuedFor(8000);
		const handoff = await runWorkflow({
			parameters: textToImageParams({ waitForCompletion: false }),
			credentials: credentialsFor(fal),
		});
		const id = handoff.output()[0].json.request_id as string;
		const expired = '11111111-2222-4333-8444-555555555555';
		const run = await runWorkflow({
			parameters: { resource: 'request', operation: 'getResult', requestId: '={{ $json.id }}' },
			credentials: credentialsFor(fal),
			items: [{ json: { id } }, { json: { id: expired } }],
		});
		expect(run.error?.message).toBe(
			`Lost track of request ${expired} while waiting for it: Request ${expired} was not found (404)`,
		);
		expect(requestsOf(fal, 'cancel')).toHaveLength(0);
		expect(fal.jobs.get(id)?.state).toBe('IN_QUEUE');
	});

	it('a submit waiting out a 429 sends nothing more after Stop', async () => {
		const { fal } = server;
		fal.inject({
			kind: 'submit',
			status: 429,
			body: { detail: 'Queue is full' },
			headers: { 'Retry-After': '2' },
		});
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: credentialsFor(fal),
			cancelAfterMs: 300,
		});
		expect(run.status).toBe('canceled');
		await new Promise((resolve) => setTimeout(resolve, 2500));
		expect(requestsOf(fal, 'submit')).toHaveLength(1);
		expect(fal.jobs.size).toBe(0);
	});

	it('a submit waiting out a 429 gives up when another item fails: "Not submitted"', async () => {
		const { fal } = server;
		fal.options.timing = (input) =>
			input.prompt === 'image #1' ? { queueMs: 0, runMs: 50 } : queuedFor(8000)();
		fal.options.failure = (input) =>
			input.prompt === 'image #1'
				? { error: 'Runner disconnected', error_type: 'runner_disconnected', status: 503 }
				: undefined;
		fal.options.submitDelayMs = (input) => (input.prompt === 'image #1' ? 100 : 0);
		fal.inject({
			kind: 'submit',
			status: 429,
			body: { detail: 'Queue is full' },
			headers: { 'Retry-After': '3' },
		});
		const run = await runWorkflow({
			parameters: textToImageParams({ prompt: '={{ $json.prompt }}' }),
			credentials: credentialsFor(fal),
			items: items(2),
		});
		expect(run.error?.message).toBe(
			'The job failed on fal: Runner disconnected (runner_disconnected)',
		);
		expect(run.durationMs).toBeLessThan(2500);
		expect(requestsOf(fal, 'submit')).toHaveLength(2);
		expect([...fal.jobs.values()].map((job) => job.input.prompt)).toEqual(['image #1']);
	});

	it('an item that fails halts the others before its own (slow) cancel is answered', async () => {
		const { fal } = server;
		transport.deadlines.cancel = 400;
		Object.assign(transport.retry, { baseMs: 100, maxMs: 200 });
		fal.options.timing = (input) =>
			input.prompt === 'image #0' ? queuedFor(8000)() : { queueMs: 0, runMs: 150 };
		fal.inject({ kind: 'cancel', hang: true, times: 50 });
		const run = await runWorkflow({
			parameters: textToImageParams({
				prompt: '={{ $json.prompt }}',
				options: {
					timeout: '={{ $json.prompt === "image #0" ? 1 : 600 }}',
					onTimeout: 'cancel',
					maxConcurrency: 2,
				},
			}),
			credentials: credentialsFor(fal),
			items: items(30),
		});
		expect(run.error?.message).toMatch(
			/^Timed out after 1 s waiting for request [0-9a-f-]{36}; the cancel could not be confirmed/,
		);
		// The cancel took seconds (5 attempts that never answer); the other slot submitted only until the Timeout.
		const [firstCancel] = requestsOf(fal, 'cancel');
		expect(
			requestsOf(fal, 'submit').filter((submit) => submit.at > firstCancel.at + 300),
		).toHaveLength(0);
		expect(requestsOf(fal, 'submit').length).toBeLessThan(15);
	});

	it('a status poll that loses the job does not say "submit it again": the job may still run', async () => {
		const { fal } = server;
		fal.options.stream = '404';
		fal.options.timing = queuedFor(8000);
		fal.inject({ kind: 'status', status: 404, body: { detail: 'Request not found' } });
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		const id = [...fal.jobs.keys()][0];
		const [item] = run.output();
		expect(item.json.error).toBe(
			`Lost track of request ${id} while waiting for it: Request ${id} was not found (404)`,
		);
		expect(item.json.description).toMatch(
			/^The job may still be queued or running at fal, and be billed: check it with Get Status/,
		);
		expect(item.json.description).not.toMatch(/again to get a new one/);
		expect(item.json.request_id).toBe(id);
	});

	it('a token refused while a job is followed keeps its advice, and says the job may still run', async () => {
		const { fal } = server;
		fal.options.stream = '404';
		fal.options.timing = queuedFor(8000);
		fal.inject({
			kind: 'status',
			status: 401,
			body: { detail: 'No user found for Key ID and Secret' },
		});
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		const [item] = run.output();
		expect(item.json.error).toMatch(
			/^Lost track of request [0-9a-f-]{36} while waiting for it: fal rejected the token \(401 Unauthorized\)$/,
		);
		expect(item.json.description).toMatch(
			/^The job may still be queued or running at fal, and be billed: .* Check the API key in the FLUX Kontext credential/,
		);
	});

	it('Get Result without waiting holds to its Timeout too', async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 0, runMs: 0 });
		const done = await runWorkflow({
			parameters: textToImageParams({ waitForCompletion: false }),
			credentials: credentialsFor(fal),
		});
		const id = done.output()[0].json.request_id as string;
		await eventually(() => fal.jobs.get(id)?.state === 'COMPLETED');
		fal.inject({
			kind: 'file',
			status: 200,
			body: 'x'.repeat(1000),
			trickleMs: 100,
			headers: { 'content-type': 'image/jpeg' },
		});
		const run = await runWorkflow({
			parameters: {
				resource: 'request',
				operation: 'getResult',
				requestId: id,
				waitForCompletion: false,
				options: { timeout: 1 },
			},
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		expect(run.output()[0].json.error).toBe(
			`Timed out after 1 s while fetching the result of request ${id}`,
		);
		expect(run.durationMs).toBeLessThan(4000);
	});

	it('the accounting does not call a job billed that fal failed on its own (its stored 5xx with an error type)', async () => {
		const { fal } = server;
		fal.options.timing = (input) =>
			input.prompt === 'image #0' ? { queueMs: 0, runMs: 50 } : queuedFor(8000)();
		fal.inject({
			kind: 'result',
			status: 503,
			body: { detail: 'Runner disconnected', error_type: 'runner_disconnected' },
			headers: { 'X-Fal-Error-Type': 'runner_disconnected' },
		});
		const run = await runWorkflow({
			parameters: textToImageParams({ prompt: '={{ $json.prompt }}' }),
			credentials: credentialsFor(fal),
			items: items(2),
		});
		const id = [...fal.jobs.values()].find((job) => job.input.prompt === 'image #0')!.id;
		expect(run.error?.description).toContain(`- item 1, request ${id}: ended with an error at fal`);
	});
});

describe('polling and the status stream', () => {
	it('Retry-After: 0 on a 202 does not make a poll storm (never faster than the poll floor)', async () => {
		const { fal } = server;
		fal.options.stream = '404';
		fal.options.statusRetryAfter = '0';
		fal.options.timing = () => ({ queueMs: 1000, runMs: 1000 });
		const run = await runWorkflow({ parameters: editParams(), credentials: credentialsFor(fal) });
		expect(run.error).toBeUndefined();
		// 2 s at one poll per 100 ms at most, with margin.
		expect(requestsOf(fal, 'status').length).toBeLessThanOrEqual(2000 / 100 + 5);
	});

	it('a huge Retry-After is cut short by the Timeout', async () => {
		const { fal } = server;
		fal.options.stream = '404';
		fal.options.statusRetryAfter = '3600';
		fal.options.timing = queuedFor(9000);
		const run = await runWorkflow({
			parameters: editParams({ options: { timeout: 2 } }),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		expect(run.output()[0].json.error).toMatch(/^Timed out after 2 s waiting for request/);
		expect(run.durationMs).toBeLessThan(5000);
	});

	it('a status stream answering 5xx is asked once, and the whole execution polls', async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 0, runMs: 200 });
		fal.inject({ kind: 'stream', status: 503, times: 10, body: { detail: 'Service Unavailable' } });
		const run = await runWorkflow({
			parameters: textToImageParams(),
			credentials: credentialsFor(fal),
			items: items(3),
		});
		expect(run.error).toBeUndefined();
		expect(requestsOf(fal, 'stream')).toHaveLength(1);
		expect(run.durationMs).toBeLessThan(3000);
	});
});

describe('how a job ends', () => {
	it.each([
		['the status stream', 'ok'],
		['polling', '404'],
	] as const)(
		"a gateway's terminal status (FAILED) ends the wait at once, in its words, with the request id (%s)",
		async (_name, stream) => {
			const { fal } = server;
			fal.options.stream = stream;
			fal.options.timing = () => ({ queueMs: 0, runMs: 100 });
			fal.failNextJobs(1, { terminal: 'FAILED', error: 'Content policy violation' });
			const run = await runWorkflow({
				parameters: editParams(),
				credentials: credentialsFor(fal),
				continueOnFail: true,
			});
			const id = [...fal.jobs.keys()][0];
			const [item] = run.output();
			expect(item.json.error).toBe(
				'The job failed on fal: the server ended the job with status FAILED: Content policy violation',
			);
			expect(item.json.request_id).toBe(id);
			expect(item.json.description).toContain(id);
			expect(run.durationMs).toBeLessThan(3000);
		},
	);

	it('COMPLETED with "Invalid status code: 422": the result is read once and names the field', async () => {
		const { fal } = server;
		fal.failNextJobs(1, {
			error: 'Invalid status code: 422',
			error_type: 'validation_error',
			status: 422,
			detail: [
				{
					loc: ['body', 'image_url'],
					msg: 'Could not download the image',
					type: 'image_load_error',
				},
			],
		});
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		const id = [...fal.jobs.keys()][0];
		const [item] = run.output();
		expect(item.json.error).toBe(
			'fal rejected the input: Image URL (image_url): Could not download the image',
		);
		expect(item.json.description).toContain(id);
		expect(item.json.request_id).toBe(id);
		expect(requestsOf(fal, 'result')).toHaveLength(1);
	});

	it("COMPLETED with an error whose result says nothing more: the status's words", async () => {
		const { fal } = server;
		fal.failNextJobs(1, {
			error: 'Invalid status code: 500',
			error_type: 'runner_error',
			status: 500,
		});
		fal.inject({ kind: 'result', status: 500, body: '' });
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		expect(run.output()[0].json.error).toBe(
			'The job failed on fal: Invalid status code: 500 (runner_error)',
		);
		expect(requestsOf(fal, 'result')).toHaveLength(1);
	});
});

describe("n8n's own Retry On Fail", () => {
	it('the node says, next to its options, that it would submit every job again', () => {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const { FluxKontext } = require(
			path.join(__dirname, '../../dist/nodes/FluxKontext/FluxKontext.node.js'),
		);
		const notice = new FluxKontext().description.properties.find(
			(p: { type: string }) => p.type === 'notice',
		);
		expect(notice.displayName).toMatch(
			/"Retry On Fail" setting re-runs the whole node, submitting every item's job again/,
		);
		expect(notice.displayOptions).toEqual({ show: { resource: ['image'] } });
	});
});
