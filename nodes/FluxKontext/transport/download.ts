import type { IExecuteFunctions } from 'n8n-workflow';

import type { FalAnswer } from '../fal/answer';
import { headerValue } from '../fal/answer';
import { parseHttpUrl, sameOrigin } from '../fal/urls';
import { DEADLINES_MS, IDLE_MS, MAX_IMAGE_BYTES } from './deadlines';
import type { CallOptions, Exchange } from './exchange';
import { discard } from './exchange';
import type { ByteStream } from './signals';
import { readAll } from './signals';

/** Redirect statuses a download follows (by hand), and how many hops at most. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_DOWNLOAD_REDIRECTS = 5;

/**
 * Downloads a result image, whole (an idle deadline between bytes: a server that trickles or
 * stalls fails the attempt). Same-origin URLs (a gateway serving files itself) go with the
 * credential; any other origin (fal's CDN) without it. A same-origin redirect is followed by hand,
 * so that the credential goes only where it may: a gateway that redirects to its CDN gets the file
 * fetched from there without the token.
 */
export async function downloadImage(
	ctx: IExecuteFunctions,
	exchange: Exchange,
	baseUrl: string,
	url: string,
	options: CallOptions,
): Promise<FalAnswer & { body: Buffer | unknown }> {
	const read = async (answer: FalAnswer): Promise<FalAnswer> => ({
		...answer,
		body: await readAll(
			answer.body as ByteStream,
			options.signal,
			IDLE_MS.download,
			'image download',
			{
				expectedBytes: Number(headerValue(answer.headers, 'content-length')),
				maxBytes: MAX_IMAGE_BYTES,
			},
		),
	});
	let current = url;
	for (let hops = 0; sameOrigin(current, baseUrl); hops++) {
		const answer = await exchange.withCredential(
			'read',
			'download',
			{ method: 'GET', url: current, encoding: 'stream' },
			options,
		);
		const location = REDIRECTS.has(answer.statusCode)
			? headerValue(answer.headers, 'location')
			: undefined;
		const next = location === undefined ? undefined : parseHttpUrl(location, current);
		if (!next || hops >= MAX_DOWNLOAD_REDIRECTS) return await read(answer);
		discard(answer);
		current = next.href;
	}
	const answer = await exchange.withRetries(
		'read',
		'download',
		current,
		options,
		async (signal) =>
			(await ctx.helpers.httpRequest({
				method: 'GET',
				url: current,
				encoding: 'stream',
				returnFullResponse: true,
				ignoreHttpStatusErrors: true,
				abortSignal: signal,
				timeout: DEADLINES_MS.download,
			})) as FalAnswer,
	);
	return await read(answer);
}
