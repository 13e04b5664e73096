/**
 * A finished job's images as n8n binary data: downloaded (or decoded from sync mode's data URIs),
 * checked by their bytes, named `flux-kontext-<request id>-<n>.<ext>`.
 */
import type { IBinaryData, IBinaryKeyData, IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { CallOptions, FalClient } from '../transport';
import { anySignal } from '../transport/signals';
import { ACCEPTED_IMAGE_TYPES } from '../fal/constants';
import type { ImageProblem } from '../fal/errors';
import { headerValue, shortJson } from '../fal/answer';
import { bodyGist } from '../fal/detail';
import { failureWords } from '../fal/socket-errors';
import { parseHttpUrl } from '../fal/urls';
import { decodeDataUri } from './input-images';
import { shorten, sniffImageType } from './validation';

/** The binary property names of output image n: `data`, `data_1`, `data_2`, ... */
export function binaryKey(prefix: string, index: number): string {
	return index === 0 ? prefix : `${prefix}_${index}`;
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
