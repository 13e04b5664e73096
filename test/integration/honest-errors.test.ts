/**
 * Issue 9: honest errors and clean edges. No message invites a double charge; downloads, inputs and base URLs
 * are checked. Every test runs the built node in n8n-core's engine against the fake fal server.
 */
import { BAD_GATEWAY_PAGE, HTML, makePng } from '../support/fake-fal';
import { nodeDescription, runWorkflow } from '../support/engine';
import { testCredential } from '../support/credential-tester';
import {
	credentialsFor,
	editParams,
	isPng,
	requestsOf,
	textToImageParams,
	useFakeFal,
	VALID_TOKEN,
} from './setup';

const server = useFakeFal();

/** No test here waits through real back-off: every retried fault says Retry-After: 0. */
const NOW = { 'Retry-After': '0' };
const UUID = '5b0e1c52-8f0f-4f3a-9f53-2d7d0e5f2a61';

describe('1. a submit that may have queued a job says so, and how to check', () => {
	it.each([
		[
			'a 502 page from a proxy',
			{ status: 502, body: BAD_GATEWAY_PAGE, headers: HTML },
			'The submit may have queued a job: fal answered 502: 502 Bad Gateway',
		],
		[
			"a 500 with fal's words",
			{ status: 500, body: { detail: 'Internal Server Error' } },
			'The submit may have queued a job: fal answered 500: Internal Server Error',
		],
		[
			'a 200 that is not JSON',
			{ status: 200, body: 'OK' },
			'The submit may have queued a job: fal answered 200 without a job handle: OK',
		],
	])('%s', async (_name, fault, message) => {
		const { fal } = server;
		fal.inject({ kind: 'submit', ...fault });
		const run = await runWorkflow({ parameters: editParams(), credentials: credentialsFor(fal) });
		expect(run.error?.message).toBe(message);
		expect(run.error?.description).toMatch(
			/^The job may have been queued, and fal bills a queued job\. The node did not retry the submit/,
		);
		expect(run.error?.description).toMatch(
			/look for it in fal's request list \(fal\.ai\/dashboard\)/,
		);
		expect(run.error?.description).not.toMatch(/retried with backoff|Run the item again/);
		expect(requestsOf(fal, 'submit')).toHaveLength(1);
	});

	it('a connection reset', async () => {
		const { fal } = server;
		fal.inject({ kind: 'submit', reset: true });
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		const [item] = run.output();
		expect(item.json.error).toMatch(
			/^The submit may have queued a job: connection reset \(127\.0\.0\.1:\d+\)$/,
		);
		expect(item.json.description).toMatch(
			/^ECONNRESET: .*\. The job may have been queued, .*did not retry/,
		);
		expect(requestsOf(fal, 'submit')).toHaveLength(1);
	});

	it('when the failed answer names its request, Get Status is offered and Continue On Fail keeps the id', async () => {
		const { fal } = server;
		// GUESS: fal's answers carry x-fal-request-id (fal's JS client reads it); whether a failed submit does is unknown.
		fal.inject({
			kind: 'submit',
			status: 500,
			body: { detail: 'Internal Server Error' },
			headers: { 'x-fal-request-id': UUID },
		});
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		const [item] = run.output();
		expect(item.json.description).toMatch(`use Get Status with request id ${UUID}`);
		expect(item.json.request_id).toBe(UUID);
	});

	// A refused connection (retried with real back-off, so not run here) says the same: see test/unit/pure.test.ts.
	it('429 says that nothing was queued', async () => {
		const { fal } = server;
		// An id on a refused request names no job: it is not offered.
		fal.inject({
			kind: 'submit',
			status: 429,
			times: 5,
			body: { detail: 'Queue is full' },
			headers: { ...NOW, 'x-fal-request-id': UUID },
		});
		const limited = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal),
		});
		expect(limited.error?.message).toBe('fal is rate limiting this account (429): Queue is full');
		expect(limited.error?.description).toBe(
			'Nothing was queued. The node retried with backoff and gave up. Lower Max Concurrent Requests, or try again later.',
		);
		expect(requestsOf(fal, 'submit')).toHaveLength(5);
		expect(fal.jobs.size).toBe(0);
	});
});

describe('2. an HTML error page shows as its status and gist, never markup', () => {
	it("a proxy's 502 page on a result read", async () => {
		const { fal } = server;
		fal.inject({
			kind: 'result',
			status: 502,
			times: 5,
			body: BAD_GATEWAY_PAGE,
			headers: { ...HTML, ...NOW },
		});
		const run = await runWorkflow({ parameters: editParams(), credentials: credentialsFor(fal) });
		const id = [...fal.jobs.keys()][0];
		expect(run.error?.message).toBe('fal answered 502 to the result request: 502 Bad Gateway');
		expect(run.error?.description).toMatch(
			`The job itself may have finished: fetch it later with Get Result and request id ${id}.`,
		);
		expect(JSON.stringify(run.error)).not.toMatch(/<\/?(html|head|title|center|body)/);
	});

	it('a page with no title: its text, cut short', async () => {
		const { fal } = server;
		const page = `<!DOCTYPE html><html><body><style>p { color: red }</style><p>Upstream unavailable.</p>${'<div>filler</div>'.repeat(200)}</body></html>`;
		fal.inject({ kind: 'submit', status: 503, body: page, headers: HTML });
		const run = await runWorkflow({ parameters: editParams(), credentials: credentialsFor(fal) });
		expect(run.error?.message).toMatch(
			/^The submit may have queued a job: fal answered 503: Upstream unavailable\. filler filler .*\.\.\.$/,
		);
		expect(run.error?.message.length).toBeLessThan(400);
		expect(JSON.stringify(run.error)).not.toMatch(/<\/?(html|body|style|div|p)\b/);
	});
});

describe('3. a failed image download names the image, the host and the status, and says the job succeeded', () => {
	it('a 404 from the CDN for one image of two', async () => {
		const { fal } = server;
		fal.options.reshapeResult = (result) => {
			const images = result.images as Array<Record<string, unknown>>;
			return {
				...result,
				images: [images[0], { ...images[1], url: `${fal.cdnUrl}/files/expired/1.png` }],
			};
		};
		const run = await runWorkflow({
			parameters: textToImageParams({ options: { numImages: 2 } }),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		const [item] = run.output();
		const id = [...fal.jobs.keys()][0];
		const cdnHost = new URL(fal.cdnUrl).host;
		expect(item.json.error).toBe(
			`Image 2 of 2 could not be downloaded from ${cdnHost}: answered 404: Not Found`,
		);
		expect(item.json.description).toMatch(
			new RegExp(
				`^The job itself succeeded \\(request ${id}\\) and is billed: do not submit it again\\. Get Result with this request id`,
			),
		);
		expect(item.json.request_id).toBe(id);
		expect(requestsOf(fal, 'submit')).toHaveLength(1);
	});

	it('a 5xx from a same-origin download is not "fal failed to run the job"', async () => {
		const { fal } = server;
		fal.options.fileUrls = 'redirect';
		fal.inject({ kind: 'other', status: 503, times: 5, body: 'busy', headers: NOW });
		const run = await runWorkflow({ parameters: editParams(), credentials: credentialsFor(fal) });
		expect(run.error?.message).toBe(
			`Image 1 of 1 could not be downloaded from ${new URL(fal.url).host}: answered 503: busy`,
		);
		expect(run.error?.description).toMatch(
			/^The job itself succeeded \(request [0-9a-f-]{36}\) and is billed/,
		);
		expect(fal.jobs.size).toBe(1);
	});
});

describe('4. an image entry without a usable URL says what the result held', () => {
	it.each([
		[
			'no URL',
			[{ width: 8, height: 8 }],
			'Image 1 of 1 in the result has no URL (it holds {"width":8,"height":8})',
		],
		[
			'a relative URL',
			[{ url: '/files/a.png' }],
			'Image 1 of 1 in the result has a URL that is not an absolute http(s) URL: "/files/a.png"',
		],
		[
			'a string instead of an entry',
			['https://cdn.example/a.png'],
			'Image 1 of 1 in the result has no URL (it holds "https://cdn.example/a.png")',
		],
	])('%s', async (_name, images, message) => {
		const { fal } = server;
		fal.options.reshapeResult = (result) => ({ ...result, images });
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		const [item] = run.output();
		expect(item.json.error).toBe(message);
		expect(item.json.description).toMatch(/^The job itself succeeded/);
		expect(item.json.request_id).toBe([...fal.jobs.keys()][0]);
		expect(fal.cdnRequests).toHaveLength(0);
	});
});

describe('6. the bytes decide: a download that is not an image is a failed download', () => {
	it.each([
		[
			'an HTML page with 200',
			{
				status: 200,
				body: '<html><body>Please log in</body></html>',
				headers: { 'content-type': 'text/html' },
			},
			'answered 200 with text/html ("Please log in"), not an image',
		],
		[
			'an empty body with 200 and an image type',
			{ status: 200, body: '', headers: { 'content-type': 'image/jpeg' } },
			'answered 200 with an empty body, not an image',
		],
		[
			'text with an image type',
			{ status: 200, body: 'not really a jpeg', headers: { 'content-type': 'image/jpeg' } },
			'answered 200 with image/jpeg, not an image',
		],
	])('%s', async (_name, fault, problem) => {
		const { fal } = server;
		fal.inject({ kind: 'file', ...fault });
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		const [item] = run.output();
		expect(item.json.error).toBe(
			`Image 1 of 1 could not be downloaded from ${new URL(fal.cdnUrl).host}: ${problem}`,
		);
		expect(item.binary).toBeUndefined();
	});

	it('a PNG served as image/jpeg is stored as image/png, whole', async () => {
		const { fal } = server;
		const png = makePng(64, 64, 7);
		fal.inject({ kind: 'file', status: 200, body: png, headers: { 'content-type': 'image/jpeg' } });
		const run = await runWorkflow({ parameters: editParams(), credentials: credentialsFor(fal) });
		expect(run.error).toBeUndefined();
		const binary = run.output()[0].binary?.data;
		expect(binary?.mimeType).toBe('image/png');
		expect(binary?.data.equals(png)).toBe(true);
	});

	it('a large image arrives byte for byte', async () => {
		const { fal } = server;
		fal.options.pngBytes = 3_000_000;
		const run = await runWorkflow({
			parameters: editParams({ options: { outputFormat: 'png' } }),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		const [item] = run.output();
		const data = item.binary?.data.data as Buffer;
		expect(isPng(data)).toBe(true);
		const served = Buffer.from(await (await fetch(item.json.images[0].url)).arrayBuffer());
		expect(served.length).toBeGreaterThan(2_900_000);
		expect(data.equals(served)).toBe(true);
	});

	it('inline images (sync mode) are sniffed too', async () => {
		const { fal } = server;
		const png = makePng(8, 8, 1);
		fal.options.reshapeResult = (result) => ({
			...result,
			images: [
				{ url: `data:image/jpeg;base64,${png.toString('base64')}` },
				{ url: `data:image/png;base64,${Buffer.from('<html></html>').toString('base64')}` },
			],
		});
		const run = await runWorkflow({
			parameters: editParams({ options: { syncMode: true } }),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		expect(run.output()[0].json.error).toBe(
			'Image 2 of 2 in the result is a data URI that holds no image (declared image/png, 13 bytes)',
		);
		fal.options.reshapeResult = (result) => ({
			...result,
			images: [{ url: `data:image/jpeg;base64,${png.toString('base64')}` }],
		});
		const ok = await runWorkflow({
			parameters: editParams({ options: { syncMode: true } }),
			credentials: credentialsFor(fal),
		});
		expect(ok.output()[0].binary?.data.mimeType).toBe('image/png');
	});
});

describe('7. a same-origin image URL that redirects to another origin is followed, without the credential', () => {
	it('the gateway gets the token, its CDN does not', async () => {
		const { fal } = server;
		fal.options.fileUrls = 'redirect';
		// A gateway: Bearer only, which Auto sends to a host that is not fal's.
		fal.options.authScheme = 'bearer';
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal, { authScheme: 'auto' }),
		});
		expect(run.error).toBeUndefined();
		expect(run.output()[0].binary?.data.mimeType).toBe('image/jpeg');
		const onGateway = fal.requests.filter((r) => r.path.startsWith('/files/'));
		expect(onGateway).toHaveLength(1);
		expect(onGateway[0].headers.authorization).toBe(`Bearer ${VALID_TOKEN}`);
		expect(fal.cdnRequests).toHaveLength(1);
		expect(fal.cdnRequests[0].path).toBe(onGateway[0].path);
		expect(fal.cdnRequests[0].headers.authorization).toBeUndefined();
		expect(JSON.stringify(fal.cdnRequests[0].headers)).not.toContain(VALID_TOKEN);
	});
});

describe('8. a finished job without images fails the item, with its request id', () => {
	it.each([
		['an empty list', { images: [] }, 'has an empty "images" list'],
		['no list', { images: undefined }, 'has no "images" field'],
		['not a list', { images: 'none' }, 'has "images" that is not a list ("none")'],
	])('%s', async (_name, change, what) => {
		const { fal } = server;
		fal.options.reshapeResult = (result) => ({ ...result, ...change });
		const run = await runWorkflow({
			parameters: editParams({ options: { downloadImages: false } }),
			credentials: credentialsFor(fal),
			continueOnFail: true,
		});
		const [item] = run.output();
		const id = [...fal.jobs.keys()][0];
		expect(item.json.error).toBe(`The job finished without images: its result ${what}`);
		expect(item.json.description).toMatch(
			new RegExp(
				`^fal reported request ${id} as finished, and may have billed it\\. The result holds: \\{`,
			),
		);
		expect(item.json.request_id).toBe(id);
	});
});

describe('11. a prompt from an expression that yields a number or a boolean becomes its text', () => {
	it.each([
		['={{ 42 }}', '42'],
		['={{ true }}', 'true'],
	])('%s', async (prompt, sent) => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: textToImageParams({ prompt, waitForCompletion: false }),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		expect((requestsOf(fal, 'submit')[0].body as Record<string, unknown>).prompt).toBe(sent);
	});

	it('an object is named as such, not as empty', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: textToImageParams({ prompt: '={{ { text: "a cat" } }}' }),
			credentials: credentialsFor(fal),
		});
		expect(run.error?.message).toBe('Prompt: is not text (an object)');
		expect(fal.requests).toHaveLength(0);
	});
});

describe('12. Image URL lists and wrapped data URLs', () => {
	const submitted = async (imageUrl: string) => {
		const { fal } = server;
		fal.reset();
		const run = await runWorkflow({
			parameters: editParams({ imageUrl, waitForCompletion: false }),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		const [submit] = requestsOf(fal, 'submit');
		return { path: submit.path, body: submit.body as Record<string, unknown> };
	};

	it('commas, spaces and lines separate URLs; a comma inside a URL does not', async () => {
		await expect(submitted('https://a.example/1.png, https://b.example/2.png')).resolves.toEqual({
			path: '/fal-ai/flux-pro/kontext/multi',
			body: expect.objectContaining({
				image_urls: ['https://a.example/1.png', 'https://b.example/2.png'],
			}),
		});
		await expect(
			submitted('https://a.example/1.png https://b.example/2.png\nhttps://c.example/3.png'),
		).resolves.toMatchObject({
			body: {
				image_urls: [
					'https://a.example/1.png',
					'https://b.example/2.png',
					'https://c.example/3.png',
				],
			},
		});
		await expect(submitted('https://cdn.example/upload/w_400,h_300/a.jpg')).resolves.toEqual({
			path: '/fal-ai/flux-pro/kontext',
			body: expect.objectContaining({ image_url: 'https://cdn.example/upload/w_400,h_300/a.jpg' }),
		});
	});

	it('a data URL wrapped at 76 columns is sent whole, also in a list', async () => {
		const base64 = makePng(16, 16, 3).toString('base64');
		const wrapped = `data:image/png;base64,${base64}`.replace(/(.{76})/g, '$1\n');
		expect(wrapped.split('\n').length).toBeGreaterThan(2);
		await expect(submitted(wrapped)).resolves.toMatchObject({
			body: { image_url: `data:image/png;base64,${base64}` },
		});
		await expect(submitted(`${wrapped},\nhttps://b.example/2.png`)).resolves.toMatchObject({
			body: { image_urls: [`data:image/png;base64,${base64}`, 'https://b.example/2.png'] },
		});
	});

	it('a space inside an http(s) URL is refused before any request', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: editParams({ imageUrl: 'https://a.example/my photo.png' }),
			credentials: credentialsFor(fal),
		});
		expect(run.error?.message).toBe('Image URL: "https://a.example/my photo.png" contains a space');
		expect(fal.requests).toHaveLength(0);
	});
});

describe('13. adding an option does not change the result by itself', () => {
	it('Seed and Aspect Ratio, added and left as they are, send nothing', async () => {
		const description = await nodeDescription();
		const options = description.properties.find(
			(p) => p.name === 'options' && JSON.stringify(p.displayOptions).includes('image'),
		);
		const defaults = Object.fromEntries(
			(options?.options as Array<{ name: string; default: unknown }>).map((o) => [
				o.name,
				o.default,
			]),
		);
		const { fal } = server;
		const run = await runWorkflow({
			parameters: editParams({
				waitForCompletion: false,
				options: { seed: defaults.seed, aspectRatio: defaults.aspectRatio },
			}),
			credentials: credentialsFor(fal),
		});
		expect(run.error).toBeUndefined();
		const body = requestsOf(fal, 'submit')[0].body as Record<string, unknown>;
		expect(body).not.toHaveProperty('seed');
		expect(body).not.toHaveProperty('aspect_ratio');
	});

	it('saved workflows with a value keep sending it', async () => {
		const { fal } = server;
		await runWorkflow({
			parameters: editParams({
				waitForCompletion: false,
				options: { seed: 0, aspectRatio: '1:1' },
			}),
			credentials: credentialsFor(fal),
		});
		expect(requestsOf(fal, 'submit')[0].body).toMatchObject({ seed: 0, aspect_ratio: '1:1' });
	});

	it("no prices in the node's descriptions; the Model field links fal's model pages", async () => {
		const description = await nodeDescription();
		expect(JSON.stringify(description.properties)).not.toMatch(/\$\s?\d/);
		const model = description.properties.find((p) => p.name === 'model');
		expect(model?.description).toContain('href="https://fal.ai/models/fal-ai/flux-pro/kontext"');
		expect(model?.description).toContain(
			'href="https://fal.ai/models/fal-ai/flux-pro/kontext/max"',
		);
	});
});

describe('14. a Base URL with user:password, a query or a fragment is refused before any request', () => {
	it.each([
		[
			'user:password',
			(url: string) => url.replace('http://', 'http://me:hunter2@'),
			'contains a user name or password',
		],
		['a query string', (url: string) => `${url}/?key=hunter2`, 'has a query string (?...)'],
		['a fragment', (url: string) => `${url}#hunter2`, 'has a fragment (#...)'],
	])('%s: at run time and in the credential test', async (_name, make, problem) => {
		const { fal } = server;
		const baseUrl = make(fal.url);
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal, { baseUrl }),
		});
		expect(run.error?.message).toMatch(/^Base URL: ".*" /);
		expect(run.error?.message.endsWith(problem)).toBe(true);
		const tested = await testCredential(credentialsFor(fal, { baseUrl }));
		expect(tested.status).toBe('Error');
		expect(tested.message).toContain(problem);
		expect(JSON.stringify(run.error) + tested.message + run.logs.join('\n')).not.toContain(
			'hunter2',
		);
		expect(fal.requests).toHaveLength(0);
	});
});

describe('15. a token pasted with whitespace is trimmed once, and scrubbed in every form that is sent', () => {
	it('works, and an echo of it is scrubbed', async () => {
		const { fal } = server;
		const pasted = ` ${VALID_TOKEN}\n`;
		await expect(testCredential(credentialsFor(fal, { apiKey: pasted }))).resolves.toMatchObject({
			status: 'OK',
		});
		fal.inject({
			kind: 'result',
			status: 400,
			body: { detail: `Token ${VALID_TOKEN} may not read this` },
		});
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: credentialsFor(fal, { apiKey: pasted }),
			continueOnFail: true,
		});
		expect(requestsOf(fal, 'submit')[0].headers.authorization).toBe(`Key ${VALID_TOKEN}`);
		expect(run.output()[0].json.error).toBe('fal answered 400: Token *** may not read this');
		expect(
			JSON.stringify(run.output()) + JSON.stringify(run.runData) + run.logs.join('\n'),
		).not.toContain(VALID_TOKEN);
	});
});
