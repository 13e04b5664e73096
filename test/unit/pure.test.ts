import { SseParser } from '../../nodes/FluxKontext/job/sse';
import {
	DEFAULT_RETRY,
	parseRetryAfter,
	retryDelayMs,
	shouldRetry,
} from '../../nodes/FluxKontext/transport/retry';
import {
	baseUrlProblem,
	isFalHost,
	maskedUrl,
	parseRequestId,
	rebase,
	serviceUrlFor,
	urlsFromSubmit,
	withPathSegment,
} from '../../nodes/FluxKontext/fal/urls';
import { formatUsd } from '../../nodes/FluxKontext/helpers/cost';
import { sniffImageType, splitImageUrls } from '../../nodes/FluxKontext/helpers/validation';
import { mapWithConcurrency } from '../../nodes/FluxKontext/helpers/pool';
import { decodeDataUri } from '../../nodes/FluxKontext/helpers/input-images';
import { plainText } from '../../nodes/FluxKontext/fal/answer';
import { validationProblems } from '../../nodes/FluxKontext/fal/detail';
import { redact } from '../../nodes/FluxKontext/fal/secrets';
import { transportError } from '../../nodes/FluxKontext/fal/socket-errors';
import { endpointOf } from '../../nodes/FluxKontext/fal/endpoints';

describe('SseParser', () => {
	it('yields data of complete events across chunk boundaries, skipping comments', () => {
		const parser = new SseParser();
		expect(parser.feed(': ping\n\ndata: {"a"')).toEqual([]);
		expect(parser.feed(':1}\n')).toEqual([]);
		expect(parser.feed('\ndata: x\r\n\r\ndata:y\ndata:z\n\n')).toEqual(['{"a":1}', 'x', 'y\nz']);
	});

	it('waits for the \\n of a \\r\\n split between chunks', () => {
		const parser = new SseParser();
		expect(parser.feed('data: a\r')).toEqual([]);
		expect(parser.feed('\n\r\n')).toEqual(['a']);
	});
});

describe('retry policy', () => {
	it('retries reads on transient statuses and socket faults, submits only when nothing was queued', () => {
		for (const status of [429, 500, 502, 503, 504])
			expect(shouldRetry('read', { status })).toBe(true);
		for (const status of [400, 401, 403, 404, 422])
			expect(shouldRetry('read', { status })).toBe(false);
		expect(
			shouldRetry('read', { status: 504, headers: { 'X-Fal-Request-Timeout-Type': 'user' } }),
		).toBe(false);
		expect(shouldRetry('read', { code: 'ECONNRESET' })).toBe(true);
		expect(shouldRetry('result', { status: 503 })).toBe(true);
		expect(
			shouldRetry('result', {
				status: 503,
				headers: { 'X-Fal-Error-Type': 'runner_disconnected' },
			}),
		).toBe(false);
		expect(
			shouldRetry('result', { status: 504, body: { detail: 'x', error_type: 'request_timeout' } }),
		).toBe(false);
		expect(shouldRetry('submit', { status: 429 })).toBe(true);
		for (const status of [500, 502, 503, 504])
			expect(shouldRetry('submit', { status })).toBe(false);
		expect(shouldRetry('submit', { code: 'ECONNRESET' })).toBe(false);
		expect(shouldRetry('submit', { code: 'ECONNREFUSED' })).toBe(true);
	});

	it('honours Retry-After (seconds or date), else backs off exponentially with ±25% jitter', () => {
		expect(retryDelayMs(1, { 'retry-after': '2' })).toBe(2000);
		expect(
			parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', Date.parse('Thu, 01 Jan 2026 00:00:00 GMT')),
		).toBe(10_000);
		expect(retryDelayMs(1, undefined, DEFAULT_RETRY, () => 0.5)).toBe(500);
		expect(retryDelayMs(3, undefined, DEFAULT_RETRY, () => 0.5)).toBe(2000);
		expect(retryDelayMs(3, undefined, DEFAULT_RETRY, () => 0)).toBe(1500);
		expect(retryDelayMs(3, undefined, DEFAULT_RETRY, () => 1)).toBe(2500);
		expect(retryDelayMs(20, undefined, DEFAULT_RETRY, () => 1)).toBe(DEFAULT_RETRY.maxMs);
		expect(retryDelayMs(1, { 'Retry-After': '9999' })).toBe(DEFAULT_RETRY.maxMs);
	});
});

describe('URLs', () => {
	const fal =
		'https://queue.fal.run/fal-ai/flux-pro/requests/acf05732-7cb3-445b-9f39-fdaeccb1d730/status';
	it('rebases fal URLs onto a gateway, keeping its path prefix once', () => {
		expect(rebase(fal, 'https://gw.example.com/api/')).toBe(
			'https://gw.example.com/api/fal-ai/flux-pro/requests/acf05732-7cb3-445b-9f39-fdaeccb1d730/status',
		);
		expect(rebase('https://gw.example.com/api/fal-ai/x', 'https://gw.example.com/api')).toBe(
			'https://gw.example.com/api/fal-ai/x',
		);
		expect(
			rebase('https://other.example.com/api/fal-ai/x?logs=1', 'https://gw.example.com/api'),
		).toBe('https://gw.example.com/api/fal-ai/x?logs=1');
	});

	it('adds a path segment to a URL the server handed back before its query, never into it', () => {
		const id = 'acf05732-7cb3-445b-9f39-fdaeccb1d730';
		const cases: Array<[string, string, string]> = [
			// fal's own status URL: no query.
			[fal, 'stream', `${fal}/stream`],
			// A gateway's status URL with a query: the segment goes into the path, the query stays.
			[`${fal}?shard=7`, 'stream', `${fal}/stream?shard=7`],
			[`${fal}?shard=7&logs=1`, 'stream', `${fal}/stream?shard=7&logs=1`],
			// A gateway under a path prefix: the prefix is kept, once.
			[
				`https://gw.example.com/api/v1/fal-ai/flux-pro/requests/${id}/status?shard=7`,
				'stream',
				`https://gw.example.com/api/v1/fal-ai/flux-pro/requests/${id}/status/stream?shard=7`,
			],
			// A trailing slash is not doubled, with or without a query.
			[`${fal}/`, 'stream', `${fal}/stream`],
			[`${fal}/?shard=7`, 'stream', `${fal}/stream?shard=7`],
			// A pre-signed upload URL: part numbers and `complete` before the signature.
			[
				'https://storage.example.com/upload/abc?signature=s%2F1&expires=9',
				'3',
				'https://storage.example.com/upload/abc/3?signature=s%2F1&expires=9',
			],
			[
				'https://storage.example.com/upload/abc/?sig=x',
				'complete',
				'https://storage.example.com/upload/abc/complete?sig=x',
			],
			// A query that itself holds a slash or a question mark is left as it is.
			[`${fal}?next=/a/b?c`, 'stream', `${fal}/stream?next=/a/b?c`],
			// An origin alone.
			['https://gw.example.com', 'x', 'https://gw.example.com/x'],
			['https://gw.example.com?a=1', 'x', 'https://gw.example.com/x?a=1'],
		];
		for (const [url, segment, expected] of cases)
			expect(withPathSegment(url, segment)).toBe(expected);
	});

	it('builds missing URLs from the id, on owner/app only', () => {
		const urls = urlsFromSubmit('https://gw.example.com', 'abc', { status_url: fal });
		expect(urls.status_url).toBe(
			'https://gw.example.com/fal-ai/flux-pro/requests/acf05732-7cb3-445b-9f39-fdaeccb1d730/status',
		);
		expect(urls.response_url).toBe('https://gw.example.com/fal-ai/flux-pro/requests/abc');
		expect(urls.cancel_url).toBe('https://gw.example.com/fal-ai/flux-pro/requests/abc/cancel');
	});

	it('accepts request ids and URLs that contain one, nothing else', () => {
		expect(parseRequestId(' ACF05732-7cb3-445b-9f39-fdaeccb1d730 ')).toBe(
			'acf05732-7cb3-445b-9f39-fdaeccb1d730',
		);
		expect(parseRequestId(fal)).toBe('acf05732-7cb3-445b-9f39-fdaeccb1d730');
		for (const bad of ['', 'abc', '../../etc', 42, undefined, { id: 1 }])
			expect(parseRequestId(bad)).toBeUndefined();
	});

	it('maps models and kinds to fal endpoints', () => {
		expect(endpointOf('pro', 'edit')?.id).toBe('fal-ai/flux-pro/kontext');
		expect(endpointOf('max', 'edit')?.id).toBe('fal-ai/flux-pro/kontext/max');
		expect(endpointOf('pro', 'textToImage')?.id).toBe('fal-ai/flux-pro/kontext/text-to-image');
		expect(endpointOf('max', 'textToImage')?.id).toBe('fal-ai/flux-pro/kontext/max/text-to-image');
		expect(endpointOf('max', 'edit')?.multiId).toBe('fal-ai/flux-pro/kontext/max/multi');
		expect(endpointOf('dev', 'edit')?.id).toBe('fal-ai/flux-kontext/dev');
		expect(endpointOf('lora', 'edit')?.id).toBe('fal-ai/flux-kontext-lora');
		expect(endpointOf('lora', 'textToImage')?.id).toBe('fal-ai/flux-kontext-lora/text-to-image');
		expect(endpointOf('lora', 'inpaint')?.id).toBe('fal-ai/flux-kontext-lora/inpaint');
		expect(endpointOf('dev', 'textToImage')).toBeUndefined();
		expect(endpointOf('pro', 'inpaint')).toBeUndefined();
	});
});

describe('Image URL lists', () => {
	const data = (payload: string) => `data:image/png;base64,${payload}`;
	it.each([
		['https://a.example/1.png', ['https://a.example/1.png']],
		[
			'https://a.example/1.png\nhttps://b.example/2.png',
			['https://a.example/1.png', 'https://b.example/2.png'],
		],
		[
			'https://a.example/1.png, https://b.example/2.png,',
			['https://a.example/1.png', 'https://b.example/2.png'],
		],
		[
			'https://a.example/1.png https://b.example/2.png',
			['https://a.example/1.png', 'https://b.example/2.png'],
		],
		[
			'https://cdn.example/upload/w_400,h_300/a.jpg',
			['https://cdn.example/upload/w_400,h_300/a.jpg'],
		],
		[`${data('iVBORw0KGgo')},${data('AAAA')}`, [data('iVBORw0KGgo'), data('AAAA')]],
		[
			`${data('iVBORw0K\nGgoAAAA\n')}\nhttps://b.example/2.png`,
			[data('iVBORw0K\nGgoAAAA'), 'https://b.example/2.png'],
		],
		['https://a.example/1.png\nnot-a-url', ['https://a.example/1.png', 'not-a-url']],
		[data(''), [data('')]],
		['  \n ', []],
	])('%j', (text, urls) => {
		expect(splitImageUrls(text)).toEqual(urls);
	});
});

describe('Base URL', () => {
	it.each([
		['https://queue.fal.run', undefined],
		['https://gw.example.com/fal/', undefined],
		['ftp://gw.example.com', 'is not an http(s) URL'],
		['https://user:pass@gw.example.com', 'contains a user name or password'],
		['https://user@gw.example.com', 'contains a user name or password'],
		['https://gw.example.com/?key=1', 'has a query string (?...)'],
		['https://gw.example.com/?', 'has a query string (?...)'],
		['https://gw.example.com/#top', 'has a fragment (#...)'],
	])('%s', (url, problem) => {
		expect(baseUrlProblem(url)).toBe(problem);
	});

	it('is shown without its password, query or fragment', () => {
		expect(maskedUrl('https://user:s3cret@gw.example.com/x')).toBe(
			'https://user:***@gw.example.com/x',
		);
		expect(maskedUrl('https://gw.example.com/x?key=s3cret#s3cret')).toBe(
			'https://gw.example.com/x?***#***',
		);
		expect(maskedUrl('https://gw.example.com/x#s3cret')).toBe('https://gw.example.com/x#***');
	});
});

describe('binary helpers', () => {
	it('sniffs image types from magic bytes', () => {
		expect(sniffImageType(Buffer.from('89504e470d0a1a0a0000', 'hex'))).toBe('image/png');
		expect(sniffImageType(Buffer.from('ffd8ffe000104a464946', 'hex'))).toBe('image/jpeg');
		expect(sniffImageType(Buffer.from('GIF89a....'))).toBe('image/gif');
		expect(sniffImageType(Buffer.from('RIFF\0\0\0\0WEBPVP8 '))).toBe('image/webp');
		expect(sniffImageType(Buffer.from('\0\0\0\x1cftypavif'))).toBe('image/avif');
		expect(sniffImageType(Buffer.from('%PDF-1.7 hello'))).toBeUndefined();
	});

	it('decodes data URIs', () => {
		expect(decodeDataUri('data:image/png;base64,AAEC')).toEqual({
			mimeType: 'image/png',
			data: Buffer.from([0, 1, 2]),
		});
		expect(decodeDataUri('data:text/plain,a%20b')?.data.toString()).toBe('a b');
		expect(decodeDataUri('http://x')).toBeUndefined();
	});
});

describe('errors', () => {
	it('names fields of a 422 detail list', () => {
		expect(
			validationProblems({
				detail: [
					{ loc: ['body', 'guidance_scale'], msg: 'Input should be less than or equal to 20' },
				],
			}),
		).toEqual(['Guidance Scale (guidance_scale): Input should be less than or equal to 20']);
	});

	it('turns an HTML error page into its gist, never markup', () => {
		const nginx =
			'<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
		expect(plainText(nginx)).toBe('502 Bad Gateway');
		expect(
			plainText(
				'<!DOCTYPE html><body><script>var x = "<b>";</script><p>Upstream &amp; proxy   failed</p></body>',
			),
		).toBe('Upstream & proxy failed');
		expect(plainText('  Service\n  Unavailable ')).toBe('Service Unavailable');
		expect(plainText('x'.repeat(400))).toHaveLength(300);
		expect(plainText('a < b and c > d')).toBe('a < b and c > d');
		expect(
			plainText(
				'<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>',
			),
		).toBe('AccessDenied Request has expired');
	});

	it('a submit that never reached the server says nothing was queued; one that may have, says so', () => {
		const node = {
			id: '1',
			name: 'FLUX Kontext',
			type: 'fluxKontext',
			typeVersion: 1,
			position: [0, 0] as [number, number],
			parameters: {},
		};
		const context = {
			operation: 'submit' as const,
			itemIndex: 0,
			secrets: [],
			url: 'http://127.0.0.1:9/fal-ai/flux-pro/kontext',
		};
		const refused = transportError(
			node,
			Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
			context,
		);
		expect(refused.message).toBe('Could not reach 127.0.0.1:9: connection refused');
		expect(refused.description).toMatch(
			/^ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:9\. Nothing was queued\./,
		);
		const timedOut = transportError(
			node,
			Object.assign(new Error('timeout of 60000ms exceeded'), { code: 'ECONNABORTED' }),
			context,
		);
		expect(timedOut.message).toBe('The submit may have queued a job: timed out (127.0.0.1:9)');
		expect(timedOut.description).toMatch(
			/The job may have been queued, .* The node did not retry the submit/,
		);
	});

	it('redacts secrets', () => {
		expect(redact('Bearer sk-12345 failed for sk-12345', ['sk-12345'])).toBe(
			'Bearer *** failed for ***',
		);
	});
});

describe('mapWithConcurrency', () => {
	it('keeps order, respects the limit and stops starting tasks when told', async () => {
		let running = 0;
		let peak = 0;
		const results = await mapWithConcurrency(6, 3, async (i) => {
			running++;
			peak = Math.max(peak, running);
			await new Promise((r) => setTimeout(r, (6 - i) * 5));
			running--;
			return i * 10;
		});
		expect(results).toEqual([0, 10, 20, 30, 40, 50]);
		expect(peak).toBe(3);
		let started = 0;
		const partial = await mapWithConcurrency(
			5,
			1,
			async (i) => (started++, i),
			() => started >= 2,
		);
		expect(partial).toEqual([0, 1, undefined, undefined, undefined]);
	});
});

describe("fal's other services (Platform API, storage)", () => {
	it("knows fal's own hosts from a gateway's", () => {
		for (const url of [
			'https://queue.fal.run',
			'https://fal.run/',
			'https://api.fal.ai',
			'https://rest.alpha.fal.ai',
		])
			expect(isFalHost(url)).toBe(true);
		for (const url of [
			'https://fal.run.evil.example',
			'https://notfal.run',
			'http://127.0.0.1:5678',
			'not a url',
		])
			expect(isFalHost(url)).toBe(false);
	});

	it("uses the configured URL, else fal's own only behind fal's own Base URL", () => {
		expect(serviceUrlFor('', 'https://queue.fal.run', 'https://api.fal.ai')).toBe(
			'https://api.fal.ai',
		);
		expect(
			serviceUrlFor(undefined, 'https://gateway.example.com', 'https://api.fal.ai'),
		).toBeUndefined();
		expect(
			serviceUrlFor(
				'  https://prices.example.com/ ',
				'https://gateway.example.com',
				'https://api.fal.ai',
			),
		).toBe('https://prices.example.com');
		expect(
			serviceUrlFor('https://prices.example.com', 'https://queue.fal.run', 'https://api.fal.ai'),
		).toBe('https://prices.example.com');
	});
});

describe('formatUsd', () => {
	it('shows cents, and fractions of a cent when there are any', () => {
		expect(formatUsd(0.48)).toBe('$0.48');
		expect(formatUsd(0.035)).toBe('$0.035');
		expect(formatUsd(12)).toBe('$12.00');
		expect(formatUsd(0.1 + 0.2)).toBe('$0.30');
	});
});

describe('readAll', () => {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const { readAll } =
		require('../../nodes/FluxKontext/transport/signals') as typeof import('../../nodes/FluxKontext/transport/signals');
	const bodyOf = (...parts: string[]) => {
		async function* generate() {
			for (const part of parts) yield Buffer.from(part);
		}
		return Object.assign(generate(), { destroy: () => undefined });
	};

	it.each([
		['the announced size', 6],
		['no size', undefined],
		['a size too small', 4],
		['a size too large', 10],
	])('reads the whole body with %s', async (_name, size) => {
		expect(
			(
				await readAll(bodyOf('abc', 'def'), undefined, 1000, 'test', {
					expectedBytes: size,
					maxBytes: 100,
				})
			).toString(),
		).toBe('abcdef');
	});

	it('refuses a body larger than its limit, announced or not, without reading it all', async () => {
		// A body that counts the chunks taken from it and whether it was destroyed (the connection let go).
		const counted = (parts: number) => {
			const seen = { pulled: 0, destroyed: false };
			async function* generate() {
				for (let n = 0; n < parts; n++) {
					seen.pulled++;
					yield Buffer.from('abc');
				}
			}
			return { seen, body: Object.assign(generate(), { destroy: () => (seen.destroyed = true) }) };
		};
		// Announced too large: refused before a single byte is read.
		const announced = counted(1000);
		await expect(
			readAll(announced.body, undefined, 1000, 'test', { expectedBytes: 1e12, maxBytes: 100 }),
		).rejects.toThrow('it is larger than 100 bytes, more than the node reads');
		expect(announced.seen).toEqual({ pulled: 0, destroyed: true });
		// Not announced: refused at the chunk that crosses the limit, the rest never read.
		const unannounced = counted(1000);
		await expect(
			readAll(unannounced.body, undefined, 1000, 'test', { maxBytes: 4 }),
		).rejects.toThrow('it is larger than 4 bytes, more than the node reads');
		expect(unannounced.seen).toEqual({ pulled: 2, destroyed: true });
		// Limits of a megabyte and more are said in MB.
		await expect(
			readAll(counted(1).body, undefined, 1000, 'test', { expectedBytes: 3e8, maxBytes: 2e8 }),
		).rejects.toThrow('it is larger than 200 MB, more than the node reads');
	});
});
