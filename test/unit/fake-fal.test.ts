/**
 * The fake fal server itself, driven with plain fetch: it must speak fal's queue protocol
 * (test/support/fake-fal, /work/shared/reference/fal-queue-protocol.md) and fail the way fal fails.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { inflateSync } from 'node:zlib';

import { FakeFal, TINY_JPEG, VALID_TOKEN, crc32, makePng } from '../support/fake-fal';
import { decodeImage } from '../support/fake-fal/pictures';

const AUTH = { authorization: `Key ${VALID_TOKEN}` };
const JSON_AUTH = { ...AUTH, 'content-type': 'application/json' };
const IMAGE_URL = 'https://v3.fal.media/files/rabbit/rmgBxhwGYb2d3pl3x9sKf_output.png';

let fal: FakeFal;

beforeAll(async () => {
	fal = await FakeFal.start({ timing: () => ({ queueMs: 20, runMs: 40 }), pingMs: 15 });
});
afterEach(() => fal.reset());
afterAll(async () => {
	await fal.stop();
});

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

interface Submitted {
	status: string;
	request_id: string;
	response_url: string;
	status_url: string;
	cancel_url: string;
	queue_position: number;
	logs: unknown;
	metrics: unknown;
}

async function submit(
	endpoint: string,
	input: Record<string, unknown>,
	query = '',
): Promise<Submitted> {
	const res = await fetch(`${fal.url}/${endpoint}${query}`, {
		method: 'POST',
		headers: JSON_AUTH,
		body: JSON.stringify(input),
	});
	expect(res.status).toBe(200);
	return (await res.json()) as Submitted;
}

/** Rebases a URL fal handed back onto the fake (what a gateway-aware client must do). */
const local = (url: string): string => fal.url + new URL(url).pathname + new URL(url).search;

async function waitForCompletion(statusUrl: string): Promise<Record<string, any>> {
	for (;;) {
		const res = await fetch(local(statusUrl), { headers: AUTH });
		const body = (await res.json()) as Record<string, any>;
		if (body.status === 'COMPLETED') {
			expect(res.status).toBe(200);
			return body;
		}
		expect(res.status).toBe(202);
		await new Promise((r) => setTimeout(r, 5));
	}
}

/** Reads a server-sent-events response to its end: the parsed `data:` events and the ping count. */
async function readEvents(
	res: Response,
): Promise<{ events: any[]; pings: number; error?: unknown }> {
	const reader = res.body!.getReader();
	const decoder = new TextDecoder();
	let buffer = '';
	const events: any[] = [];
	let pings = 0;
	let error: unknown;
	try {
		for (;;) {
			const { value, done } = await reader.read();
			if (done) break;
			buffer += decoder.decode(value, { stream: true });
			let end: number;
			while ((end = buffer.indexOf('\n\n')) >= 0) {
				const block = buffer.slice(0, end);
				buffer = buffer.slice(end + 2);
				if (block.startsWith('data: ')) events.push(JSON.parse(block.slice(6)));
				else if (block === ': ping') pings++;
			}
		}
	} catch (e) {
		error = e;
	}
	return { events, pings, error };
}

function pngInfo(bytes: Buffer): { width: number; height: number; pixels: Buffer } {
	expect(bytes.subarray(0, 8)).toEqual(
		Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
	);
	let offset = 8;
	let width = 0;
	let height = 0;
	const idat: Buffer[] = [];
	for (;;) {
		const length = bytes.readUInt32BE(offset);
		const type = bytes.toString('ascii', offset + 4, offset + 8);
		const data = bytes.subarray(offset + 8, offset + 8 + length);
		expect(bytes.readUInt32BE(offset + 8 + length)).toBe(
			crc32(bytes.subarray(offset + 4, offset + 8 + length)),
		);
		if (type === 'IHDR') {
			width = data.readUInt32BE(0);
			height = data.readUInt32BE(4);
		}
		if (type === 'IDAT') idat.push(data);
		offset += 12 + length;
		if (type === 'IEND') break;
	}
	expect(offset).toBe(bytes.length);
	const pixels = inflateSync(Buffer.concat(idat));
	expect(pixels.length).toBe(height * (1 + width * 3));
	return { width, height, pixels };
}

function expectJpeg(bytes: Buffer): void {
	expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
	expect([bytes[bytes.length - 2], bytes[bytes.length - 1]]).toEqual([0xff, 0xd9]);
}

// ---------------------------------------------------------------------------------------------
// the happy path
// ---------------------------------------------------------------------------------------------

describe('queue lifecycle', () => {
	it('submit -> 202 status -> streamed events -> result -> downloadable PNGs', async () => {
		// Held in the queue until released below, so the first status poll and the stream's first event see
		// IN_QUEUE however late they arrive on a busy machine.
		fal.options.timing = () => ({ queueMs: Infinity, runMs: 40 });
		const sub = await submit('fal-ai/flux-pro/kontext/text-to-image', {
			prompt: 'a red fox',
			output_format: 'png',
			num_images: 2,
			seed: 42,
		});
		expect(sub).toMatchObject({ status: 'IN_QUEUE', logs: null, metrics: {}, queue_position: 0 });
		expect(sub.request_id).toMatch(
			/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
		);
		const base = `${fal.url}/fal-ai/flux-pro/requests/${sub.request_id}`;
		expect(sub.response_url).toBe(base);
		expect(sub.status_url).toBe(`${base}/status`);
		expect(sub.cancel_url).toBe(`${base}/cancel`);

		const queued = await fetch(sub.status_url, { headers: AUTH });
		expect(queued.status).toBe(202);
		expect(await queued.json()).toMatchObject({
			status: 'IN_QUEUE',
			request_id: sub.request_id,
			queue_position: 0,
		});

		const stream = await fetch(`${sub.status_url}/stream?logs=1`, { headers: AUTH });
		expect(stream.status).toBe(200);
		expect(stream.headers.get('content-type')).toBe('text/event-stream');
		expect(fal.release(sub.request_id)).toBe(true);
		const { events, error } = await readEvents(stream);
		expect(error).toBeUndefined();
		const states = events.map((e) => e.status);
		expect(states[0]).toBe('IN_QUEUE');
		expect(states[states.length - 1]).toBe('COMPLETED');
		expect(states).toContain('IN_PROGRESS');
		expect(states.indexOf('IN_PROGRESS')).toBeGreaterThan(states.lastIndexOf('IN_QUEUE'));
		const last = events[events.length - 1];
		expect(last.metrics.inference_time).toBeCloseTo(0.04);
		expect(last.logs.length).toBeGreaterThanOrEqual(2);
		expect(last.logs[0]).toMatchObject({ level: 'INFO', source: 'user' });

		const completed = await fetch(sub.status_url, { headers: AUTH });
		expect(completed.status).toBe(200);
		expect(await completed.json()).toMatchObject({ status: 'COMPLETED', logs: null });

		const resultRes = await fetch(sub.response_url, { headers: AUTH });
		expect(resultRes.status).toBe(200);
		const result = (await resultRes.json()) as any;
		expect(result).toMatchObject({
			seed: 42,
			prompt: 'a red fox',
			has_nsfw_concepts: [false, false],
		});
		expect(result.timings.inference).toBeCloseTo(0.04);
		expect(result.images).toHaveLength(2);

		for (const image of result.images) {
			expect(image.url.startsWith(`${fal.cdnUrl}/files/${sub.request_id}/`)).toBe(true);
			expect(image.content_type).toBe('image/png');
			const file = await fetch(image.url);
			expect(file.status).toBe(200);
			expect(file.headers.get('content-type')).toBe('image/png');
			const bytes = Buffer.from(await file.arrayBuffer());
			expect(Number(file.headers.get('content-length'))).toBe(bytes.length);
			const info = pngInfo(bytes);
			expect([info.width, info.height]).toEqual([image.width, image.height]);
		}
		// The CDN is another origin and needs no credentials: none must arrive there.
		expect(fal.cdnRequests).toHaveLength(2);
		expect(
			fal.cdnRequests.every((r) => r.kind === 'file' && r.headers.authorization === undefined),
		).toBe(true);

		const job = fal.jobs.get(sub.request_id)!;
		expect(job.state).toBe('COMPLETED');
		expect(job.completedAt).toBeGreaterThan(job.submittedAt);
		expect(job.resultFetchedAt).toBeGreaterThanOrEqual(job.completedAt!);
		expect(fal.requests.map((r) => r.kind)).toEqual([
			'submit',
			'status',
			'stream',
			'status',
			'result',
		]);
		expect(fal.requests[0]).toMatchObject({
			method: 'POST',
			path: '/fal-ai/flux-pro/kontext/text-to-image',
		});
		expect(fal.requests[0].body).toMatchObject({ prompt: 'a red fox' });
		expect(fal.requests[2].query).toEqual({ logs: '1' });
	});

	it('serves JPEG by default, data URIs with sync_mode, large PNGs with pngBytes', async () => {
		fal.options.pngBytes = 300_000;
		// Held in the queue until all three are submitted (released below), so the queue positions do not
		// depend on how fast the submits follow one another.
		fal.options.timing = () => ({ queueMs: Infinity, runMs: 20 });
		const jpeg = await submit('fal-ai/flux-pro/kontext', { prompt: 'edit', image_url: IMAGE_URL });
		const sync = await submit('fal-ai/flux-pro/kontext/max/multi', {
			prompt: 'merge',
			image_urls: [IMAGE_URL, 'data:image/png;base64,AAAA'],
			sync_mode: true,
			output_format: 'png',
		});
		const big = await submit('fal-ai/flux-pro/kontext/max/text-to-image', {
			prompt: 'big',
			output_format: 'png',
		});
		expect(sync.queue_position).toBe(1);
		expect(big.queue_position).toBe(2);
		for (const s of [jpeg, sync, big]) expect(fal.release(s.request_id)).toBe(true);
		await Promise.all([jpeg, sync, big].map((s) => waitForCompletion(s.status_url)));

		const jpegResult = (await (await fetch(jpeg.response_url, { headers: AUTH })).json()) as any;
		expect(typeof jpegResult.seed).toBe('number');
		// A picture of the default size (32 px; the input was not fetched: 1:1).
		expect(jpegResult.images[0]).toEqual({
			url: expect.any(String),
			content_type: 'image/jpeg',
			width: 32,
			height: 32,
		});
		const jpegFile = await fetch(jpegResult.images[0].url);
		expect(jpegFile.headers.get('content-type')).toBe('image/jpeg');
		const jpegBytes = Buffer.from(await jpegFile.arrayBuffer());
		expectJpeg(jpegBytes);
		expect(decodeImage(jpegBytes)).toMatchObject({ width: 32, height: 32 });

		const syncResult = (await (await fetch(sync.response_url, { headers: AUTH })).json()) as any;
		const dataUri: string = syncResult.images[0].url;
		expect(dataUri.startsWith('data:image/png;base64,')).toBe(true);
		pngInfo(Buffer.from(dataUri.slice(dataUri.indexOf(',') + 1), 'base64'));

		const bigResult = (await (await fetch(big.response_url, { headers: AUTH })).json()) as any;
		const bigBytes = Buffer.from(await (await fetch(bigResult.images[0].url)).arrayBuffer());
		expect(Math.abs(bigBytes.length - 300_000)).toBeLessThan(3_000);
		expect(pngInfo(bigBytes).width).toBe(bigResult.images[0].width);

		expect((await fetch(`${fal.cdnUrl}/files/${big.request_id}/7.png`)).status).toBe(404);
		expect((await fetch(`${fal.cdnUrl}/files/nope/0.png`)).status).toBe(404);
	});

	it('makePng and TINY_JPEG are real images', () => {
		const png = pngInfo(makePng(5, 3, 9));
		expect([png.width, png.height]).toEqual([5, 3]);
		expect(makePng(5, 3, 9).equals(makePng(5, 3, 9))).toBe(true);
		expectJpeg(TINY_JPEG);
	});
});

// ---------------------------------------------------------------------------------------------
// URLs and auth
// ---------------------------------------------------------------------------------------------

describe('URLs and auth', () => {
	it('drops the sub-path, uses publicBaseUrl, and 404s a status URL that kept the sub-path', async () => {
		fal.options.publicBaseUrl = 'https://queue.fal.run';
		const sub = await submit('fal-ai/flux-pro/kontext/max/multi', {
			prompt: 'x',
			image_urls: [IMAGE_URL],
		});
		expect(sub.status_url).toBe(
			`https://queue.fal.run/fal-ai/flux-pro/requests/${sub.request_id}/status`,
		);
		expect(sub.response_url).toBe(
			`https://queue.fal.run/fal-ai/flux-pro/requests/${sub.request_id}`,
		);

		const status = await fetch(local(sub.status_url), { headers: AUTH });
		expect(status.status).toBe(202);
		expect(((await status.json()) as any).status_url).toBe(sub.status_url);

		const wrong = await fetch(
			`${fal.url}/fal-ai/flux-pro/kontext/max/multi/requests/${sub.request_id}/status`,
			{
				headers: AUTH,
			},
		);
		expect(wrong.status).toBe(404);
		const wrong2 = await fetch(`${fal.url}/fal-ai/flux-pro/kontext/requests/${sub.request_id}`, {
			headers: AUTH,
		});
		expect(wrong2.status).toBe(404);
		expect(fal.requests.slice(-2).map((r) => r.kind)).toEqual(['status', 'result']);

		const unknown = await fetch(
			`${fal.url}/fal-ai/flux-pro/requests/00000000-0000-0000-0000-000000000000/status`,
			{
				headers: AUTH,
			},
		);
		expect(unknown.status).toBe(404);
		expect(await unknown.json()).toEqual({ detail: 'Request not found' });
	});

	it('answers 401 for a missing or wrong token and for the wrong scheme', async () => {
		const url = `${fal.url}/fal-ai/flux-pro/kontext/text-to-image`;
		const post = (authorization?: string) =>
			fetch(url, {
				method: 'POST',
				headers: {
					'content-type': 'application/json',
					...(authorization ? { authorization } : {}),
				},
				body: JSON.stringify({ prompt: 'x' }),
			});
		for (const header of [undefined, 'Key wrong', VALID_TOKEN, `Basic ${VALID_TOKEN}`]) {
			const res = await post(header);
			expect(res.status).toBe(401);
			expect(await res.json()).toEqual({ detail: 'No user found for Key ID and Secret' });
		}
		// By default the queue is fal's: `Key` only.
		expect((await post(`Key ${VALID_TOKEN}`)).status).toBe(200);
		expect((await post(`Bearer ${VALID_TOKEN}`)).status).toBe(401);
		// Playing a gateway: `Bearer` only.
		fal.options.gateway = { query: 'shard=7' };
		expect((await post(`Key ${VALID_TOKEN}`)).status).toBe(401);
		expect((await post(`Bearer ${VALID_TOKEN}`)).status).toBe(200);
		fal.options.gateway = {};
		fal.options.authScheme = 'bearer';
		expect((await post(`Key ${VALID_TOKEN}`)).status).toBe(401);
		expect((await post(`Bearer ${VALID_TOKEN}`)).status).toBe(200);
		fal.options.authScheme = 'any';
		expect((await post(`Key ${VALID_TOKEN}`)).status).toBe(200);
		expect((await post(`Bearer ${VALID_TOKEN}`)).status).toBe(200);
		expect(fal.requests[0].headers.authorization).toBeUndefined();
	});

	it("takes one scheme per origin: Key on fal's storage and Platform hosts, whatever the queue takes", async () => {
		const initiate = (authorization: string) =>
			fetch(`${fal.storageUrl}/storage/upload/initiate?storage_type=fal-cdn-v3`, {
				method: 'POST',
				headers: { authorization, 'content-type': 'application/json' },
				body: JSON.stringify({ content_type: 'image/png', file_name: 'a.png' }),
			});
		const pricing = (authorization: string) =>
			fetch(`${fal.platformUrl}/v1/models/pricing?endpoint_id=fal-ai/flux-pro/kontext`, {
				headers: { authorization },
			});
		for (const queue of [undefined, 'bearer'] as const) {
			fal.options.authScheme = queue ? { queue } : {};
			expect((await initiate(`Bearer ${VALID_TOKEN}`)).status).toBe(401);
			expect((await initiate(`Key ${VALID_TOKEN}`)).status).toBe(200);
			expect((await pricing(`Bearer ${VALID_TOKEN}`)).status).toBe(401);
			expect((await pricing(`Key ${VALID_TOKEN}`)).status).toBe(200);
		}
		// A gateway that mirrors fal's storage takes its own scheme there too, when a test says so.
		fal.options.authScheme = { queue: 'bearer', storage: 'bearer' };
		expect((await initiate(`Bearer ${VALID_TOKEN}`)).status).toBe(200);
		expect((await initiate(`Key ${VALID_TOKEN}`)).status).toBe(401);
		expect(fal.authSchemeOf('platform')).toBe('key');
	});

	it('plays a gateway under a path prefix: submit, status, stream, result and cancel there, with its query', async () => {
		fal.options.gateway = { prefix: '/gateway/v1', query: 'shard=7' };
		const BEARER = { authorization: `Bearer ${VALID_TOKEN}` };
		const post = (path: string) =>
			fetch(`${fal.url}${path}`, {
				method: 'POST',
				headers: { ...BEARER, 'content-type': 'application/json' },
				body: JSON.stringify({ prompt: 'x' }),
			});
		// Outside the prefix there is nothing.
		expect((await post('/fal-ai/flux-pro/kontext/text-to-image')).status).toBe(404);
		const res = await post('/gateway/v1/fal-ai/flux-pro/kontext/text-to-image');
		expect(res.status).toBe(200);
		const sub = (await res.json()) as Submitted;
		const base = `${fal.url}/gateway/v1/fal-ai/flux-pro/requests/${sub.request_id}`;
		expect(sub).toMatchObject({
			status_url: `${base}/status?shard=7`,
			response_url: `${base}?shard=7`,
			cancel_url: `${base}/cancel?shard=7`,
		});
		// The handed-back URLs work as they are; without the query, or without the prefix, they do not.
		const status = await fetch(sub.status_url, { headers: BEARER });
		expect(status.status).toBe(202);
		expect(((await status.json()) as Submitted).status_url).toBe(sub.status_url);
		expect((await fetch(`${base}/status`, { headers: BEARER })).status).toBe(404);
		expect((await fetch(`${base}/status?shard=7/stream`, { headers: BEARER })).status).toBe(404);
		const unprefixed = `${fal.url}/fal-ai/flux-pro/requests/${sub.request_id}/status?shard=7`;
		expect((await fetch(unprefixed, { headers: BEARER })).status).toBe(404);
		const stream = readEvents(await fetch(`${base}/status/stream?shard=7`, { headers: BEARER }));
		expect((await stream).events.at(-1)?.status).toBe('COMPLETED');
		const result = await fetch(sub.response_url, { headers: BEARER });
		expect(result.status).toBe(200);
		const cancel = await fetch(sub.cancel_url, { method: 'PUT', headers: BEARER });
		expect(await cancel.json()).toEqual({ status: 'ALREADY_COMPLETED' });
		expect(fal.requests.map((r) => r.kind)).toEqual([
			'submit',
			'submit',
			'status',
			'status',
			'status',
			'status',
			'stream',
			'result',
			'cancel',
		]);
	});

	it('forgets a result after its expiry: sooner for a large one (Sync Mode images), then 404', async () => {
		fal.options.pngBytes = 20_000;
		const small = await submit('fal-ai/flux-pro/kontext/text-to-image', { prompt: 'x' });
		const large = await submit('fal-ai/flux-pro/kontext/text-to-image', {
			prompt: 'x',
			sync_mode: true,
			output_format: 'png',
		});
		await waitForCompletion(small.status_url);
		await waitForCompletion(large.status_url);
		// Within fal's figures (1 h; 6 min from 10 KB) both are there; the large one is over 10 KB.
		const first = await fetch(large.response_url, { headers: AUTH });
		expect(first.status).toBe(200);
		expect((await first.text()).length).toBeGreaterThan(10_240);
		// Expiry is judged when asked, with the options then in force: large results kept 1 ms.
		fal.options.resultExpiry = { smallMs: 60_000, largeMs: 1, largeBytes: 10_240 };
		await new Promise((resolve) => setTimeout(resolve, 50));
		const late = await fetch(large.response_url, { headers: AUTH });
		expect(late.status).toBe(404);
		expect(await late.json()).toEqual({ detail: 'Request not found' });
		expect((await fetch(large.status_url, { headers: AUTH })).status).toBe(404);
		expect((await fetch(small.response_url, { headers: AUTH })).status).toBe(200);
	});

	it('rejects unknown endpoints and non-JSON bodies', async () => {
		const unknown = await fetch(`${fal.url}/fal-ai/flux-pro/v1.1`, {
			method: 'POST',
			headers: JSON_AUTH,
			body: '{}',
		});
		expect(unknown.status).toBe(404);
		expect(await unknown.json()).toEqual({ detail: 'Application not found' });
		const bad = await fetch(`${fal.url}/fal-ai/flux-pro/kontext`, {
			method: 'POST',
			headers: JSON_AUTH,
			body: 'nope',
		});
		expect(bad.status).toBe(400);
		expect(fal.requests[1].body).toBe('nope');
		expect(fal.jobs.size).toBe(0);
	});
});

// ---------------------------------------------------------------------------------------------
// cancel, validation, failures
// ---------------------------------------------------------------------------------------------

describe('cancel', () => {
	it('removes a queued job, lets a running one finish, refuses a completed one', async () => {
		fal.options.timing = (input) =>
			input.prompt === 'queued' ? { queueMs: 60_000, runMs: 10 } : { queueMs: 0, runMs: 150 };
		const cancel = (url: string) => fetch(url, { method: 'PUT', headers: AUTH });

		const queued = await submit('fal-ai/flux-pro/kontext/text-to-image', { prompt: 'queued' });
		const res1 = await cancel(queued.cancel_url);
		expect(res1.status).toBe(202);
		expect(await res1.json()).toEqual({ status: 'CANCELLATION_REQUESTED' });
		expect(fal.jobs.get(queued.request_id)!.state).toBe('CANCELLED');
		const cancelledResult = await fetch(queued.response_url, { headers: AUTH });
		expect(cancelledResult.status).toBe(400);

		const running = await submit('fal-ai/flux-pro/kontext/text-to-image', { prompt: 'running' });
		while (fal.jobs.get(running.request_id)!.state !== 'IN_PROGRESS')
			await new Promise((r) => setTimeout(r, 5));
		const res2 = await cancel(running.cancel_url);
		expect(res2.status).toBe(202);
		expect(await res2.json()).toEqual({ status: 'CANCELLATION_REQUESTED' });
		await waitForCompletion(running.status_url);
		expect((await fetch(running.response_url, { headers: AUTH })).status).toBe(200);

		const res3 = await cancel(running.cancel_url);
		expect(res3.status).toBe(400);
		expect(await res3.json()).toEqual({ status: 'ALREADY_COMPLETED' });

		const res4 = await cancel(`${fal.url}/fal-ai/flux-pro/requests/does-not-exist/cancel`);
		expect(res4.status).toBe(404);
		expect(await res4.json()).toEqual({ status: 'NOT_FOUND' });
		expect(fal.requests.filter((r) => r.kind === 'cancel')).toHaveLength(4);
	});
});

describe('validation at run time', () => {
	it('answers 422 from the result, not at submit', async () => {
		const early = await submit('fal-ai/flux-pro/kontext/text-to-image', {
			prompt: 'x',
			safety_tolerance: 2,
		});
		const tooEarly = await fetch(early.response_url, { headers: AUTH });
		expect(tooEarly.status).toBe(400);
		expect(await tooEarly.json()).toEqual({ detail: 'Request is still in progress' });

		const status = await waitForCompletion(early.status_url);
		expect(status.error).toBeUndefined();
		const res = await fetch(early.response_url, { headers: AUTH });
		expect(res.status).toBe(422);
		const body = (await res.json()) as any;
		expect(body.detail).toHaveLength(1);
		expect(body.detail[0]).toMatchObject({
			loc: ['body', 'safety_tolerance'],
			type: 'string_type',
		});

		const guidance = await submit('fal-ai/flux-pro/kontext', {
			prompt: 'x',
			image_url: IMAGE_URL,
			guidance_scale: 25,
		});
		await waitForCompletion(guidance.status_url);
		const res2 = await fetch(guidance.response_url, { headers: AUTH });
		expect(res2.status).toBe(422);
		expect(((await res2.json()) as any).detail).toEqual([
			{
				loc: ['body', 'guidance_scale'],
				msg: 'Input should be less than or equal to 20',
				type: 'less_than_equal',
				input: 25,
			},
		]);

		const missing = await submit('fal-ai/flux-pro/kontext/multi', { num_images: 5 });
		await waitForCompletion(missing.status_url);
		const detail = ((await (await fetch(missing.response_url, { headers: AUTH })).json()) as any)
			.detail;
		expect(detail.map((d: any) => [d.loc[1], d.type])).toEqual([
			['prompt', 'missing'],
			['image_urls', 'missing'],
			['num_images', 'less_than_equal'],
		]);
	});
});

describe('job failures', () => {
	it('failNextJobs: COMPLETED with error, result 503 with X-Fal-Error-Type; the next job is fine', async () => {
		fal.failNextJobs(1);
		const failed = await submit('fal-ai/flux-pro/kontext/text-to-image', { prompt: 'x' });
		const ok = await submit('fal-ai/flux-pro/kontext/text-to-image', { prompt: 'y' });
		const status = await waitForCompletion(failed.status_url);
		expect(status).toMatchObject({
			status: 'COMPLETED',
			error: 'Runner disconnected',
			error_type: 'runner_disconnected',
		});
		const res = await fetch(failed.response_url, { headers: AUTH });
		expect(res.status).toBe(503);
		expect(res.headers.get('x-fal-error-type')).toBe('runner_disconnected');
		expect(await res.json()).toEqual({
			detail: 'Runner disconnected',
			error_type: 'runner_disconnected',
		});

		await waitForCompletion(ok.status_url);
		expect((await fetch(ok.response_url, { headers: AUTH })).status).toBe(200);
	});

	it('failNextJobs with a custom failure', async () => {
		fal.failNextJobs(1, { error: 'Request timed out', error_type: 'request_timeout', status: 504 });
		const sub = await submit('fal-ai/flux-pro/kontext/text-to-image', { prompt: 'x' });
		await waitForCompletion(sub.status_url);
		const res = await fetch(sub.response_url, { headers: AUTH });
		expect(res.status).toBe(504);
		expect(res.headers.get('x-fal-error-type')).toBe('request_timeout');
	});
});

// ---------------------------------------------------------------------------------------------
// faults and stream variants
// ---------------------------------------------------------------------------------------------

describe('faults', () => {
	it('inject: 429 with Retry-After once, then normal; the faulted request is recorded', async () => {
		const sub = await submit('fal-ai/flux-pro/kontext/text-to-image', { prompt: 'x' });
		fal.inject({
			kind: 'status',
			status: 429,
			body: { detail: 'Too many requests' },
			headers: { 'Retry-After': '1' },
		});
		const limited = await fetch(sub.status_url, { headers: AUTH });
		expect(limited.status).toBe(429);
		expect(limited.headers.get('retry-after')).toBe('1');
		expect(await limited.json()).toEqual({ detail: 'Too many requests' });
		const normal = await fetch(sub.status_url, { headers: AUTH });
		expect([200, 202]).toContain(normal.status);
		expect(fal.requests.map((r) => r.kind)).toEqual(['submit', 'status', 'status']);
	});

	it('inject with times and FIFO per kind; a submit fault does not create a job', async () => {
		fal.inject({ kind: 'submit', status: 502, body: '<html>Bad Gateway</html>', times: 2 });
		fal.inject({ kind: 'submit', status: 503 });
		const post = () =>
			fetch(`${fal.url}/fal-ai/flux-pro/kontext/text-to-image`, {
				method: 'POST',
				headers: JSON_AUTH,
				body: JSON.stringify({ prompt: 'x' }),
			});
		const first = await post();
		expect(first.status).toBe(502);
		expect(await first.text()).toBe('<html>Bad Gateway</html>');
		expect((await post()).status).toBe(502);
		expect((await post()).status).toBe(503);
		expect((await post()).status).toBe(200);
		expect(fal.jobs.size).toBe(1);
	});

	it('reset: destroys the socket, then answers normally', async () => {
		const sub = await submit('fal-ai/flux-pro/kontext/text-to-image', { prompt: 'x' });
		await waitForCompletion(sub.status_url);
		fal.inject({ kind: 'result', reset: true });
		await expect(fetch(sub.response_url, { headers: AUTH })).rejects.toThrow();
		expect((await fetch(sub.response_url, { headers: AUTH })).status).toBe(200);
		expect(fal.requests.filter((r) => r.kind === 'result')).toHaveLength(2);
	});

	it('a hung request is ended by reset(), so it cannot leak into the next test', async () => {
		const sub = await submit('fal-ai/flux-pro/kontext/text-to-image', { prompt: 'x' });
		fal.inject({ kind: 'status', hang: true });
		const hung = fetch(sub.status_url, { headers: AUTH }).then(
			() => 'answered',
			() => 'ended',
		);
		await new Promise((resolve) => setTimeout(resolve, 100));
		fal.reset();
		const outcome = await Promise.race([
			hung,
			new Promise((resolve) => setTimeout(() => resolve('still hanging'), 5000)),
		]);
		expect(outcome).toBe('ended');
	});

	it('a slow submit that reset() overtakes creates no job in the next test', async () => {
		fal.options.submitDelayMs = () => 300;
		const late = fetch(`${fal.url}/fal-ai/flux-pro/kontext/text-to-image`, {
			method: 'POST',
			headers: JSON_AUTH,
			body: JSON.stringify({ prompt: 'x' }),
		}).then(
			(res) => res.status,
			() => 'ended',
		);
		await new Promise((resolve) => setTimeout(resolve, 100));
		fal.reset();
		expect(await late).toBe('ended');
		expect(fal.jobs.size).toBe(0);
		expect(fal.requests).toHaveLength(0);
	});

	it('file faults apply to the CDN', async () => {
		const sub = await submit('fal-ai/flux-pro/kontext/text-to-image', { prompt: 'x' });
		await waitForCompletion(sub.status_url);
		const result = (await (await fetch(sub.response_url, { headers: AUTH })).json()) as any;
		fal.inject({ kind: 'file', status: 403, body: { detail: 'expired' } });
		expect((await fetch(result.images[0].url)).status).toBe(403);
		expect((await fetch(result.images[0].url)).status).toBe(200);
	});
});

describe('stream variants', () => {
	it("'404' and '405' refuse the stream; polling still works", async () => {
		const sub = await submit('fal-ai/flux-pro/kontext/text-to-image', { prompt: 'x' });
		fal.options.stream = '404';
		const res404 = await fetch(`${sub.status_url}/stream`, { headers: AUTH });
		expect(res404.status).toBe(404);
		expect(await res404.json()).toEqual({ detail: 'Not Found' });
		fal.options.stream = '405';
		expect((await fetch(`${sub.status_url}/stream`, { headers: AUTH })).status).toBe(405);
		await waitForCompletion(sub.status_url);
	});

	it("'break' sends one event, then drops the connection without COMPLETED", async () => {
		fal.options.stream = 'break';
		fal.options.timing = () => ({ queueMs: 500, runMs: 10 });
		const sub = await submit('fal-ai/flux-pro/kontext/text-to-image', { prompt: 'x' });
		const res = await fetch(`${sub.status_url}/stream`, { headers: AUTH });
		expect(res.status).toBe(200);
		const { events, error } = await readEvents(res);
		expect(events).toHaveLength(1);
		expect(events[0].status).toBe('IN_QUEUE');
		expect(error).toBeDefined();
	});

	it('sends pings while waiting, and ends at once for a completed job', async () => {
		fal.options.timing = () => ({ queueMs: 100, runMs: 80 });
		const sub = await submit('fal-ai/flux-pro/kontext/text-to-image', { prompt: 'x' });
		const { events, pings } = await readEvents(
			await fetch(`${sub.status_url}/stream`, { headers: AUTH }),
		);
		expect(pings).toBeGreaterThan(0);
		expect(events.map((e) => e.status)).toEqual(['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED']);
		expect(events[1].logs).toBeNull();
		const again = await readEvents(await fetch(`${sub.status_url}/stream`, { headers: AUTH }));
		expect(again.events.map((e) => e.status)).toEqual(['COMPLETED']);
	});

	it('a cancelled job ends its stream', async () => {
		fal.options.timing = () => ({ queueMs: 60_000, runMs: 10 });
		const sub = await submit('fal-ai/flux-pro/kontext/text-to-image', { prompt: 'x' });
		const stream = readEvents(await fetch(`${sub.status_url}/stream`, { headers: AUTH }));
		await fetch(sub.cancel_url, { method: 'PUT', headers: AUTH });
		const { events } = await stream;
		expect(events.map((e) => e.status)).toEqual(['IN_QUEUE', 'COMPLETED']);
	});
});

// ---------------------------------------------------------------------------------------------
// webhooks
// ---------------------------------------------------------------------------------------------

describe('webhooks', () => {
	let receiver: http.Server;
	let receiverUrl: string;
	const received: any[] = [];

	beforeAll(async () => {
		receiver = http.createServer((req, res) => {
			const chunks: Buffer[] = [];
			req.on('data', (c: Buffer) => chunks.push(c));
			req.on('end', () => {
				received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) });
				res.writeHead(200).end('ok');
			});
		});
		await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
		receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
	});
	afterAll(async () => {
		await new Promise((resolve) => receiver.close(resolve));
	});

	it('POSTs OK with the result and ERROR with the 422 body', async () => {
		const hook = `?fal_webhook=${encodeURIComponent(receiverUrl)}`;
		const good = await submit('fal-ai/flux-pro/kontext/text-to-image', { prompt: 'ok' }, hook);
		const bad = await submit(
			'fal-ai/flux-pro/kontext/text-to-image',
			{ prompt: 'bad', guidance_scale: 25 },
			hook,
		);
		expect(fal.jobs.get(good.request_id)!.webhookUrl).toBe(receiverUrl);
		await fal.webhooksSettled();

		expect(fal.webhooks).toHaveLength(2);
		expect(fal.webhooks.every((w) => w.status === 200 && w.error === undefined)).toBe(true);
		const byId = new Map(received.map((r) => [r.body.request_id, r]));
		const okDelivery = byId.get(good.request_id);
		expect(okDelivery.headers['content-type']).toBe('application/json');
		expect(okDelivery.body).toMatchObject({ gateway_request_id: good.request_id, status: 'OK' });
		expect(okDelivery.body.payload.images).toHaveLength(1);
		const errDelivery = byId.get(bad.request_id);
		expect(errDelivery.body).toMatchObject({
			gateway_request_id: bad.request_id,
			status: 'ERROR',
			error: 'Invalid status code: 422',
		});
		expect(errDelivery.body.payload.detail[0].loc).toEqual(['body', 'guidance_scale']);
	});

	it('records a failed delivery instead of throwing', async () => {
		const dead = http.createServer();
		await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
		const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/hook`;
		await new Promise((resolve) => dead.close(resolve));

		await submit(
			'fal-ai/flux-pro/kontext/text-to-image',
			{ prompt: 'x' },
			`?fal_webhook=${encodeURIComponent(deadUrl)}`,
		);
		await fal.webhooksSettled();
		expect(fal.webhooks).toHaveLength(1);
		expect(fal.webhooks[0].status).toBeUndefined();
		expect(fal.webhooks[0].error).toBeTruthy();
	});
});

describe('stop', () => {
	it('closes open streams and pending jobs without hanging', async () => {
		const other = await FakeFal.start({ timing: () => ({ queueMs: 60_000, runMs: 10 }) });
		const sub = (await (
			await fetch(`${other.url}/fal-ai/flux-pro/kontext/text-to-image`, {
				method: 'POST',
				headers: JSON_AUTH,
				body: JSON.stringify({ prompt: 'x' }),
			})
		).json()) as Submitted;
		const stream = readEvents(await fetch(`${sub.status_url}/stream`, { headers: AUTH }));
		await other.stop();
		const { events } = await stream;
		expect(events.map((e) => e.status)).toEqual(['IN_QUEUE']);
	});
});
