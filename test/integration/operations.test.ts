/**
 * Issue 2: every operation of the node, run in n8n-core's WorkflowExecute from the built dist/, against the
 * fake fal queue server.
 */
import { FakeFal, makePng } from '../support/fake-fal';
import { runWorkflow } from '../support/engine';
import {
	credentialsFor,
	editParams,
	eventually,
	handleFor,
	isJpeg,
	isPng,
	requestsOf,
	textToImageParams,
	useFakeFal,
	VALID_TOKEN,
} from './setup';

const server = useFakeFal();

describe('Edit', () => {
	it('submits prompt + image URL to the pro endpoint, follows the job and outputs the result with the image as binary', async () => {
		const { fal } = server;
		const run = await runWorkflow({ parameters: editParams(), credentials: credentialsFor(fal) });
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.path).toBe('/fal-ai/flux-pro/kontext');
		expect(submit.body).toEqual({
			prompt: 'Put a donut next to the flour',
			image_url: 'https://example.com/kitchen.png',
		});
		const [item] = run.output();
		expect(item.json.request_id).toBe(fal.jobs.keys().next().value);
		expect(item.json.images).toHaveLength(1);
		expect(item.json).toEqual(
			expect.objectContaining({
				seed: expect.any(Number),
				has_nsfw_concepts: [false],
				prompt: 'Put a donut next to the flour',
			}),
		);
		// fal's timings as fal sent them (the fake: the job's run time in seconds).
		const [job] = fal.jobs.values();
		expect(item.json.timings).toEqual({ inference: job.runMs / 1000 });
		const image = item.binary?.data;
		expect(image?.mimeType).toBe('image/jpeg');
		expect(isJpeg(image!.data)).toBe(true);
		expect(image?.fileName).toMatch(/\.jpe?g$/);
		expect(item.pairedItem).toEqual({ item: 0 });
	});

	it('uses the max endpoint for model max, and a data URL as given', async () => {
		const { fal } = server;
		const dataUrl = `data:image/png;base64,${makePng(4, 4).toString('base64')}`;
		const run = await runWorkflow({
			parameters: editParams({ model: 'max', imageUrl: dataUrl }),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.path).toBe('/fal-ai/flux-pro/kontext/max');
		expect((submit.body as any).image_url).toBe(dataUrl);
	});

	it('sends an input binary image as a data URL of its type, resolved through an expression', async () => {
		const { fal } = server;
		const png = makePng(6, 3);
		const run = await runWorkflow({
			parameters: editParams({
				imageSource: 'binary',
				binaryPropertyName: '={{ $json.field }}',
				prompt: '={{ $json.ask }}',
			}),
			credentials: credentialsFor(fal),
			items: [
				{
					json: { field: 'photo', ask: 'Make it night' },
					binary: { photo: { data: png, mimeType: 'image/png', fileName: 'p.png' } },
				},
			],
		});
		expect(run.error).toBeUndefined();
		const body = requestsOf(fal, 'submit')[0].body as Record<string, unknown>;
		expect(body.prompt).toBe('Make it night');
		expect(body.image_url).toBe(`data:image/png;base64,${png.toString('base64')}`);
	});

	it('recognises an image whose binary MIME type is generic by its bytes', async () => {
		const { fal } = server;
		const png = makePng(2, 2);
		const run = await runWorkflow({
			parameters: editParams({ imageSource: 'binary' }),
			credentials: credentialsFor(fal),
			items: [
				{
					binary: {
						data: { data: png, mimeType: 'application/octet-stream', fileName: 'upload.bin' },
					},
				},
			],
		});
		expect(run.error).toBeUndefined();
		expect(
			(requestsOf(fal, 'submit')[0].body as any).image_url.startsWith('data:image/png;base64,'),
		).toBe(true);
	});

	it('refuses a binary that is not an image, before any request', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: editParams({ imageSource: 'binary' }),
			credentials: credentialsFor(fal),
			items: [
				{
					binary: {
						data: {
							data: Buffer.from('%PDF-1.7 not an image'),
							mimeType: 'application/pdf',
							fileName: 'invoice.pdf',
						},
					},
				},
			],
		});
		expect(run.error?.message).toMatch(
			/Input Binary Field: "data" is not an image \(application\/pdf, invoice\.pdf\)/,
		);
		expect(run.error?.description).toMatch(/JPEG, PNG, WebP, GIF or AVIF/);
		expect(fal.requests).toHaveLength(0);
	});
});

describe("Edit with several images (fal's multi endpoints)", () => {
	it('several URLs, one per line, go to /kontext/multi as image_urls, in order', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: editParams({
				imageUrl: 'https://example.com/a.png\nhttps://example.com/b.jpg\n',
				prompt: 'Put the person from the first image into the second',
			}),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.path).toBe('/fal-ai/flux-pro/kontext/multi');
		expect(submit.body).toEqual({
			prompt: 'Put the person from the first image into the second',
			image_urls: ['https://example.com/a.png', 'https://example.com/b.jpg'],
		});
		expect(isJpeg(run.output()[0].binary!.data.data)).toBe(true);
	});

	it('an array of URLs from an expression, with model max, goes to /kontext/max/multi', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: editParams({ model: 'max', imageUrl: '={{ $json.urls }}' }),
			credentials: credentialsFor(fal),
			items: [
				{
					json: {
						urls: [
							'https://example.com/1.png',
							'https://example.com/2.png',
							'https://example.com/3.png',
						],
					},
				},
			],
		});
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.path).toBe('/fal-ai/flux-pro/kontext/max/multi');
		expect((submit.body as any).image_urls).toEqual([
			'https://example.com/1.png',
			'https://example.com/2.png',
			'https://example.com/3.png',
		]);
	});

	it('several binary fields, comma-separated, are sent as data URLs in that order', async () => {
		const { fal } = server;
		const first = makePng(3, 3);
		const second = makePng(5, 2);
		const run = await runWorkflow({
			parameters: editParams({ imageSource: 'binary', binaryPropertyName: 'person, scene' }),
			credentials: credentialsFor(fal),
			items: [
				{
					binary: {
						scene: { data: second, mimeType: 'image/png' },
						person: { data: first, mimeType: 'image/png' },
					},
				},
			],
		});
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.path).toBe('/fal-ai/flux-pro/kontext/multi');
		expect((submit.body as any).image_urls).toEqual([
			`data:image/png;base64,${first.toString('base64')}`,
			`data:image/png;base64,${second.toString('base64')}`,
		]);
	});

	it('one bad URL among several is named by its position, before any request', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: editParams({ imageUrl: 'https://example.com/a.png\nnot-a-url' }),
			credentials: credentialsFor(fal),
		});
		expect(run.error?.message).toBe('Image URL 2: "not-a-url" is not an http(s) URL or a data URL');
		expect(fal.requests).toHaveLength(0);
	});
});

describe('Text to Image', () => {
	it.each([
		['pro', '/fal-ai/flux-pro/kontext/text-to-image'],
		['max', '/fal-ai/flux-pro/kontext/max/text-to-image'],
	])(
		'model %s submits to %s and outputs every image as binary data, data_1, ...',
		async (model, path) => {
			const { fal } = server;
			const run = await runWorkflow({
				parameters: textToImageParams({ model, options: { numImages: 3, outputFormat: 'png' } }),
				credentials: credentialsFor(fal),
			});
			expect(run.error).toBeUndefined();
			expect(requestsOf(fal, 'submit')[0].path).toBe(path);
			const [item] = run.output();
			expect(Object.keys(item.binary ?? {}).sort()).toEqual(['data', 'data_1', 'data_2']);
			for (const binary of Object.values(item.binary ?? {})) {
				expect(binary.mimeType).toBe('image/png');
				expect(isPng(binary.data)).toBe(true);
				expect(binary.fileName).toMatch(/\.png$/);
			}
			expect(item.json.images).toHaveLength(3);
		},
	);

	it("sends every option under fal's name and type, and nothing the user did not set", async () => {
		const { fal } = server;
		const options = {
			guidanceScale: 7.5,
			numImages: 2,
			outputFormat: 'png',
			safetyTolerance: '5',
			seed: 1234,
			aspectRatio: '16:9',
			syncMode: true,
			enhancePrompt: true,
			webhookUrl: 'http://127.0.0.1:9/hook',
			binaryPropertyOutput: 'picture',
		};
		const run = await runWorkflow({
			parameters: textToImageParams({ options }),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.body).toEqual({
			prompt: 'A lighthouse at dawn, oil painting',
			guidance_scale: 7.5,
			num_images: 2,
			output_format: 'png',
			safety_tolerance: '5',
			seed: 1234,
			aspect_ratio: '16:9',
			sync_mode: true,
			enhance_prompt: true,
		});
		expect(submit.query.fal_webhook).toBe('http://127.0.0.1:9/hook');
		// sync mode: images come back as data URIs and are decoded into binary without any download
		const [item] = run.output();
		expect(item.json.images[0].url).toMatch(/^data:image\/png;base64,/);
		expect(Object.keys(item.binary ?? {}).sort()).toEqual(['picture', 'picture_1']);
		expect(isPng(item.binary!.picture.data)).toBe(true);
		expect(fal.cdnRequests).toHaveLength(0);
		expect(item.json.seed).toBe(1234);
	});

	it('sends no option at all by default, and safety tolerance given as a number still goes as a string', async () => {
		const { fal } = server;
		await runWorkflow({ parameters: textToImageParams(), credentials: credentialsFor(fal) });
		expect(requestsOf(fal, 'submit')[0].body).toEqual({
			prompt: 'A lighthouse at dawn, oil painting',
		});
		fal.reset();
		const run = await runWorkflow({
			parameters: textToImageParams({ options: { safetyTolerance: '={{ 3 }}' } }),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		expect((requestsOf(fal, 'submit')[0].body as any).safety_tolerance).toBe('3');
	});

	it('leaves images as URLs when Download Images is off', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: textToImageParams({ options: { downloadImages: false } }),
			credentials: credentialsFor(fal),
		});
		const [item] = run.output();
		expect(item.binary).toBeUndefined();
		expect(item.json.images[0].url.startsWith(fal.cdnUrl)).toBe(true);
		expect(fal.cdnRequests).toHaveLength(0);
	});
});

describe('hand-off and the Request resource', () => {
	it('outputs the queue handle at once; Get Status and Get Result take it as it is', async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 50, runMs: 150 });
		const run = await runWorkflow({
			parameters: editParams({ waitForCompletion: false }),
			credentials: credentialsFor(fal),
			then: [{ name: 'Status', parameters: { resource: 'request', operation: 'getStatus' } }],
		});
		expect(run.error).toBeUndefined();
		const [handle] = run.output();
		const id = handle.json.request_id;
		expect(handle.json).toEqual(handleFor(fal, id));
		expect(handle.binary).toBeUndefined();
		expect(requestsOf(fal, 'result')).toHaveLength(0);
		const [status] = run.output('Status');
		expect(status.json.request_id).toBe(id);
		expect(['IN_QUEUE', 'IN_PROGRESS']).toContain(status.json.status);
		expect(requestsOf(fal, 'status')[0].query.logs).toBe('1');

		await new Promise((resolve) => setTimeout(resolve, 400));
		// A later execution (a schedule, a webhook) gets the handle as its input: the default Request ID expression reads it.
		const later = await runWorkflow({
			parameters: { resource: 'request', operation: 'getResult' },
			credentials: credentialsFor(fal),
			items: [{ json: handle.json }],
		});
		expect(later.error).toBeUndefined();
		const [result] = later.output();
		expect(result.json.request_id).toBe(id);
		expect(result.json.images).toHaveLength(1);
		expect(isJpeg(result.binary!.data.data)).toBe(true);
		expect(result.pairedItem).toEqual({ item: 0 });
	});

	it('Get Result right after a hand-off follows the job to its end (Wait for Completion, the default)', async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 300, runMs: 300 });
		const run = await runWorkflow({
			parameters: editParams({ waitForCompletion: false }),
			credentials: credentialsFor(fal),
			then: [{ name: 'Result', parameters: { resource: 'request', operation: 'getResult' } }],
		});
		expect(run.error).toBeUndefined();
		const [result] = run.output('Result');
		expect(result.json.request_id).toBe(run.output()[0].json.request_id);
		expect(result.json.images).toHaveLength(1);
		expect(isJpeg(result.binary!.data.data)).toBe(true);
		// Followed (stream), then fetched once: never a result read before completion.
		expect(requestsOf(fal, 'result')).toHaveLength(1);
		expect(requestsOf(fal, 'stream')).toHaveLength(1);
	});

	it('Get Result without waiting on an unfinished job says so, and Get Result on an unknown id explains expiry', async () => {
		const { fal } = server;
		fal.options.timing = () => ({ queueMs: 2000, runMs: 2000 });
		const run = await runWorkflow({
			parameters: editParams({ waitForCompletion: false }),
			credentials: credentialsFor(fal),
			then: [
				{
					name: 'Result',
					parameters: { resource: 'request', operation: 'getResult', waitForCompletion: false },
					continueOnFail: true,
				},
			],
		});
		expect(run.output('Result')[0].json.error).toMatch(/has not finished yet/);
		const missing = await runWorkflow({
			parameters: {
				resource: 'request',
				operation: 'getResult',
				requestId: '11111111-2222-4333-8444-555555555555',
				waitForCompletion: false,
			},
			credentials: credentialsFor(fal),
		});
		expect(missing.error?.message).toBe(
			'Request 11111111-2222-4333-8444-555555555555 was not found (404)',
		);
		expect(missing.error?.description).toMatch(/about an hour/);
	});

	it('the Sync Mode + hand-off trap: an inline result of 10 KB or more expires long before a small one', async () => {
		const { fal } = server;
		// fal keeps results about an hour, but only about 6 minutes from 10 KB: here 60 s and 300 ms.
		fal.options.resultExpiry = { smallMs: 60_000, largeMs: 300, largeBytes: 10_240 };
		fal.options.pngBytes = 20_000;
		const handOff = (syncMode: boolean) =>
			runWorkflow({
				parameters: textToImageParams({
					waitForCompletion: false,
					options: { outputFormat: 'png', ...(syncMode ? { syncMode: true } : {}) },
				}),
				credentials: credentialsFor(fal),
			});
		const inline = (await handOff(true)).output()[0];
		const stored = (await handOff(false)).output()[0];
		await eventually(() => [...fal.jobs.values()].every((job) => job.state === 'COMPLETED'));
		await new Promise((resolve) => setTimeout(resolve, 600));
		const later = await runWorkflow({
			parameters: { resource: 'request', operation: 'getResult', waitForCompletion: false },
			credentials: credentialsFor(fal),
			items: [{ json: inline.json }, { json: stored.json }],
			continueOnFail: true,
		});
		const [gone, kept] = later.output();
		// The inline images made the result large: it is gone, and the node says why it may be.
		expect(gone.json.error).toBe(`Request ${String(inline.json.request_id)} was not found (404)`);
		expect(gone.json.description).toMatch(/about 6 minutes for large results/);
		// The same job with its images stored (small result) is still there.
		expect(kept.json.images).toHaveLength(1);
		expect(isPng(kept.binary!.data.data)).toBe(true);
	});

	it("Cancel gives fal's three answers as output", async () => {
		const { fal } = server;
		fal.options.timing = (input) =>
			input.prompt === 'slow' ? { queueMs: 5000, runMs: 100 } : { queueMs: 0, runMs: 0 };
		const queued = await runWorkflow({
			parameters: textToImageParams({ prompt: 'slow', waitForCompletion: false }),
			credentials: credentialsFor(fal),
		});
		const done = await runWorkflow({
			parameters: textToImageParams({ prompt: 'fast' }),
			credentials: credentialsFor(fal),
		});
		const ids = [
			queued.output()[0].json.request_id,
			done.output()[0].json.request_id,
			'99999999-2222-4333-8444-555555555555',
		];
		const run = await runWorkflow({
			parameters: { resource: 'request', operation: 'cancel', requestId: '={{ $json.id }}' },
			credentials: credentialsFor(fal),
			items: ids.map((id) => ({ json: { id } })),
		});
		expect(run.error).toBeUndefined();
		expect(run.output().map((item) => item.json)).toEqual([
			{ request_id: ids[0], status: 'CANCELLATION_REQUESTED' },
			{ request_id: ids[1], status: 'ALREADY_COMPLETED' },
			{ request_id: ids[2], status: 'NOT_FOUND' },
		]);
		expect(fal.jobs.get(ids[0])?.state).toBe('CANCELLED');
	});
});

describe('failures that must never look like success', () => {
	it('a job COMPLETED with an error fails its item, with the request id', async () => {
		const { fal } = server;
		fal.failNextJobs(1, { error: 'Runner disconnected', error_type: 'runner_disconnected' });
		const run = await runWorkflow({ parameters: editParams(), credentials: credentialsFor(fal) });
		const id = [...fal.jobs.keys()][0];
		expect(run.error?.message).toBe(
			'The job failed on fal: Runner disconnected (runner_disconnected)',
		);
		expect(run.error?.description).toContain(id);
		// Its result is read once for a better reason (here it has none: the status's words stay).
		expect(requestsOf(fal, 'result')).toHaveLength(1);
	});

	it("a 422 names the field in the node's words, and Continue On Fail keeps the request id", async () => {
		const { fal } = server;
		// An expression can put any value past the editor: the node checks ranges itself, so only an input
		// the node cannot know is wrong reaches fal. An image URL fal cannot fetch is such a case: simulate
		// fal's answer for it with a 422 on the result.
		fal.inject({
			kind: 'result',
			status: 422,
			body: {
				detail: [
					{
						loc: ['body', 'image_url'],
						msg: 'Could not download the image',
						type: 'file_download_error',
					},
				],
			},
		});
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		const [item] = run.output();
		expect(item.json.error).toBe(
			'fal rejected the input: Image URL (image_url): Could not download the image',
		);
		expect(item.json.request_id).toBe([...fal.jobs.keys()][0]);
		expect(item.json.response_url).toBe(
			`${fal.url}/fal-ai/flux-pro/requests/${item.json.request_id}`,
		);
		expect(item.binary).toBeUndefined();
	});

	it('a data URL without image data is refused before any request', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: editParams({ imageUrl: 'data:image/png;base64,' }),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		const [item] = run.output();
		expect(item.json.error).toBe('Image URL: is a data URL without valid image data');
		expect(item.json.request_id).toBeUndefined();
		expect(fal.requests).toHaveLength(0);
	});
});

describe('gateways', () => {
	it("rebases fal's URLs onto the gateway; the origin they name receives nothing", async () => {
		const foreign = await FakeFal.start();
		const gateway = await FakeFal.start({ publicBaseUrl: foreign.url, authScheme: 'bearer' });
		try {
			const run = await runWorkflow({
				parameters: editParams(),
				// Auto: Bearer toward a host that is not fal's, which is what the gateway takes.
				credentials: credentialsFor(gateway, { baseUrl: `${gateway.url}/`, authScheme: 'auto' }),
			});
			expect(run.error).toBeUndefined();
			expect(foreign.requests).toHaveLength(0);
			const kinds = gateway.requests.map((r) => r.kind);
			expect(kinds[0]).toBe('submit');
			expect(kinds).toContain('result');
			for (const request of gateway.requests)
				expect(request.headers.authorization).toBe(`Bearer ${VALID_TOKEN}`);
			// images come from the CDN origin, without the token
			expect(gateway.cdnRequests.length).toBe(1);
			expect(gateway.cdnRequests[0].headers.authorization).toBeUndefined();
			const handle = await runWorkflow({
				parameters: editParams({ waitForCompletion: false }),
				credentials: credentialsFor(gateway, { authScheme: 'auto' }),
			});
			const id = handle.output()[0].json.request_id;
			expect(handle.output()[0].json.status_url).toBe(
				`${gateway.url}/fal-ai/flux-pro/requests/${id}/status`,
			);
		} finally {
			await gateway.stop();
			await foreign.stop();
		}
	});

	it('a gateway mounted under a path prefix keeps it', async () => {
		const { fal } = server;
		// A gateway under /prefix that hands back fal's own URLs (no prefix, fal's host), as gateways do.
		fal.options.gateway = { prefix: '/prefix' };
		fal.options.publicBaseUrl = 'https://queue.fal.run';
		fal.options.timing = (input) =>
			input.prompt === 'slow' ? { queueMs: 60_000, runMs: 10 } : { queueMs: 20, runMs: 50 };
		const credentials = credentialsFor(fal, { baseUrl: `${fal.url}/prefix/`, authScheme: 'auto' });
		const run = await runWorkflow({ parameters: editParams(), credentials });
		expect(run.error).toBeUndefined();
		const [item] = run.output();
		expect(isJpeg(item.binary!.data.data)).toBe(true);
		// A job left queued, then its status, result and cancel through the Request resource.
		const queued = await runWorkflow({
			parameters: textToImageParams({ prompt: 'slow', waitForCompletion: false }),
			credentials,
		});
		const request = (operation: string) => ({
			resource: 'request',
			operation,
			requestId: '={{ $json.id }}',
			...(operation === 'getResult' ? { waitForCompletion: false } : {}),
		});
		const ids = [item.json.request_id, queued.output()[0].json.request_id] as string[];
		const items = ids.map((id) => ({ json: { id } }));
		const status = await runWorkflow({ parameters: request('getStatus'), credentials, items });
		expect(status.output().map((i) => i.json.status)).toEqual(['COMPLETED', 'IN_QUEUE']);
		const result = await runWorkflow({
			parameters: request('getResult'),
			credentials,
			items: items.slice(0, 1),
		});
		expect(result.output()[0].json.images).toHaveLength(1);
		const cancel = await runWorkflow({ parameters: request('cancel'), credentials, items });
		expect(cancel.output().map((i) => i.json.status)).toEqual([
			'ALREADY_COMPLETED',
			'CANCELLATION_REQUESTED',
		]);
		// Every request under the prefix, each kind of them there.
		expect(fal.requests.every((r) => r.path.startsWith('/prefix/fal-ai/flux-pro/'))).toBe(true);
		const kinds = new Set(fal.requests.map((r) => r.kind));
		for (const kind of ['submit', 'stream', 'status', 'result', 'cancel'] as const)
			expect(kinds).toContain(kind);
		expect(fal.jobs.get(ids[1])?.state).toBe('CANCELLED');
	});

	it('a Base URL whose prefix the gateway does not serve is reported as a wrong Base URL', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal, { baseUrl: `${fal.url}/prefix` }),
		});
		expect(fal.requests.map((r) => r.path)).toEqual(['/prefix/fal-ai/flux-pro/kontext']);
		expect(run.error?.message).toMatch(/no such endpoint \(404\)/);
		expect(run.error?.description).toMatch(/Base URL/);
	});
});
