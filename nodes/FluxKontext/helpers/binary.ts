import type { IBinaryData, IBinaryKeyData, IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { CallOptions, FalClient } from '../transport';
import { ACCEPTED_IMAGE_TYPES } from '../fal/constants';
import type { InputChecker } from './validation';
import { ACCEPTED_TYPES_TEXT, sniffImageType } from './validation';

const EXTENSIONS: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/gif': 'gif', 'image/avif': 'avif' };

/** The binary property names of output image n: `data`, `data_1`, `data_2`, ... */
export function binaryKey(prefix: string, index: number): string {
	return index === 0 ? prefix : `${prefix}_${index}`;
}

/**
 * Reads an image from a binary property of the input item and returns it as a data URL, the form fal accepts
 * inline. Refuses a missing property or a file that is not an image of a type fal accepts.
 */
export async function binaryToDataUrl(ctx: IExecuteFunctions, check: InputChecker, propertyName: string): Promise<string> {
	const item = ctx.getInputData()[check.itemIndex];
	const meta: IBinaryData | undefined = item?.binary?.[propertyName];
	if (!meta) {
		const present = Object.keys(item?.binary ?? {});
		check.fail(
			'Input Binary Field',
			`the input item has no binary field "${propertyName}"`,
			present.length ? `Use one of: ${present.join(', ')}` : 'The input item has no binary data: add a node that reads or downloads the image first',
		);
	}
	const buffer = await ctx.helpers.getBinaryDataBuffer(check.itemIndex, propertyName);
	const declared = (meta.mimeType ?? '').toLowerCase();
	const mime = ACCEPTED_IMAGE_TYPES[declared] ? declared.replace('image/jpg', 'image/jpeg') : sniffImageType(buffer);
	if (!mime) {
		check.fail(
			'Input Binary Field',
			`"${propertyName}" is not an image (${meta.mimeType || 'unknown type'}${meta.fileName ? `, ${meta.fileName}` : ''})`,
			`Give a ${ACCEPTED_TYPES_TEXT} image`,
		);
	}
	return `data:${mime};base64,${buffer.toString('base64')}`;
}

/** Decodes a `data:` URI (fal's sync mode returns images inline). */
export function decodeDataUri(uri: string): { mimeType: string; data: Buffer } | undefined {
	const match = /^data:([^;,]*)((?:;[^;,]*)*?),(.*)$/s.exec(uri);
	if (!match) return undefined;
	const mimeType = match[1] || 'application/octet-stream';
	const isBase64 = /;base64/i.test(match[2]);
	return { mimeType, data: isBase64 ? Buffer.from(match[3], 'base64') : Buffer.from(decodeURIComponent(match[3]), 'utf8') };
}

/**
 * Downloads (or decodes) the images of a result, all at once, and stores each as n8n binary data under
 * `data`, `data_1`, ... Each download is read whole (under an idle deadline, and ended at once by the item's
 * signal) before it goes to n8n's binary data store.
 */
export async function imagesToBinary(
	ctx: IExecuteFunctions,
	client: FalClient,
	images: IDataObject[],
	options: CallOptions & { prefix: string },
): Promise<IBinaryKeyData> {
	const entries = await Promise.all(
		images.map(async (image, index): Promise<[string, IBinaryData]> => {
			const url = typeof image.url === 'string' ? image.url : '';
			const declared = typeof image.content_type === 'string' ? image.content_type : undefined;
			let content: Buffer;
			let mimeType: string | undefined = declared;
			if (url.startsWith('data:')) {
				const decoded = decodeDataUri(url);
				if (!decoded) throw client.apiError({ statusCode: 200, headers: {}, body: { detail: `Image ${index + 1} is a malformed data URI` } }, 'download', options);
				content = decoded.data;
				mimeType = decoded.mimeType;
			} else {
				const answer = await client.download(url, options);
				if (answer.statusCode < 200 || answer.statusCode >= 300) {
					throw client.apiError({ ...answer, body: `Downloading image ${index + 1} failed` }, 'download', options);
				}
				content = answer.body as Buffer;
				const header = answer.headers['content-type'];
				if (typeof header === 'string' && header.startsWith('image/')) mimeType = header.split(';')[0].trim();
			}
			const fileName = typeof image.file_name === 'string' && image.file_name ? image.file_name : defaultFileName(options.requestId, index, mimeType);
			const binary = await ctx.helpers.prepareBinaryData(content, fileName, mimeType);
			return [binaryKey(options.prefix, index), binary];
		}),
	);
	return Object.fromEntries(entries);
}

function defaultFileName(requestId: string | undefined, index: number, mimeType: string | undefined): string {
	const extension = (mimeType && EXTENSIONS[mimeType]) ?? 'jpg';
	return `flux-kontext-${(requestId ?? 'image').slice(0, 8)}-${index + 1}.${extension}`;
}
