import type { IDataObject } from 'n8n-workflow';

import type { UploadStep } from '../fal/storage';
import { MULTIPART_THRESHOLD_BYTES, PART_BYTES } from '../fal/storage';
import { parseHttpUrl, withPathSegment } from '../fal/urls';
import type { CallOptions, FalClient } from '../transport';
import type { BinaryStream, InputImage } from './input-images';

/**
 * Uploads an input image to the storage host as fal's own clients do, and returns its `file_url`
 * for the job: initiate with the credential, then the bytes to the pre-signed `upload_url` without
 * it (in 10 MB parts when the file is over 90 MB). The bytes stream from n8n's binary store; a
 * multipart upload holds one part at a time. Every failure is an error of the item naming the step
 * and the host. The caller checks that storage applies.
 */
export async function uploadImage(
	client: FalClient,
	image: InputImage,
	options: CallOptions,
): Promise<string> {
	const multipart = image.size > MULTIPART_THRESHOLD_BYTES;
	const storage = client.storageUrl ?? '';
	const { upload_url: uploadUrl, file_url: fileUrl } = await step<{
		upload_url: string;
		file_url: string;
	}>(client, image, { step: 'initiate', url: storage }, options, async () => {
		const answer = await client.initiateUpload(
			{ contentType: image.mimeType, fileName: image.fileName },
			multipart,
			options,
		);
		const body = (answer.body ?? {}) as IDataObject;
		const ok = answer.statusCode >= 200 && answer.statusCode < 300;
		if (ok && isHttpUrl(body.upload_url) && isHttpUrl(body.file_url))
			return { upload_url: body.upload_url, file_url: body.file_url };
		return {
			answer: ok
				? { ...answer, body: { detail: 'the answer has no http(s) upload_url and file_url' } }
				: answer,
		};
	});
	if (!multipart) {
		await send(
			client,
			image,
			{ step: 'upload', url: uploadUrl },
			options,
			async () =>
				await client.sendToStorage(
					'PUT',
					uploadUrl,
					image.content,
					{ 'Content-Type': image.mimeType, 'Content-Length': String(image.size) },
					options,
				),
		);
		return fileUrl;
	}
	const at = (suffix: string) => withPathSegment(uploadUrl, suffix);
	const parts: Array<{ partNumber: number; etag: string }> = [];
	for await (const part of partsOf(await image.content(), PART_BYTES)) {
		const partNumber = parts.length + 1;
		const answer = await send(
			client,
			image,
			{ step: 'part', url: at(String(partNumber)), part: partNumber },
			options,
			async () =>
				await client.sendToStorage(
					'PUT',
					at(String(partNumber)),
					async () => part,
					{ 'Content-Length': String(part.length) },
					options,
				),
		);
		const etag = (answer.body as IDataObject | undefined)?.etag;
		if (typeof etag !== 'string') {
			throw client.uploadError(
				{ step: 'part', url: at(String(partNumber)), file: image.label, part: partNumber },
				{ answer: { ...answer, body: { detail: 'the answer has no etag' } } },
				options,
			);
		}
		parts.push({ partNumber, etag });
	}
	await send(
		client,
		image,
		{ step: 'complete', url: at('complete') },
		options,
		async () =>
			await client.sendToStorage('POST', at('complete'), async () => ({ parts }), {}, options),
	);
	return fileUrl;
}

type StepContext = { step: UploadStep; url: string; part?: number };
type Answer = Awaited<ReturnType<FalClient['sendToStorage']>>;

/**
 * Runs one step; a failure to get an answer, or an answer that is no success, becomes the item's
 * upload error.
 */
async function step<T extends object>(
	client: FalClient,
	image: InputImage,
	context: StepContext,
	options: CallOptions,
	run: () => Promise<T | { answer: Answer }>,
): Promise<T> {
	let outcome: T | { answer: Answer };
	try {
		outcome = await run();
	} catch (error) {
		throw client.uploadError({ ...context, file: image.label }, { error }, options);
	}
	if ('answer' in outcome)
		throw client.uploadError(
			{ ...context, file: image.label },
			{ answer: outcome.answer },
			options,
		);
	return outcome;
}

/** A step whose success is any 2xx answer. */
async function send(
	client: FalClient,
	image: InputImage,
	context: StepContext,
	options: CallOptions,
	run: () => Promise<Answer>,
): Promise<Answer> {
	const { ok } = await step<{ ok: Answer }>(client, image, context, options, async () => {
		const answer = await run();
		return answer.statusCode >= 200 && answer.statusCode < 300 ? { ok: answer } : { answer };
	});
	return ok;
}

/**
 * The bytes in parts of `size` (the last may be shorter), holding at most one part (plus one chunk)
 * at a time.
 */
async function* partsOf(content: Buffer | BinaryStream, size: number): AsyncGenerator<Buffer> {
	if (Buffer.isBuffer(content)) {
		for (let offset = 0; offset < content.length; offset += size)
			yield content.subarray(offset, offset + size);
		return;
	}
	let pending: Buffer[] = [];
	let length = 0;
	for await (const chunk of content as AsyncIterable<Buffer>) {
		pending.push(chunk);
		length += chunk.length;
		while (length >= size) {
			const joined = Buffer.concat(pending, length);
			yield joined.subarray(0, size);
			pending = [joined.subarray(size)];
			length -= size;
		}
	}
	if (length > 0) yield Buffer.concat(pending, length);
}

function isHttpUrl(value: unknown): value is string {
	return typeof value === 'string' && parseHttpUrl(value) !== undefined;
}
