import type { IBinaryData, IBinaryKeyData, IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { CallOptions, FalClient } from '../transport';
import { anySignal } from '../transport/signals';
import { ACCEPTED_IMAGE_TYPES } from '../fal/constants';
import type { ImageProblem } from '../fal/errors';
import { headerValue, shortJson } from '../fal/answer';
import { bodyGist } from '../fal/detail';
import { failureWords } from '../fal/socket-errors';
import { parseHttpUrl } from '../fal/urls';
import type { InputChecker } from './validation';
import { ACCEPTED_TYPES_TEXT, shorten, sniffImageType } from './validation';

/** The binary property names of output image n: `data`, `data_1`, `data_2`, ... */
export function binaryKey(prefix: string, index: number): string {
	return index === 0 ? prefix : `${prefix}_${index}`;
}

/** A stream from n8n's binary data store (a Node Readable, typed without importing node:stream). */
export type BinaryStream = Awaited<ReturnType<IExecuteFunctions['helpers']['getBinaryStream']>>;

/**
 * An input image, checked by its bytes, with its size known and its bytes readable without another
 * copy: what an upload streams to fal's storage, or (small images only) what goes inline as a data
 * URL.
 */
export interface InputImage {
	/** How messages name it: `"photo" (photo.png)` or `Image URL 2`. */
	label: string;
	fileName: string;
	/** The type its bytes show, whatever the binary's MIME type claimed. */
	mimeType: string;
	size: number;
	/**
	 * The bytes for one send: a stream from n8n's binary store (a new one per call), or the buffer in
	 * memory.
	 */
	content(): Promise<Buffer | BinaryStream>;
	/** The bytes as one buffer: only for inline data URLs, which are small. */
	buffer(): Promise<Buffer>;
	/**
	 * Closes what was opened to check the bytes, when they are not sent after all (a refusal, a
	 * failed upload).
	 */
	close(): void;
}

/**
 * Reads the binary property of the input item as an image. Refuses a missing property, an empty
 * file and anything whose first bytes are not a JPEG, PNG, WebP, GIF or AVIF, whatever its MIME
 * type says, before any request. Binary data stored by id (n8n's filesystem, database or S3 modes)
 * is streamed from the store: only its first chunk is read here, and kept for the upload.
 */
export async function readBinaryImage(
	ctx: IExecuteFunctions,
	check: InputChecker,
	propertyName: string,
): Promise<InputImage> {
	const itemIndex = check.itemIndex;
	const item = ctx.getInputData()[itemIndex];
	const meta: IBinaryData | undefined = item?.binary?.[propertyName];
	if (!meta) {
		const present = Object.keys(item?.binary ?? {});
		check.fail(
			'Input Binary Field',
			`the input item has no binary field "${propertyName}"`,
			present.length
				? `Use one of: ${present.join(', ')}`
				: 'The input item has no binary data: add a node that reads or downloads the image first',
		);
	}
	let size: number;
	let head: Buffer;
	let content: () => Promise<Buffer | BinaryStream>;
	let buffer: () => Promise<Buffer>;
	let close = () => {};
	if (meta.id) {
		const id = meta.id;
		size =
			typeof meta.bytes === 'number'
				? meta.bytes
				: (await ctx.helpers.getBinaryMetadata(id)).fileSize;
		let opened: BinaryStream | undefined = await ctx.helpers.getBinaryStream(id);
		head = await peek(opened);
		content = async () => {
			const stream = opened ?? (await ctx.helpers.getBinaryStream(id));
			opened = undefined;
			return stream;
		};
		close = () => {
			opened?.destroy();
			opened = undefined;
		};
		buffer = async () => {
			close();
			return await ctx.helpers.getBinaryDataBuffer(itemIndex, propertyName);
		};
	} else {
		const bytes = await ctx.helpers.getBinaryDataBuffer(itemIndex, propertyName);
		size = bytes.length;
		head = bytes;
		content = buffer = async () => bytes;
	}
	const label = `"${propertyName}"${meta.fileName ? ` (${meta.fileName})` : ''}`;
	const mimeType = sniffImageType(head);
	if (!mimeType) {
		close();
		check.fail(
			'Input Binary Field',
			size === 0
				? `"${propertyName}" is empty (0 bytes)`
				: `"${propertyName}" is not an image ` +
						`(${meta.mimeType || 'unknown type'}${meta.fileName ? `, ${meta.fileName}` : ''})`,
			`Give a ${ACCEPTED_TYPES_TEXT} ` +
				`image${size === 0 ? '' : `; its first bytes show ${describeBytes(head)}`}`,
		);
	}
	const fileName = meta.fileName || `${propertyName}.${ACCEPTED_IMAGE_TYPES[mimeType]}`;
	return { label, fileName, mimeType, size, content, buffer, close };
}

/**
 * An image given as a data URL (typed into Image URL), decoded, for an upload. The checker has
 * vetted its form.
 */
export function dataUrlImage(check: InputChecker, dataUrl: string, field: string): InputImage {
	const bytes = decodeDataUri(dataUrl)?.data ?? Buffer.alloc(0);
	const mimeType = sniffImageType(bytes);
	if (!mimeType)
		check.fail(
			field,
			'is a data URL whose bytes are not an image',
			`Give a ${ACCEPTED_TYPES_TEXT} image`,
		);
	const read = async () => bytes;
	return {
		label: field,
		fileName: `image.${ACCEPTED_IMAGE_TYPES[mimeType]}`,
		mimeType,
		size: bytes.length,
		content: read,
		buffer: read,
		close: () => {},
	};
}

/** The decoded size of a base64 data URL, without decoding it. */
export function dataUrlBytes(dataUrl: string): number {
	const payload = dataUrl.slice(dataUrl.indexOf(',') + 1).replace(/\s+/g, '');
	const padding = payload.endsWith('==') ? 2 : payload.endsWith('=') ? 1 : 0;
	return Math.floor((payload.length * 3) / 4) - padding;
}

/** An image inline, as a base64 data URL. */
export async function toDataUrl(image: InputImage): Promise<string> {
	return `data:${image.mimeType};base64,${(await image.buffer()).toString('base64')}`;
}

/**
 * The first chunk of a stream, put back so that the stream still yields every byte; empty for an
 * empty stream.
 */
async function peek(stream: BinaryStream): Promise<Buffer> {
	return await new Promise((resolve, reject) => {
		const cleanup = () => {
			stream.off('readable', onReadable);
			stream.off('end', onEnd);
			stream.off('error', onError);
		};
		const onReadable = () => {
			const chunk = stream.read() as Buffer | null;
			if (chunk === null) return;
			stream.unshift(chunk);
			cleanup();
			resolve(chunk);
		};
		const onEnd = () => {
			cleanup();
			resolve(Buffer.alloc(0));
		};
		const onError = (error: Error) => {
			cleanup();
			reject(error);
		};
		stream.on('readable', onReadable);
		stream.once('end', onEnd);
		stream.once('error', onError);
	});
}

/** What bytes that are not an image look like, for the error message. */
function describeBytes(head: Buffer): string {
	const text = head.subarray(0, 64).toString('latin1');
	if (text.startsWith('%PDF')) return 'a PDF document';
	if (/^\s*</.test(text)) return 'HTML or XML text';
	if (/^[\t\n\r\x20-\x7e]*$/.test(text)) return 'plain text';
	return 'an unknown format';
}

/** Decodes a `data:` URI (fal's sync mode returns images inline). */
export function decodeDataUri(uri: string): { mimeType: string; data: Buffer } | undefined {
	const match = /^data:([^;,]*)((?:;[^;,]*)*?),(.*)$/s.exec(uri);
	if (!match) return undefined;
	const mimeType = match[1] || 'application/octet-stream';
	const isBase64 = /;base64/i.test(match[2]);
	try {
		return {
			mimeType,
			data: isBase64
				? Buffer.from(match[3], 'base64')
				: Buffer.from(decodeURIComponent(match[3]), 'utf8'),
		};
	} catch {
		return undefined;
	}
}

/**
 * The images of a finished job's result. A result without any (an empty list, no list) fails the
 * item: the job may have been billed, and a silent success would leave downstream nodes without the
 * image they expect.
 */
export function resultImages(
	client: FalClient,
	result: IDataObject,
	options: CallOptions & { requestId: string },
): IDataObject[] {
	if (!Array.isArray(result.images) || result.images.length === 0)
		throw client.noImages(result, options);
	return result.images as IDataObject[];
}

/**
 * Downloads (or decodes) the images of a result, all at once, and stores each as n8n binary data
 * under `data`, `data_1`, ... Each download is read whole (under an idle deadline, and ended at
 * once by the item's signal) before it goes to n8n's binary data store. The bytes decide the MIME
 * type: an image whose bytes are not one (an HTML error page served with 200) is a failed download
 * of that image, never a file stored as image/jpeg.
 */
export async function imagesToBinary(
	ctx: IExecuteFunctions,
	client: FalClient,
	images: unknown[],
	itemOptions: CallOptions & { prefix: string },
): Promise<IBinaryKeyData> {
	// One image failing fails the item: the other downloads stop too rather than run on unseen.
	const siblings = new AbortController();
	const options = { ...itemOptions, signal: anySignal(itemOptions.signal, siblings.signal) };
	const downloads = images.map(async (image, index) => await imageToBinary(image, index));
	for (const download of downloads) download.catch((error: unknown) => siblings.abort(error));
	return Object.fromEntries(await Promise.all(downloads));

	async function imageToBinary(image: unknown, index: number): Promise<[string, IBinaryData]> {
		const fail = (problem: string, more: Pick<ImageProblem, 'url' | 'httpCode'> = {}) =>
			client.imageFailed({ index, count: images.length, problem, ...more }, options);
		const entry = (image && typeof image === 'object' ? image : {}) as IDataObject;
		const url = typeof entry.url === 'string' ? entry.url.trim() : '';
		let content: Buffer;
		let mimeType: string | undefined;
		if (url === '') {
			throw fail(`has no URL (it holds ${shortJson(image)})`);
		} else if (url.startsWith('data:')) {
			const decoded = decodeDataUri(url);
			if (!decoded) throw fail('is a malformed data URI');
			mimeType = sniffImageType(decoded.data);
			if (!mimeType)
				throw fail(
					`is a data URI that holds no image (declared ${decoded.mimeType}, ` +
						`${decoded.data.length} bytes)`,
				);
			content = decoded.data;
		} else if (!parseHttpUrl(url) || !/^https?:\/\//i.test(url)) {
			throw fail(`has a URL that is not an absolute http(s) URL: "${shorten(url)}"`);
		} else {
			// An interruption (Stop, halt, Timeout) passes through in its own words; any other failure is
			// this image's.
			const answer = await client.download(url, options).catch((error: unknown) => {
				throw options.signal?.aborted ? error : fail(failureWords(error), { url });
			});
			content = answer.body as Buffer;
			const served =
				headerValue(answer.headers, 'content-type')?.split(';')[0].trim() || 'no content type';
			const gist = bodyGist(content, served);
			if (answer.statusCode < 200 || answer.statusCode >= 300) {
				throw fail(`answered ${answer.statusCode}${gist ? `: ${gist}` : ` (${served})`}`, {
					url,
					httpCode: answer.statusCode,
				});
			}
			mimeType = sniffImageType(content);
			if (!mimeType) {
				const what = content.length ? `${served}${gist ? ` ("${gist}")` : ''}` : 'an empty body';
				throw fail(`answered ${answer.statusCode} with ${what}, not an image`, {
					url,
					httpCode: answer.statusCode,
				});
			}
		}
		const fileName =
			typeof entry.file_name === 'string' && entry.file_name
				? entry.file_name
				: defaultFileName(options.requestId, index, mimeType);
		const binary = await ctx.helpers.prepareBinaryData(content, fileName, mimeType);
		return [binaryKey(options.prefix, index), binary];
	}
}

function defaultFileName(requestId: string | undefined, index: number, mimeType: string): string {
	const extension = ACCEPTED_IMAGE_TYPES[mimeType] ?? 'jpg';
	return `flux-kontext-${(requestId ?? 'image').slice(0, 8)}-${index + 1}.${extension}`;
}
