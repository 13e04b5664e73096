/**
 * Issue 11: input images travel to fal's storage (initiate with the token, then the bytes to a pre-signed URL
 * without it, multipart over 90 MB), the Upload operation, the inline limit, upload failures; and issue 9
 * item 10: every binary input is checked by its bytes before any request.
 *
 * Binary data is in n8n's `filesystem` mode here (n8n 2.x's default in regular mode): inputs are stored by id
 * and the node must stream them from the store.
 */
process.env.N8N_DEFAULT_BINARY_DATA_MODE = 'filesystem';

import { createHash } from 'node:crypto';

import { makePng } from '../support/fake-fal';
import type { FakeFal } from '../support/fake-fal';
import { runWorkflow } from '../support/engine';
import { generatedFileChunks } from '../support/test-nodes';
import {
	credentialsFor,
	editParams,
	requestsOf,
	useFakeFal,
	useTransportSettings,
	VALID_TOKEN,
} from './setup';

const server = useFakeFal();
const transport = useTransportSettings();

/** The fake's storage as the credential's Storage URL (its Base URL, 127.0.0.1, is a gateway's). */
const withStorage = (fal: FakeFal, extra: Record<string, unknown> = {}) =>
	credentialsFor(fal, { storageUrl: fal.storageUrl, ...extra });
const binaryEdit = (overrides: Record<string, unknown> = {}) =>
	editParams({ imageSource: 'binary', ...overrides });
const sha256 = (data: Buffer | Iterable<Buffer>) => {
	const hash = createHash('sha256');
	for (const chunk of Buffer.isBuffer(data) ? [data] : data) hash.update(chunk);
	return hash.digest('hex');
};
const MiB = 1024 * 1024;
/** Every request the fake received, on all three origins. */
const allRequests = (fal: FakeFal) => [...fal.requests, ...fal.storageRequests, ...fal.cdnRequests];

describe('binary inputs go to storage', () => {
	it('uploads the bytes and submits the file URL: initiate with the token, PUT without it', async () => {
		const { fal } = server;
		const png = makePng(16, 9);
		const run = await runWorkflow({
			parameters: binaryEdit(),
			credentials: withStorage(fal),
			items: [{ binary: { data: { data: png, mimeType: 'image/png', fileName: 'kitchen.png' } } }],
		});
		expect(run.error).toBeUndefined();

		const [initiate] = fal.storageRequests;
		expect(fal.storageRequests).toHaveLength(1);
		expect(initiate).toMatchObject({
			method: 'POST',
			path: '/storage/upload/initiate',
			query: { storage_type: 'fal-cdn-v3' },
		});
		expect(initiate.body).toEqual({ content_type: 'image/png', file_name: 'kitchen.png' });
		expect(initiate.headers.authorization).toBe(`Key ${VALID_TOKEN}`);

		const [put] = fal.cdnRequests.filter((r) => r.kind === 'upload');
		expect(put.method).toBe('PUT');
		expect(put.headers.authorization).toBeUndefined();
		expect(put.headers['content-type']).toBe('image/png');
		expect(put.headers['content-length']).toBe(String(png.length));

		const [upload] = fal.uploads.values();
		const [submit] = requestsOf(fal, 'submit');
		expect(submit.body).toEqual({
			prompt: 'Put a donut next to the flour',
			image_url: upload.fileUrl,
		});
		// What fal's runner fetched is the input, byte for byte.
		const [job] = fal.jobs.values();
		expect(job.inputImages).toEqual([
			expect.objectContaining({ source: 'uploaded', contentType: 'image/png' }),
		]);
		expect(job.inputImages[0].bytes?.equals(png)).toBe(true);
		expect(run.output()[0].json.request_id).toBe(job.id);
	});

	it('several binary fields go up in order and become image_urls', async () => {
		const { fal } = server;
		const person = makePng(3, 3);
		const scene = makePng(5, 2);
		const run = await runWorkflow({
			parameters: binaryEdit({ binaryPropertyName: 'person, scene' }),
			credentials: withStorage(fal),
			items: [
				{
					binary: {
						scene: { data: scene, mimeType: 'image/png' },
						person: { data: person, mimeType: 'image/png' },
					},
				},
			],
		});
		expect(run.error).toBeUndefined();
		const [job] = fal.jobs.values();
		expect(job.endpoint).toBe('fal-ai/flux-pro/kontext/multi');
		expect(job.inputImages.map((image) => image.bytes && sha256(image.bytes))).toEqual([
			sha256(person),
			sha256(scene),
		]);
	});

	it('a 95 MB input takes the multipart path: 10 MB parts, then complete, streamed from the store', async () => {
		const { fal } = server;
		const size = 95 * MiB;
		const run = await runWorkflow({
			parameters: binaryEdit({ options: { downloadImages: false } }),
			credentials: withStorage(fal),
			items: [
				{
					binary: { data: { generateBytes: size, mimeType: 'image/png', fileName: 'poster.png' } },
				},
			],
		});
		expect(run.error).toBeUndefined();
		expect(fal.storageRequests.map((r) => r.path)).toEqual(['/storage/upload/initiate-multipart']);
		const parts = fal.cdnRequests.filter((r) => r.kind === 'upload');
		expect(parts.map((r) => r.path.split('/').pop())).toEqual([
			'1',
			'2',
			'3',
			'4',
			'5',
			'6',
			'7',
			'8',
			'9',
			'10',
		]);
		expect(parts.map((r) => r.bodyBytes)).toEqual([...Array(9).fill(10 * MiB), 5 * MiB]);
		expect(parts.every((r) => r.headers.authorization === undefined)).toBe(true);
		const [complete] = fal.cdnRequests.filter((r) => r.kind === 'complete');
		expect((complete.body as { parts: unknown[] }).parts).toHaveLength(10);
		const [job] = fal.jobs.values();
		expect(job.inputImages[0].bytes?.length).toBe(size);
		// The items source generated the file with seed 1 (item 0).
		expect(sha256(job.inputImages[0].bytes!)).toBe(sha256(generatedFileChunks(size, 1)));
	}, 60_000);
});

describe('where uploads go', () => {
	it('a gateway Base URL with no Storage URL uploads nothing: the image goes inline, the storage origin hears nothing', async () => {
		const { fal } = server;
		const png = makePng(4, 4);
		const run = await runWorkflow({
			parameters: binaryEdit(),
			credentials: credentialsFor(fal),
			items: [{ binary: { data: { data: png, mimeType: 'image/png' } } }],
		});
		expect(run.error).toBeUndefined();
		expect(fal.storageRequests).toHaveLength(0);
		expect(fal.cdnRequests.filter((r) => r.kind === 'upload')).toHaveLength(0);
		expect((requestsOf(fal, 'submit')[0].body as { image_url: string }).image_url).toBe(
			`data:image/png;base64,${png.toString('base64')}`,
		);
	});

	it('Always Upload without a storage is refused before any request', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: binaryEdit({ options: { imageUpload: 'always' } }),
			credentials: credentialsFor(fal),
			items: [{ binary: { data: { data: makePng(2, 2), mimeType: 'image/png' } } }],
		});
		expect(run.error?.message).toBe(
			'Image Upload: is Always Upload, but the credential has no storage',
		);
		expect(run.error?.description).toMatch(/Storage URL/);
		expect(allRequests(fal)).toHaveLength(0);
	});

	it('Never sends inline even when the credential has a storage', async () => {
		const { fal } = server;
		const png = makePng(4, 4);
		const run = await runWorkflow({
			parameters: binaryEdit({ options: { imageUpload: 'never' } }),
			credentials: withStorage(fal),
			items: [{ binary: { data: { data: png, mimeType: 'image/png' } } }],
		});
		expect(run.error).toBeUndefined();
		expect(fal.storageRequests).toHaveLength(0);
		expect(
			(requestsOf(fal, 'submit')[0].body as { image_url: string }).image_url.startsWith(
				'data:image/png;base64,',
			),
		).toBe(true);
	});

	it('a Storage URL that is not an http(s) URL is refused before any request', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: binaryEdit(),
			credentials: credentialsFor(fal, { storageUrl: 'rest.example.com' }),
			items: [{ binary: { data: { data: makePng(2, 2), mimeType: 'image/png' } } }],
		});
		expect(run.error?.message).toBe('Storage URL: "rest.example.com" is not an http(s) URL');
		expect(allRequests(fal)).toHaveLength(0);
	});
});

describe('the inline limit (10 MB)', () => {
	const big = 11 * MiB;

	it('an 11 MB binary with no storage is refused before any request, saying how to send it', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: binaryEdit(),
			credentials: credentialsFor(fal),
			items: [
				{ binary: { data: { generateBytes: big, mimeType: 'image/png', fileName: 'big.png' } } },
			],
		});
		expect(run.error?.message).toBe(
			'Input Binary Field: "data" (big.png) is 11.0 MB, over the 10.0 MB limit of images sent inline',
		);
		expect(run.error?.description).toMatch(/http\(s\) URL.*Storage URL/);
		expect(allRequests(fal)).toHaveLength(0);
	});

	it('a data URL over the limit typed into Image URL is refused without storage, and uploaded with it', async () => {
		const { fal } = server;
		const bytes = Buffer.concat([...generatedFileChunks(big, 7)]);
		const dataUrl = `data:image/png;base64,${bytes.toString('base64')}`;
		const refused = await runWorkflow({
			parameters: editParams({ imageUrl: dataUrl }),
			credentials: credentialsFor(fal),
		});
		expect(refused.error?.message).toBe(
			'Image URL: is 11.0 MB, over the 10.0 MB limit of images sent inline',
		);
		expect(allRequests(fal)).toHaveLength(0);

		const run = await runWorkflow({
			parameters: editParams({ imageUrl: dataUrl, options: { downloadImages: false } }),
			credentials: withStorage(fal),
		});
		expect(run.error).toBeUndefined();
		const [upload] = fal.uploads.values();
		expect((requestsOf(fal, 'submit')[0].body as { image_url: string }).image_url).toBe(
			upload.fileUrl,
		);
		expect([...fal.jobs.values()][0].inputImages[0].bytes?.equals(bytes)).toBe(true);
	});

	it('a small data URL stays inline as typed, storage or not', async () => {
		const { fal } = server;
		const dataUrl = `data:image/png;base64,${makePng(4, 4).toString('base64')}`;
		const run = await runWorkflow({
			parameters: editParams({ imageUrl: dataUrl }),
			credentials: withStorage(fal),
		});
		expect(run.error).toBeUndefined();
		expect(fal.storageRequests).toHaveLength(0);
		expect((requestsOf(fal, 'submit')[0].body as { image_url: string }).image_url).toBe(dataUrl);
	});
});

describe('binary inputs are checked by their bytes (issue 9, item 10)', () => {
	it.each([
		['empty', Buffer.alloc(0), /"data" is empty \(0 bytes\)/, undefined],
		[
			'a PDF',
			Buffer.from('%PDF-1.7\n1 0 obj'),
			/"data" is not an image \(image\/png, photo\.png\)/,
			/a PDF document/,
		],
		[
			'text',
			Buffer.from('hello, I am not a picture'),
			/"data" is not an image \(image\/png, photo\.png\)/,
			/plain text/,
		],
	])(
		'a binary typed image/png that is %s is refused before any request',
		async (_what, data, message, description) => {
			const { fal } = server;
			const run = await runWorkflow({
				parameters: binaryEdit(),
				credentials: withStorage(fal),
				items: [{ binary: { data: { data, mimeType: 'image/png', fileName: 'photo.png' } } }],
			});
			expect(run.error?.message).toMatch(message);
			if (description) expect(run.error?.description).toMatch(description);
			expect(allRequests(fal)).toHaveLength(0);
		},
	);

	it('the type sent is the one the bytes show, not the one declared', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: binaryEdit(),
			credentials: withStorage(fal),
			items: [
				{
					binary: { data: { data: makePng(2, 2), mimeType: 'image/jpeg', fileName: 'photo.jpg' } },
				},
			],
		});
		expect(run.error).toBeUndefined();
		expect((fal.storageRequests[0].body as { content_type: string }).content_type).toBe(
			'image/png',
		);
	});
});

describe('upload failures', () => {
	const runOne = (fal: FakeFal, continueOnFail = false) =>
		runWorkflow({
			parameters: binaryEdit(),
			credentials: withStorage(fal),
			items: [
				{ binary: { data: { data: makePng(8, 8), mimeType: 'image/png', fileName: 'photo.png' } } },
			],
			continueOnFail,
		});
	const host = (url: string) => new URL(url).host;

	it('initiate refused: says which step and host, submits nothing', async () => {
		const { fal } = server;
		fal.inject({
			kind: 'initiate',
			status: 403,
			body: { detail: 'Storage is not enabled for this key' },
		});
		const run = await runOne(fal);
		expect(run.error?.message).toBe(
			`Uploading "data" (photo.png) to storage failed while starting the upload: ${host(fal.storageUrl)} answered 403: Storage is not enabled for this key`,
		);
		expect(run.error?.description).toMatch(
			/refused the token.*Nothing was submitted to fal for this item, so nothing was billed/,
		);
		expect(requestsOf(fal, 'submit')).toHaveLength(0);
	});

	it('the PUT refused: the item fails (Continue On Fail keeps the error), nothing is submitted', async () => {
		const { fal } = server;
		fal.inject({
			kind: 'upload',
			status: 403,
			body: '<Error><Code>SignatureDoesNotMatch</Code></Error>',
			headers: { 'content-type': 'application/xml' },
		});
		const run = await runOne(fal, true);
		const [item] = run.output();
		expect(item.json.error).toMatch(
			new RegExp(
				`^Uploading "data" \\(photo\\.png\\) to storage failed while sending the bytes: ${host(fal.cdnUrl)} answered 403`,
			),
		);
		expect(item.json.request_id).toBeUndefined();
		expect(requestsOf(fal, 'submit')).toHaveLength(0);
	});

	it('a transient failure of initiate is retried as reads are, and the upload goes on', async () => {
		const { fal } = server;
		fal.inject({ kind: 'initiate', status: 503, headers: { 'retry-after': '0' } });
		const run = await runOne(fal);
		expect(run.error).toBeUndefined();
		expect(fal.storageRequests).toHaveLength(2);
		expect(requestsOf(fal, 'submit')).toHaveLength(1);
	});

	it('a PUT that fails once is retried with the bytes streamed again from the store: the file arrives whole', async () => {
		const { fal } = server;
		fal.inject({ kind: 'upload', status: 503, headers: { 'retry-after': '0' } });
		const run = await runWorkflow({
			parameters: binaryEdit({ options: { downloadImages: false } }),
			credentials: withStorage(fal),
			items: [{ binary: { data: { generateBytes: 2 * MiB + 3, mimeType: 'image/png' } } }],
		});
		expect(run.error).toBeUndefined();
		expect(fal.cdnRequests.filter((r) => r.kind === 'upload').map((r) => r.bodyBytes)).toEqual([
			2 * MiB + 3,
			2 * MiB + 3,
		]);
		expect(sha256([...fal.jobs.values()][0].inputImages[0].bytes!)).toBe(
			sha256(generatedFileChunks(2 * MiB + 3, 1)),
		);
	});

	it('a storage host that cannot be reached: retried, then the item fails naming the host; nothing is submitted', async () => {
		const { fal } = server;
		Object.assign(transport.retry, { baseMs: 5, maxMs: 20 });
		const run = await runWorkflow({
			parameters: binaryEdit(),
			credentials: withStorage(fal, { storageUrl: 'http://127.0.0.1:9' }),
			items: [
				{ binary: { data: { data: makePng(8, 8), mimeType: 'image/png', fileName: 'photo.png' } } },
			],
		});
		expect(run.error?.message).toBe(
			'Uploading "data" (photo.png) to storage failed while starting the upload: Could not reach 127.0.0.1:9: connection refused',
		);
		expect(run.error?.description).toMatch(
			/Storage URL.*Nothing was submitted to fal for this item, so nothing was billed/,
		);
		expect(requestsOf(fal, 'submit')).toHaveLength(0);
	});

	it('a PUT that stalls ends on its deadline, counts as a failed attempt, and is retried', async () => {
		const { fal } = server;
		Object.assign(transport.retry, { baseMs: 5, maxMs: 20 });
		transport.deadlines.upload = 300;
		fal.inject({ kind: 'upload', hang: true });
		const run = await runOne(fal);
		expect(run.error).toBeUndefined();
		expect(fal.cdnRequests.filter((r) => r.kind === 'upload')).toHaveLength(2);
		expect(requestsOf(fal, 'submit')).toHaveLength(1);
	});

	it('Stop ends an upload that hangs at once, and nothing is submitted', async () => {
		const { fal } = server;
		fal.inject({ kind: 'upload', hang: true });
		const run = await runWorkflow({
			parameters: binaryEdit(),
			credentials: withStorage(fal),
			items: [{ binary: { data: { data: makePng(8, 8), mimeType: 'image/png' } } }],
			cancelAfterMs: 300,
		});
		expect(run.status).toBe('canceled');
		// The upload's own deadline is minutes: ending within seconds means Stop ended it.
		expect(run.durationMs).toBeLessThan(10_000);
		expect(fal.cdnRequests.filter((r) => r.kind === 'upload')).toHaveLength(1);
		expect(requestsOf(fal, 'submit')).toHaveLength(0);
	});

	it('an initiate answer without upload_url is a failure of the item, not a crash', async () => {
		const { fal } = server;
		fal.inject({
			kind: 'initiate',
			status: 200,
			body: { file_url: 'https://cdn.example.com/x.png' },
		});
		const run = await runOne(fal);
		expect(run.error?.message).toMatch(
			/while starting the upload: .* answered 200: the answer has no http\(s\) upload_url and file_url/,
		);
		expect(requestsOf(fal, 'submit')).toHaveLength(0);
	});
});

describe('File > Upload', () => {
	const uploadParams = (overrides: Record<string, unknown> = {}) => ({
		resource: 'file',
		operation: 'upload',
		...overrides,
	});

	it('outputs file_url, content_type, file_name and file_size, keeps the binary, and an Edit can use the URL', async () => {
		const { fal } = server;
		const png = makePng(10, 10);
		const run = await runWorkflow({
			parameters: uploadParams(),
			credentials: withStorage(fal),
			items: [
				{
					json: { topic: 'kitchen' },
					binary: { data: { data: png, mimeType: 'image/png', fileName: 'kitchen.png' } },
				},
			],
			then: [{ name: 'Edit', parameters: editParams({ imageUrl: '={{ $json.file_url }}' }) }],
		});
		expect(run.error).toBeUndefined();
		const [item] = run.output();
		const [upload] = fal.uploads.values();
		expect(item.json).toEqual({
			file_url: upload.fileUrl,
			content_type: 'image/png',
			file_name: 'kitchen.png',
			file_size: png.length,
		});
		expect(item.binary?.data.data.equals(png)).toBe(true);
		expect(item.pairedItem).toEqual({ item: 0 });
		const [job] = fal.jobs.values();
		expect(job.input.image_url).toBe(upload.fileUrl);
		expect(job.inputImages[0].bytes?.equals(png)).toBe(true);
		expect(run.output('Edit')[0].json.request_id).toBe(job.id);
	});

	it('Keep Binary off outputs only the URL and its details', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: uploadParams({ binaryPropertyName: 'photo', options: { keepBinary: false } }),
			credentials: withStorage(fal),
			items: [{ binary: { photo: { data: makePng(3, 3), mimeType: 'image/png' } } }],
		});
		expect(run.error).toBeUndefined();
		const [item] = run.output();
		expect(item.binary).toBeUndefined();
		expect(item.json).toMatchObject({ content_type: 'image/png', file_name: 'photo.png' });
	});

	it('without storage it is refused before any request', async () => {
		const { fal } = server;
		const run = await runWorkflow({
			parameters: uploadParams(),
			credentials: credentialsFor(fal),
			items: [{ binary: { data: { data: makePng(3, 3), mimeType: 'image/png' } } }],
		});
		expect(run.error?.message).toBe('Upload: the credential has no storage to upload to');
		expect(allRequests(fal)).toHaveLength(0);
	});
});
