import type { IDataObject, INode, JsonObject } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { DEFAULT_BASE_URL, FAL_HEADERS, FIELD_LABELS } from './constants';
import { parseRequestId } from './urls';

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

const OPERATION_WORDS: Record<Operation, string> = {
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

/**
 * Socket failures that prove a request never reached the server: after a submit, nothing can have
 * been queued.
 */
export const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * What to tell the user after a submit whose outcome is unknown (5xx, reset, timeout, a 2xx that is
 * not a job handle): fal may have queued, and will bill, the job. Running the item again blindly
 * may pay twice.
 */
function mayHaveQueued(requestId: string | undefined): string {
	const check = requestId
		? `use Get Status with request id ${requestId}, or look in fal's request list (fal.ai/dashboard) or your gateway's`
		: "look for it in fal's request list (fal.ai/dashboard) or your gateway's; if you find it, Get Status and Get Result take its request id";
	return `The job may have been queued, and fal bills a queued job. The node did not retry the submit, so that it is not paid twice. Before running this item again, ${check}.`;
}

/**
 * Turns a fal answer that is not a success into a NodeApiError in fal's own words, with what to do
 * about it. `secrets` are scrubbed from everything the user could see.
 */
export function falApiError(
	node: INode,
	answer: FalAnswer,
	context: { operation: Operation; itemIndex: number; requestId?: string; secrets: string[] },
): NodeApiError {
	const { statusCode: status } = answer;
	const detail = detailText(answer.body);
	const errorType = errorTypeOf(answer);
	// A submit whose outcome is unknown (5xx, or 2xx without a job handle) may have queued a job.
	const unknownSubmit =
		context.operation === 'submit' && (status >= 500 || (status >= 200 && status < 300));
	// Such an answer may still name its request (fal's clients read this header too).
	const id =
		context.requestId ??
		(unknownSubmit ? parseRequestId(headerValue(answer.headers, 'x-fal-request-id')) : undefined);
	let message: string;
	let description: string;
	if (status === 401) {
		message = 'fal rejected the token (401 Unauthorized)';
		description =
			'Check the API key in the FLUX Kontext credential. fal.ai itself expects the "Key" scheme, gateways usually "Bearer": leave Auth Scheme on Auto unless your provider says otherwise.';
	} else if (status === 403) {
		message = `fal refused the request (403): ${detail ?? 'forbidden'}`;
		description = /locked|balance/i.test(detail ?? '')
			? "The account behind this token cannot run jobs: top up its balance in fal's dashboard (fal.ai/dashboard/billing) or at your gateway, then run again."
			: 'The token is valid but may not use this model or request. Check its permissions with your provider.';
	} else if (status === 404 && id) {
		message = `Request ${id} was not found (404)`;
		description =
			'The request id is wrong, or its result has expired: fal keeps results for about an hour after completion (about 6 minutes for large results). Submit the job again to get a new one.';
	} else if (status === 404 || status === 405) {
		message = `fal has no such endpoint (${status}): ${detail ?? 'not found'}`;
		description = `Check the Base URL in the credential: it must be fal's queue host (${DEFAULT_BASE_URL}) or a gateway that mirrors fal's paths.`;
	} else if (status === 422) {
		const fields = validationProblems(answer.body);
		message = fields.length
			? `fal rejected the input: ${fields.join('; ')}`
			: `fal rejected the input (422): ${detail ?? ''}`;
		description =
			'Fix the named field and run again. Note that fal bills a rejected job like a finished one.';
	} else if (status === 429) {
		message = `fal is rate limiting this account (429): ${detail ?? 'too many requests'}`;
		description = `${context.operation === 'submit' ? 'Nothing was queued. ' : ''}The node retried with backoff and gave up. Lower Max Concurrent Requests, or try again later.`;
	} else if (status === 400 && /in progress|not completed|in queue/i.test(detail ?? '')) {
		message = id ? `Request ${id} has not finished yet` : 'The request has not finished yet';
		description =
			'Use Get Status to follow it, or run Get Result again once its status is COMPLETED.';
	} else if (isStartTimeout(answer)) {
		message = `The job was not started in time, not billed (${status}): ${detail ?? 'start deadline passed'}`;
		description =
			"fal dropped it because it did not start within Start Timeout (X-Fal-Request-Timeout), and did not run or bill it. Raise Start Timeout, or run the item again when fal's queue is shorter.";
	} else if (unknownSubmit) {
		const what =
			status >= 500
				? `${errorType ? ` (${errorType})` : ''}: ${detail ?? 'server error'}`
				: ` without a job handle${detail ? `: ${detail}` : ''}`;
		message = `The submit may have queued a job: fal answered ${status}${what}`;
		description = mayHaveQueued(id);
	} else if (status >= 500 && errorType) {
		message = `fal failed to run the job (${status}, ${errorType}): ${detail ?? 'server error'}`;
		description = "The job failed on fal's side (fal does not bill it). Run the item again.";
	} else if (status >= 500) {
		message = `fal answered ${status} to ${OPERATION_WORDS[context.operation]}: ${detail ?? 'server error'}`;
		description = `A fault at fal or at a proxy in between; the node retried with backoff and gave up.${
			id && context.operation !== 'cancel'
				? ` The job itself may have finished: fetch it later with Get Result and request id ${id}.`
				: ''
		}`;
	} else {
		message = `fal answered ${status}: ${detail ?? 'unexpected response'}`;
		description = `During ${context.operation}.`;
	}
	if (id && !description.includes(id)) description += ` Request id: ${id}.`;
	const error = new NodeApiError(node, redactDeep(errorPayload(answer), context.secrets), {
		message: redact(message, context.secrets),
		description: redact(description, context.secrets),
		httpCode: String(status),
		itemIndex: context.itemIndex,
	});
	if (unknownSubmit) Object.assign(error, { mayHaveQueued: true });
	// The job's own stored failure (or fal's start deadline): fal did not run or bill it.
	if (isStartTimeout(answer) || (status >= 500 && errorType && context.operation === 'result'))
		Object.assign(error, { jobFailed: true });
	return tagRequest(error, id);
}

/** A job that fal reports COMPLETED with an `error`: a failure of the item, never a success. */
export function jobFailedError(
	node: INode,
	status: IDataObject,
	context: { itemIndex: number; requestId: string; secrets: string[] },
): NodeApiError {
	const errorType = errorTypeOf({ body: status });
	const text =
		typeof status.error === 'string' ? status.error : (detailText(status) ?? 'unknown error');
	// No `status` key in the payload: NodeApiError would take "COMPLETED" for an HTTP code.
	const payload = redactDeep(
		{ jobStatus: 'COMPLETED', error: text, error_type: errorType ?? null },
		context.secrets,
	);
	const error = new NodeApiError(node, payload, {
		message: redact(
			`The job failed on fal: ${text}${errorType ? ` (${errorType})` : ''}`,
			context.secrets,
		),
		description: redact(
			`fal reported the request as completed with an error. Request id: ${context.requestId}.`,
			context.secrets,
		),
		itemIndex: context.itemIndex,
	});
	return tagRequest(error, context.requestId);
}

/** What went wrong with one image of a finished job's result. */
export interface ImageProblem {
	/** 0-based position in the result's `images`, and how many there are. */
	index: number;
	count: number;
	/** Where the download went; absent when the result gave no usable URL. */
	url?: string;
	/** What happened, in words: "answered 404 (Not Found)", "has no URL (it holds ...)", ... */
	problem: string;
	httpCode?: number;
}

/**
 * One image of a finished job could not be downloaded or read. The job itself succeeded and is
 * billed: the message says so, so that nobody submits (and pays for) the job again to get a file.
 */
export function imageError(
	node: INode,
	image: ImageProblem,
	context: { itemIndex: number; requestId?: string; secrets: string[] },
): NodeApiError {
	const id = context.requestId;
	const which = `Image ${image.index + 1} of ${image.count}`;
	const message = image.url
		? `${which} could not be downloaded from ${safeHost(image.url)}: ${image.problem}`
		: `${which} in the result ${image.problem}`;
	const description = `The job itself succeeded${id ? ` (request ${id})` : ''} and is billed: do not submit it again. ${
		id ? 'Get Result with this request id' : 'Get Result'
	} outputs its result with every image URL while fal keeps it (about an hour); turn off Download Images to output the URLs without downloading them.`;
	const payload = {
		image: image.index + 1,
		host: image.url ? safeHost(image.url) : null,
		problem: image.problem,
		...(image.httpCode ? { httpCode: image.httpCode } : {}),
	};
	const error = new NodeApiError(node, redactDeep(payload, context.secrets), {
		message: redact(message, context.secrets),
		description: redact(description, context.secrets),
		...(image.httpCode ? { httpCode: String(image.httpCode) } : {}),
		itemIndex: context.itemIndex,
	});
	return tagRequest(error, id);
}

/**
 * A finished job whose result holds no images: an error of the item, not a silent success. The job
 * may have been billed, and a downstream node expecting the image would fail later with a less
 * useful message.
 */
export function noImagesError(
	node: INode,
	result: IDataObject,
	context: { itemIndex: number; requestId: string; secrets: string[] },
): NodeApiError {
	const { images } = result;
	const what =
		images === undefined
			? 'has no "images" field'
			: Array.isArray(images)
				? 'has an empty "images" list'
				: `has "images" that is not a list (${shortJson(images)})`;
	const error = new NodeApiError(
		node,
		redactDeep({ jobStatus: 'COMPLETED', result: shortJson(result, 2000) }, context.secrets),
		{
			message: `The job finished without images: its result ${what}`,
			description: redact(
				`fal reported request ${context.requestId} as finished, and may have billed it. The result holds: ${shortJson(result)}. Look at it with Get Result and this request id, or in fal's request list (fal.ai/dashboard) or your gateway's, before running the item again.`,
				context.secrets,
			),
			itemIndex: context.itemIndex,
		},
	);
	return tagRequest(error, context.requestId);
}

/**
 * Socket failures in words: n8n replaces any error message that contains the raw code with a
 * generic one.
 */
const SOCKET_FAILURES: Record<string, string> = {
	ECONNREFUSED: 'connection refused',
	ECONNRESET: 'connection reset',
	ETIMEDOUT: 'timed out',
	ECONNABORTED: 'timed out',
	EPIPE: 'connection closed',
	ENOTFOUND: 'host not found',
	EAI_AGAIN: 'name lookup failed',
};

/**
 * A failure below HTTP (connection refused, reset, DNS): scrubbed, with the socket code in the
 * description.
 */
export function transportError(
	node: INode,
	error: unknown,
	context: {
		operation: Operation;
		itemIndex: number;
		requestId?: string;
		secrets: string[];
		url: string;
	},
): NodeApiError {
	const code = errorCode(error);
	const reason = redact(error instanceof Error ? error.message : String(error), context.secrets);
	const host = safeHost(context.url);
	const what = (code && SOCKET_FAILURES[code]) ?? 'no answer';
	const cause = `${code ? `${code}: ` : ''}${reason}.`;
	const notSent = !!code && NOT_SENT_CODES.has(code);
	let message = `Could not reach ${host}: ${what}`;
	let description = `${cause} Check the Base URL in the credential and the network between n8n and ${host}.${context.requestId ? ` Request id: ${context.requestId}.` : ''}`;
	if (context.operation === 'submit' && notSent) {
		description = `${cause} Nothing was queued. Check the Base URL in the credential and the network between n8n and ${host}.`;
	} else if (context.operation === 'submit') {
		message = `The submit may have queued a job: ${what} (${host})`;
		description = `${cause} ${mayHaveQueued(context.requestId)}`;
	}
	// The payload's key is not `code` either, for the same reason.
	const apiError = new NodeApiError(node, { socketError: code ?? null, reason } as JsonObject, {
		message,
		description,
		itemIndex: context.itemIndex,
	});
	if (context.operation === 'submit' && !notSent) Object.assign(apiError, { mayHaveQueued: true });
	return tagRequest(apiError, context.requestId);
}

/** The socket-level error code of a failed request, looking through wrapped causes. */
export function errorCode(error: unknown, depth = 0): string | undefined {
	if (!error || typeof error !== 'object' || depth > 5) return undefined;
	const { code, cause, errorResponse } = error as {
		code?: unknown;
		cause?: unknown;
		errorResponse?: { socketError?: unknown };
	};
	if (
		typeof code === 'string' &&
		/^[A-Z_]+$/.test(code) &&
		code !== 'ERR_BAD_REQUEST' &&
		code !== 'ERR_BAD_RESPONSE'
	)
		return code;
	// A transportError keeps the code in its payload.
	if (typeof errorResponse?.socketError === 'string') return errorResponse.socketError;
	return errorCode(cause, depth + 1);
}

/** A failed exchange in a few words: "connection reset", or the error's own message. */
export function failureWords(error: unknown): string {
	const code = errorCode(error);
	return (
		(code && SOCKET_FAILURES[code]) ?? (error instanceof Error ? error.message : String(error))
	);
}

/**
 * Whether an error is a submit's that may have queued a paid job (a 5xx, a reset, a stall, an
 * answer without a handle).
 */
export function mayHaveQueuedJob(error: unknown): boolean {
	return (error as { mayHaveQueued?: unknown } | undefined)?.mayHaveQueued === true;
}

/**
 * Whether an error is a job's own failure at fal (its stored 5xx with an error type, or fal's start
 * deadline): not billed.
 */
export function jobFailedAtFal(error: unknown): boolean {
	return (error as { jobFailed?: unknown } | undefined)?.jobFailed === true;
}

/**
 * The request id an error belongs to, so that Continue On Fail can output it: no submitted job goes
 * unseen.
 */
export function requestIdOf(error: unknown): string | undefined {
	const id = (error as { requestId?: unknown } | undefined)?.requestId;
	return typeof id === 'string' ? id : undefined;
}

export function tagRequest<E extends NodeApiError | NodeOperationError>(
	error: E,
	requestId: string | undefined,
): E {
	if (requestId) Object.assign(error, { requestId });
	return error;
}

/** Replaces every secret in a text (tokens must never reach output, messages or logs). */
export function redact(text: string, secrets: string[]): string {
	let out = text;
	for (const secret of secrets) {
		if (secret && secret.length >= 4) out = out.split(secret).join('***');
	}
	return out;
}

/**
 * A JSON value with every secret replaced, however deep it sits (error payloads are stored with
 * executions).
 */
export function redactDeep(value: IDataObject, secrets: string[]): JsonObject {
	return JSON.parse(
		redact(
			JSON.stringify(value),
			secrets.map((secret) => JSON.stringify(secret).slice(1, -1)),
		),
	) as JsonObject;
}

/** `detail` of a fal error body, as text. */
export function detailText(body: unknown): string | undefined {
	if (typeof body === 'string') return plainText(body) || undefined;
	if (!body || typeof body !== 'object') return undefined;
	const { detail, error, message } = body as IDataObject;
	if (typeof detail === 'string') return detail;
	if (Array.isArray(detail)) return validationProblems(body).join('; ') || undefined;
	if (typeof error === 'string') return error;
	if (typeof message === 'string') return message;
	return undefined;
}

/** fal's 422 `detail` list as "Guidance Scale (guidance_scale): Input should be ..." lines. */
export function validationProblems(body: unknown): string[] {
	const detail = (body as IDataObject | undefined)?.detail;
	if (!Array.isArray(detail)) return [];
	return detail.map((entry) => {
		const { loc, msg } = (entry ?? {}) as { loc?: unknown; msg?: unknown };
		const path = Array.isArray(loc) ? loc.filter((part) => part !== 'body').map(String) : [];
		const field = path[0];
		const label =
			field && FIELD_LABELS[field]
				? `${FIELD_LABELS[field]} (${path.join('.')})`
				: path.join('.') || 'input';
		return `${label}: ${typeof msg === 'string' ? msg : 'invalid'}`;
	});
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
function isStartTimeout(answer: FalAnswer): boolean {
	return (
		answer.statusCode === 504 &&
		headerValue(answer.headers, FAL_HEADERS.startTimeoutType)?.toLowerCase() === 'user'
	);
}

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

/**
 * The gist of a body read whole, when it is text (JSON, HTML, XML, plain): fal's `detail`, a page's
 * title, the text.
 */
export function bodyGist(bytes: Buffer, contentType: string | undefined): string | undefined {
	if (!/json|text|html|xml/i.test(contentType ?? '')) return undefined;
	const text = bytes.toString('utf8');
	try {
		return detailText(JSON.parse(text)) ?? detailText(text);
	} catch {
		return detailText(text);
	}
}

const HTML_ENTITIES: Record<string, string> = {
	amp: '&',
	lt: '<',
	gt: '>',
	quot: '"',
	'#39': "'",
	nbsp: ' ',
};

function errorPayload(answer: FalAnswer): IDataObject {
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
