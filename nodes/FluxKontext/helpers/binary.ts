import type { IBinaryData, IBinaryKeyData, IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { CallOptions, FalClient } from '../transport';
import { ACCEPTED_IMAGE_TYPES } from '../fal/constants';
import type { ImageProblem } from '../fal/errors';
import { bodyGist, failureWords, headerValue, shortJson } from '../fal/errors';
import { parseHttpUrl } from '../fal/urls';
import type { InputChecker } from './validation';
import { ACCEPTED_TYPES_TEXT, shorten, sniffImageType } from './validation';

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
	try {
		return { mimeType, data: isBase64 ? Buffer.from(match[3], 'base64') : Buffer.from(decodeURIComponent(match[3]), 'utf8') };
	} catch {
		return undefined;
	}
}

/**
 * The images of a finished job's result. A result without any (an empty list, no list) fails the item: the job
 * may have been billed, and a silent success would leave downstream nodes without the image they expect.
 */
export function resultImages(client: FalClient, result: IDataObject, options: CallOptions & { requestId: string }): IDataObject[] {
	if (!Array.isArray(result.images) || result.images.length === 0) throw client.noImages(result, options);
	return result.images as IDataObject[];
}

/**
 * Downloads (or decodes) the images of a result, all at once, and stores each as n8n binary data under
 * `data`, `data_1`, ... Each download is read whole (under an idle deadline, and ended at once by the item's
 * signal) before it goes to n8n's binary data store. The bytes decide the MIME type: an image whose bytes are
 * not one (an HTML error page served with 200) is a failed download of that image, never a file stored as
 * image/jpeg.
 */
export async function imagesToBinary(
	ctx: IExecuteFunctions,
	client: FalClient,
	images: unknown[],
	options: CallOptions & { prefix: string },
): Promise<IBinaryKeyData> {
	const entries = await Promise.all(
		images.map(async (image, index): Promise<[string, IBinaryData]> => {
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
				if (!mimeType) throw fail(`is a data URI that holds no image (declared ${decoded.mimeType}, ${decoded.data.length} bytes)`);
				content = decoded.data;
			} else if (!parseHttpUrl(url) || !/^https?:\/\//i.test(url)) {
				throw fail(`has a URL that is not an absolute http(s) URL: "${shorten(url)}"`);
			} else {
				// An interruption (Stop, halt, Timeout) passes through in its own words; any other failure is this image's.
				const answer = await client.download(url, options).catch((error: unknown) => {
					throw options.signal?.aborted ? error : fail(failureWords(error), { url });
				});
				content = answer.body as Buffer;
				const served = headerValue(answer.headers, 'content-type')?.split(';')[0].trim() || 'no content type';
				const gist = bodyGist(content, served);
				if (answer.statusCode < 200 || answer.statusCode >= 300) {
					throw fail(`answered ${answer.statusCode}${gist ? `: ${gist}` : ` (${served})`}`, { url, httpCode: answer.statusCode });
				}
				mimeType = sniffImageType(content);
				if (!mimeType) {
					const what = content.length ? `${served}${gist ? ` ("${gist}")` : ''}` : 'an empty body';
					throw fail(`answered ${answer.statusCode} with ${what}, not an image`, { url, httpCode: answer.statusCode });
				}
			}
			const fileName = typeof entry.file_name === 'string' && entry.file_name ? entry.file_name : defaultFileName(options.requestId, index, mimeType);
			const binary = await ctx.helpers.prepareBinaryData(content, fileName, mimeType);
			return [binaryKey(options.prefix, index), binary];
		}),
	);
	return Object.fromEntries(entries);
}

function defaultFileName(requestId: string | undefined, index: number, mimeType: string): string {
	return `flux-kontext-${(requestId ?? 'image').slice(0, 8)}-${index + 1}.${ACCEPTED_IMAGE_TYPES[mimeType] ?? 'jpg'}`;
}
