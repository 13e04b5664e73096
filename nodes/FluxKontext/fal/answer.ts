/**
 * What fal answered, read for a message: the answer's pieces, its headers, its body as short text,
 * and the words for each exchange.
 */

import type { IDataObject } from 'n8n-workflow';

import { FAL_HEADERS } from './constants';

/** What fal answered: the pieces of an HTTP response that error messages are made from. */
export interface FalAnswer {
	statusCode: number;
	headers: Record<string, unknown>;
	body: unknown;
}

export type Operation =
	| 'submit'
	| 'status'
	| 'result'
	| 'cancel'
	| 'download'
	| 'stream'
	| 'pricing'
	| 'initiate'
	| 'upload';

export const OPERATION_WORDS: Record<Operation, string> = {
	submit: 'the submit',
	status: 'a status request',
	result: 'the result request',
	cancel: 'the cancel',
	download: 'an image download',
	stream: 'the status stream',
	pricing: 'the price request',
	initiate: 'starting a storage upload',
	upload: 'a storage upload',
};

/** A header's value, whatever the case of its name; the first one of a list. */
export function headerValue(
	headers: Record<string, unknown> | undefined,
	name: string,
): string | undefined {
	if (!headers) return undefined;
	const key = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
	const value = key === undefined ? undefined : headers[key];
	if (Array.isArray(value)) return value.length ? String(value[0]) : undefined;
	return value === undefined || value === null ? undefined : String(value);
}

/**
 * fal's error type of an answer (`error_type` in the body, or the `X-Fal-Error-Type` header): set
 * when the job itself failed.
 */
export function errorTypeOf(answer: {
	body?: unknown;
	headers?: Record<string, unknown>;
}): string | undefined {
	const fromBody = (answer.body as { error_type?: unknown } | null | undefined)?.error_type;
	return typeof fromBody === 'string' ? fromBody : headerValue(answer.headers, 'x-fal-error-type');
}

/**
 * fal's 504 for a job whose own start deadline (the Start Timeout option) passed before it ran:
 * never billed.
 */
export function isStartTimeout(answer: FalAnswer): boolean {
	return (
		answer.statusCode === 504 &&
		headerValue(answer.headers, FAL_HEADERS.startTimeoutType)?.toLowerCase() === 'user'
	);
}

/**
 * A body as short plain text: an HTML page (a proxy's "502 Bad Gateway") becomes its title, or its
 * text without markup (an XML error, as storage CDNs send, too); any text is cut to `max`
 * characters with whitespace collapsed.
 */
export function plainText(body: string, max = 300): string {
	let text = body;
	if (/^\s*</.test(text) || /<(!doctype|html|head|body|title|h1|center|div|p)\b/i.test(text)) {
		const title =
			/<title[^>]*>([\s\S]*?)<\/title>/i.exec(text)?.[1] ??
			/<h1[^>]*>([\s\S]*?)<\/h1>/i.exec(text)?.[1];
		text = (title ?? text.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ' ')).replace(
			/<[^>]*>/g,
			' ',
		);
		text = text.replace(
			/&(amp|lt|gt|quot|#39|nbsp);/g,
			(_, entity: string) => HTML_ENTITIES[entity],
		);
	}
	text = text.replace(/\s+/g, ' ').trim();
	return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

const HTML_ENTITIES: Record<string, string> = {
	amp: '&',
	lt: '<',
	gt: '>',
	quot: '"',
	'#39': "'",
	nbsp: ' ',
};

export function errorPayload(answer: FalAnswer): IDataObject {
	const body = answer.body;
	return {
		httpCode: answer.statusCode,
		body:
			body && typeof body === 'object' && !isStream(body)
				? (body as IDataObject)
				: typeof body === 'string'
					? plainText(body, 2000)
					: null,
	};
}

/** A value as JSON text of at most `max` characters. */
export function shortJson(value: unknown, max = 200): string {
	const text = JSON.stringify(value) ?? String(value);
	return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function isStream(value: object): boolean {
	return typeof (value as { pipe?: unknown }).pipe === 'function';
}

/** A URL's host for a message, or `fallback` when it is not a URL. */
export function safeHost(url: string, fallback = 'the server'): string {
	try {
		return new URL(url).host;
	} catch {
		return fallback;
	}
}
