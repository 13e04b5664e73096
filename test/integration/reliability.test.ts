/**
 * Issue 4: bad input is refused before money is spent, fal's failures read as what they are, transient faults
 * are survived without queueing a job twice, no paid job is lost, and the token stays home.
 */
import { FakeFal } from '../support/fake-fal';
import { runWorkflow } from '../support/engine';
import {
	credentialsFor,
	editParams,
	eventually,
	handleFor,
	isJpeg,
	requestsOf,
	textToImageParams,
	useFakeFal,
	useFastRetries,
	VALID_TOKEN,
} from './setup';

const server = useFakeFal();
useFastRetries();

describe('bad input is refused before any request', () => {
	const cases: Array<[string, Record<string, unknown>, RegExp]> = [
		['empty prompt', editParams({ prompt: '   ' }), /^Prompt: is empty$/],
		[
			'prompt from an expression that yields nothing',
			editParams({ prompt: '={{ $json.missing }}' }),
			/^Prompt: is empty$/,
		],
		[
			'an image URL that is not http(s)',
			editParams({ imageUrl: 'ftp://example.com/a.png' }),
			/^Image URL: "ftp:\/\/example.com\/a.png" is not an http\(s\) URL or a data URL$/,
		],
		[
			'a data URL of a type fal does not take',
			editParams({ imageUrl: 'data:image/tiff;base64,SUkqAAgAAAAAAAAAAAAA' }),
			/^Image URL: is a data URL of type "image\/tiff"$/,
		],
		[
			'guidance scale out of range through an expression',
			editParams({ options: { guidanceScale: '={{ 25 }}' } }),
			/^Guidance Scale: 25 is out of range$/,
		],
		[
			'a fractional number of images',
			textToImageParams({ options: { numImages: '={{ 2.5 }}' } }),
			/^Number of Images: 2.5 is not a whole number$/,
		],
		[
			'too many images',
			textToImageParams({ options: { numImages: '={{ 5 }}' } }),
			/^Number of Images: 5 is out of range$/,
		],
		[
			'a negative seed other than -1 (random)',
			textToImageParams({ options: { seed: '={{ -2 }}' } }),
			/^Seed: -2 is out of range$/,
		],
		[
			'a seed that is not a number',
			textToImageParams({ options: { seed: '={{ "abc" }}' } }),
			/^Seed: "abc" is not a number$/,
		],
		[
			'an unknown aspect ratio',
			textToImageParams({ options: { aspectRatio: '={{ "5:4" }}' } }),
			/^Aspect Ratio: "5:4" is not allowed$/,
		],
		[
			'a safety tolerance past 6',
			textToImageParams({ options: { safetyTolerance: '={{ 7 }}' } }),
			/^Safety Tolerance: "7" is not allowed$/,
		],
		[
			'an empty request id from an expression',
			{ resource: 'request', operation: 'getResult', requestId: '={{ $json.request_id }}' },
			/^Request ID: is empty$/,
		],
		[
			'a request id that is not one',
			{ resource: 'request', operation: 'getStatus', requestId: 'my-job' },
			/^Request ID: "my-job" is not a fal request ID$/,
		],
		[
			'a webhook URL that is not http(s)',
			textToImageParams({ options: { webhookUrl: 'mailto:me@example.com' } }),
			/^Webhook URL: "mailto:me@example.com" is not an http\(s\) URL$/,
		],
	];

	it.each(cases)('%s', async (_name, parameters, message) => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters,
			credentials: credentialsFor(fal),
			items: [{ json: {} }, { json: {} }],
		});
		expect(run.error?.message).toMatch(message);
		expect(run.error?.description).toMatch(/\(item 1\)$/);
		expect(fal.requests).toHaveLength(0);
	});

	it('names a missing binary field and the ones present', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: editParams({ imageSource: 'binary', binaryPropertyName: 'photo' }),
			credentials: credentialsFor(fal),
			items: [{ binary: { data: { data: Buffer.from('x'), mimeType: 'image/png' } } }],
		});
		expect(run.error?.message).toBe(
			'Input Binary Field: the input item has no binary field "photo"',
		);
		expect(run.error?.description).toBe('Use one of: data (item 1)');
		expect(fal.requests).toHaveLength(0);
	});

	it('with Continue On Fail, only the bad item fails, and it names itself', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: textToImageParams({ prompt: '={{ $json.prompt }}' }),
			credentials: credentialsFor(fal),
			items: [
				{ json: { prompt: 'a cat' } },
				{ json: { prompt: '' } },
				{ json: { prompt: 'a dog' } },
			],
			continueOnFail: true,
		});
		const output = run.output();
		expect(output.map((item) => item.pairedItem)).toEqual([{ item: 0 }, { item: 1 }, { item: 2 }]);
		expect(output[1].json).toEqual({
			error: 'Prompt: is empty',
			description: expect.stringMatching(/\(item 2\)$/),
		});
		expect(output[0].json.images).toHaveLength(1);
		expect(output[2].json.images).toHaveLength(1);
		expect(requestsOf(fal, 'submit')).toHaveLength(2);
	});
});

describe("fal's answers become errors people understand", () => {
	it('401: check the token', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal, { apiKey: 'sk-wrong-token' }),
		});
		expect(run.error?.message).toBe('fal rejected the token (401 Unauthorized)');
		expect(run.error?.description).toMatch(/Check the API key/);
		expect(requestsOf(fal, 'submit')).toHaveLength(1);
	});

	it('403 "User is locked": top up the balance', async () => {
		const { fal } = server;
		fal.inject({
			kind: 'submit',
			status: 403,
			body: {
				detail:
					'User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing.',
			},
		});
		const run = await runWorkflow({ parameters: editParams(), credentials: credentialsFor(fal) });
		expect(run.error?.message).toBe(
			'fal refused the request (403): User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing.',
		);
		expect(run.error?.description).toMatch(/top up its balance/);
	});

	it("5xx with error_type on a result: the job's own failure, not retried", async () => {
		const { fal } = server;
		fal.inject({
			kind: 'result',
			status: 504,
			times: 10,
			body: { detail: 'Request timed out', error_type: 'request_timeout' },
			headers: { 'X-Fal-Error-Type': 'request_timeout' },
		});
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		const [item] = run.output();
		expect(item.json.error).toBe(
			'fal failed to run the job (504, request_timeout): Request timed out',
		);
		expect(item.json.request_id).toBe([...fal.jobs.keys()][0]);
		expect(requestsOf(fal, 'result')).toHaveLength(1);
	});

	it("5xx without error_type (a gateway's fault): retried, then reported", async () => {
		const { fal } = server;
		fal.inject({ kind: 'result', status: 502, times: 10, body: 'Bad Gateway' });
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		expect(run.output()[0].json.error).toBe('fal answered 502 to the result request: Bad Gateway');
		expect(requestsOf(fal, 'result')).toHaveLength(5);
	});
});

describe('transient faults are survived', () => {
	it.each([
		['500', { status: 500 }],
		['502', { status: 502, body: 'Bad Gateway' }],
		['503', { status: 503, body: { detail: 'Service Unavailable' } }],
		['504', { status: 504, body: { detail: 'Gateway Timeout' } }],
		['a connection reset', { reset: true }],
	] as const)('status polls retry %s', async (_name, fault) => {
		const { fal } = server;
		fal.options.stream = '404';
		fal.options.timing = () => ({ queueMs: 0, runMs: 50 });
		// Two in a row: the same poll is asked again, and again.
		fal.inject({ kind: 'status', times: 2, ...fault });
		const run = await runWorkflow({ parameters: editParams(), credentials: credentialsFor(fal) });
		expect(run.error).toBeUndefined();
		expect(requestsOf(fal, 'status').length).toBeGreaterThanOrEqual(3);
		expect(isJpeg(run.output()[0].binary!.data.data)).toBe(true);
	});

	it('result reads and image downloads retry too', async () => {
		const { fal } = server;
		fal.inject({ kind: 'result', reset: true });
		fal.inject({ kind: 'file', status: 503, body: 'busy' });
		const run = await runWorkflow({ parameters: editParams(), credentials: credentialsFor(fal) });
		expect(run.error).toBeUndefined();
		expect(requestsOf(fal, 'result')).toHaveLength(2);
		expect(fal.cdnRequests).toHaveLength(2);
	});

	it('a submit is retried on 429 (nothing was queued): one job', async () => {
		const { fal } = server;
		fal.inject({
			kind: 'submit',
			status: 429,
			body: { detail: 'Queue is full' },
			headers: { 'Retry-After': '0' },
		});
		const run = await runWorkflow({ parameters: editParams(), credentials: credentialsFor(fal) });
		expect(run.error).toBeUndefined();
		expect(requestsOf(fal, 'submit')).toHaveLength(2);
		expect(fal.jobs.size).toBe(1);
	});

	it.each([
		[
			'a 503',
			{ status: 503, body: { detail: 'Service Unavailable' } },
			/^The submit may have queued a job: fal answered 503: Service Unavailable$/,
		],
		[
			'a connection reset',
			{ reset: true },
			/^The submit may have queued a job: connection reset \(127\.0\.0\.1:\d+\)$/,
		],
	])(
		'a submit is never retried after %s (it may have queued a job)',
		async (_name, fault, message) => {
			const { fal } = server;
			fal.inject({ kind: 'submit', ...fault });
			const run = await runWorkflow({ parameters: editParams(), credentials: credentialsFor(fal) });
			expect(run.error?.message).toMatch(message);
			expect(requestsOf(fal, 'submit')).toHaveLength(1);
		},
	);
});

describe('no paid job is lost', () => {
	const slow = () => ({ queueMs: 5000, runMs: 100 });

	it('On Timeout = fail (default): the error carries the request id; the job goes on', async () => {
		const { fal } = server;
		fal.options.timing = slow;
		const run = await runWorkflow({
			parameters: editParams({ options: { timeout: 1 } }),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		const [item] = run.output();
		const id = [...fal.jobs.keys()][0];
		expect(item.json.error).toBe(
			`Timed out after 1 s waiting for request ${id} (last status IN_QUEUE)`,
		);
		expect(item.json.request_id).toBe(id);
		expect(item.json.status_url).toBe(`${fal.url}/fal-ai/flux-pro/requests/${id}/status`);
		expect(requestsOf(fal, 'cancel')).toHaveLength(0);
		expect(run.durationMs).toBeLessThan(2500);
	});

	it('On Timeout = output the handle', async () => {
		const { fal } = server;
		fal.options.timing = slow;
		const run = await runWorkflow({
			parameters: editParams({ options: { timeout: 1, onTimeout: 'outputHandle' } }),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		const [item] = run.output();
		const id = [...fal.jobs.keys()][0];
		expect(item.json).toEqual(handleFor(fal, id, { timed_out: true }));
	});

	it('On Timeout = cancel: the job is cancelled at fal', async () => {
		const { fal } = server;
		fal.options.timing = slow;
		const run = await runWorkflow({
			parameters: editParams({ options: { timeout: 1, onTimeout: 'cancel' } }),
			credentials: credentialsFor(fal),
		});
		const id = [...fal.jobs.keys()][0];
		expect(run.error?.message).toBe(
			`Timed out after 1 s waiting for request ${id}; the job was cancelled at fal (if it had already started, it may still finish and be billed)`,
		);
		expect(requestsOf(fal, 'cancel').map((r) => r.path)).toEqual([
			`/fal-ai/flux-pro/requests/${id}/cancel`,
		]);
		expect(fal.jobs.get(id)?.state).toBe('CANCELLED');
	});

	it('stopping the execution cancels the queued jobs at fal', async () => {
		const { fal } = server;
		fal.options.timing = slow;
		const run = await runWorkflow({
			parameters: textToImageParams({ prompt: '={{ $json.prompt }}' }),
			credentials: credentialsFor(fal),
			items: [{ json: { prompt: 'one' } }, { json: { prompt: 'two' } }],
			cancelAfterMs: 300,
		});
		expect(run.status).toBe('canceled');
		await eventually(() => requestsOf(fal, 'cancel').length === 2);
		for (const request of requestsOf(fal, 'cancel'))
			expect(request.headers.authorization).toBe(`Key ${VALID_TOKEN}`);
		expect([...fal.jobs.values()].map((job) => job.state)).toEqual(['CANCELLED', 'CANCELLED']);
	});

	it("when one item fails without Continue On Fail, the other items' queued jobs are cancelled", async () => {
		const { fal } = server;
		fal.options.timing = (input) => (input.prompt === 'fails' ? { queueMs: 0, runMs: 50 } : slow());
		fal.failNextJobs(1, { error: 'Runner disconnected', error_type: 'runner_disconnected' });
		const run = await runWorkflow({
			parameters: textToImageParams({ prompt: '={{ $json.prompt }}' }),
			credentials: credentialsFor(fal),
			items: [
				{ json: { prompt: 'fails' } },
				{ json: { prompt: 'slow one' } },
				{ json: { prompt: 'slow two' } },
			],
		});
		expect(run.error?.message).toBe(
			'The job failed on fal: Runner disconnected (runner_disconnected)',
		);
		await eventually(() => requestsOf(fal, 'cancel').length === 2);
		const states = [...fal.jobs.values()].map((job) => [job.input.prompt, job.state]);
		expect(states).toEqual([
			['fails', 'COMPLETED'],
			['slow one', 'CANCELLED'],
			['slow two', 'CANCELLED'],
		]);
	});
});

describe('the token stays home', () => {
	it('never appears in output, errors, descriptions or logs, even when fal echoes it', async () => {
		const { fal } = server;
		fal.inject({
			kind: 'result',
			status: 400,
			body: { detail: `Token ${VALID_TOKEN} is not allowed to read this result` },
		});
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		const text = JSON.stringify(run.output()) + JSON.stringify(run.runData) + run.logs.join('\n');
		expect(run.output()[0].json.error).toMatch(/Token \*\*\* is not allowed/);
		expect(text).not.toContain(VALID_TOKEN);
		fal.inject({
			kind: 'result',
			status: 400,
			body: { detail: `Token ${VALID_TOKEN} is not allowed to read this result` },
		});
		const stopped = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal),
		});
		expect(stopped.error?.message).toMatch(/Token \*\*\* is not allowed/);
		expect(JSON.stringify(stopped.error) + JSON.stringify(stopped.runData)).not.toContain(
			VALID_TOKEN,
		);
		fal.failNextJobs(1, {
			error: `Runner rejected credentials ${VALID_TOKEN}`,
			error_type: 'runner_error',
		});
		const jobFailed = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal),
		});
		expect(jobFailed.error?.message).toBe(
			'The job failed on fal: Runner rejected credentials *** (runner_error)',
		);
		expect(JSON.stringify(jobFailed.error) + jobFailed.logs.join('\n')).not.toContain(VALID_TOKEN);
		const failed = await runWorkflow({
			parameters: editParams({ prompt: '' }),
			credentials: credentialsFor(fal, {
				apiKey: 'sk-secret-value',
				baseUrl: 'http://127.0.0.1:9',
			}),
		});
		expect(JSON.stringify(failed.error) + failed.logs.join('\n')).not.toContain('sk-secret-value');
		const unreachable = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal, {
				apiKey: 'sk-secret-value',
				baseUrl: 'http://127.0.0.1:9',
			}),
		});
		expect(unreachable.error?.message).toMatch(/^Could not reach 127\.0\.0\.1:9/);
		expect(
			JSON.stringify(unreachable.error) +
				JSON.stringify(unreachable.runData) +
				unreachable.logs.join('\n'),
		).not.toContain('sk-secret-value');
	});

	it('is not sent along a redirect to another origin (no redirect is followed with it)', async () => {
		const { fal } = server;
		const foreign = await FakeFal.start();
		try {
			fal.inject({
				kind: 'result',
				status: 302,
				body: '',
				headers: { Location: `${foreign.url}/fal-ai/flux-pro/requests/x` },
			});
			const run = await runWorkflow({
				parameters: editParams(),
				credentials: credentialsFor(fal),
				continueOnFail: true,
			});
			// fal's queue never redirects: the node follows no redirect with the credential, and says what it got
			expect(run.output()[0].json.error).toMatch(/^fal answered 302/);
			expect(foreign.requests).toHaveLength(0);
		} finally {
			await foreign.stop();
		}
	});
});
