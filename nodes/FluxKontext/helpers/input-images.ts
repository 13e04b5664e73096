/**
 * Input images: an n8n binary field or a data URL, checked by its first bytes before any request,
 * readable as a stream (for an upload) or as one buffer (for an inline data URL).
 */
import type { IBinaryData, IExecuteFunctions } from 'n8n-workflow';

import { ACCEPTED_IMAGE_TYPES } from '../fal/constants';
import type { InputChecker } from './validation';
import { ACCEPTED_TYPES_TEXT, sniffImageType } from './validation';

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
	field = 'Input Binary Field',
): Promise<InputImage> {
	const itemIndex = check.itemIndex;
	const item = ctx.getInputData()[itemIndex];
	const meta: IBinaryData | undefined = item?.binary?.[propertyName];
	if (!meta) {
		const present = Object.keys(item?.binary ?? {});
		check.fail(
			field,
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
			field,
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
