import type { IDataObject, INode, JsonObject } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { FAL_HEADERS, FIELD_LABELS } from './constants';

/** What fal answered: the pieces of an HTTP response that error messages are made from. */
export interface FalAnswer {
	statusCode: number;
	headers: Record<string, unknown>;
	body: unknown;
}

export type Operation = 'submit' | 'status' | 'result' | 'cancel' | 'download' | 'stream' | 'pricing';

/**
 * Turns a fal answer that is not a success into a NodeApiError in fal's own words, with what to do about it.
 * `secrets` are scrubbed from everything the user could see.
 */
export function falApiError(
	node: INode,
	answer: FalAnswer,
	context: { operation: Operation; itemIndex: number; requestId?: string; secrets: string[] },
): NodeApiError {
	const { statusCode: status } = answer;
	const detail = detailText(answer.body);
	const errorType = errorTypeOf(answer);
	const id = context.requestId;
	let message: string;
	let description: string;
	if (status === 401) {
		message = 'fal rejected the token (401 Unauthorized)';
		description =
			'Check the API key in the FLUX Kontext credential. fal.ai itself expects the "Key" scheme, gateways usually "Bearer": leave Auth Scheme on Auto unless your provider says otherwise.';
	} else if (status === 403) {
		message = `fal refused the request (403): ${detail ?? 'forbidden'}`;
		description = /locked|balance/i.test(detail ?? '')
			? 'The account behind this token cannot run jobs: top up its balance in fal\'s dashboard (fal.ai/dashboard/billing) or at your gateway, then run again.'
			: 'The token is valid but may not use this model or request. Check its permissions with your provider.';
	} else if (status === 404 && id) {
		message = `Request ${id} was not found (404)`;
		description =
			'The request id is wrong, or its result has expired: fal keeps results for about an hour after completion (about 6 minutes for large results). Submit the job again to get a new one.';
	} else if (status === 404 || status === 405) {
		message = `fal has no such endpoint (${status}): ${detail ?? 'not found'}`;
		description = 'Check the Base URL in the credential: it must be fal\'s queue host (https://queue.fal.run) or a gateway that mirrors fal\'s paths.';
	} else if (status === 422) {
		const fields = validationProblems(answer.body);
		message = fields.length ? `fal rejected the input: ${fields.join('; ')}` : `fal rejected the input (422): ${detail ?? ''}`;
		description = 'Fix the named field and run again. Note that fal bills a rejected job like a finished one.';
	} else if (status === 429) {
		message = `fal is rate limiting this account (429): ${detail ?? 'too many requests'}`;
		description = 'The node retried with backoff and gave up. Lower Max Concurrent Requests, or try again later.';
	} else if (status === 400 && /in progress|not completed|in queue/i.test(detail ?? '')) {
		message = id ? `Request ${id} has not finished yet` : 'The request has not finished yet';
		description = 'Use Get Status to follow it, or run Get Result again once its status is COMPLETED.';
	} else if (isStartTimeout(answer)) {
		message = `The job was not started in time, not billed (${status}): ${detail ?? 'start deadline passed'}`;
		description =
			'fal dropped it because it did not start within Start Timeout (X-Fal-Request-Timeout), and did not run or bill it. Raise Start Timeout, or run the item again when fal\'s queue is shorter.';
	} else if (status >= 500) {
		message = `fal failed to run the job (${status}${errorType ? `, ${errorType}` : ''}): ${detail ?? 'server error'}`;
		description = errorType
			? 'The job failed on fal\'s side (fal does not bill it). Run the item again.'
			: 'A fault on fal\'s side (fal does not bill it). The node retried with backoff. Run the item again.';
	} else {
		message = `fal answered ${status}: ${detail ?? 'unexpected response'}`;
		description = `During ${context.operation}.`;
	}
	if (id) description += ` Request id: ${id}.`;
	const error = new NodeApiError(node, redactDeep(errorPayload(answer), context.secrets), {
		message: redact(message, context.secrets),
		description: redact(description, context.secrets),
		httpCode: String(status),
		itemIndex: context.itemIndex,
	});
	return tagRequest(error, id);
}

/** A job that fal reports COMPLETED with an `error`: a failure of the item, never a success. */
export function jobFailedError(
	node: INode,
	status: IDataObject,
	context: { itemIndex: number; requestId: string; secrets: string[] },
): NodeApiError {
	const errorType = typeof status.error_type === 'string' ? status.error_type : undefined;
	const text = typeof status.error === 'string' ? status.error : detailText(status) ?? 'unknown error';
	// No `status` key in the payload: NodeApiError would take "COMPLETED" for an HTTP code.
	const payload = redactDeep({ jobStatus: 'COMPLETED', error: text, error_type: errorType ?? null }, context.secrets);
	const error = new NodeApiError(node, payload, {
		message: redact(`The job failed on fal: ${text}${errorType ? ` (${errorType})` : ''}`, context.secrets),
		description: redact(`fal reported the request as completed with an error. Request id: ${context.requestId}.`, context.secrets),
		itemIndex: context.itemIndex,
	});
	return tagRequest(error, context.requestId);
}

/** Socket failures in words: n8n replaces any error message that contains the raw code with a generic one. */
const SOCKET_FAILURES: Record<string, string> = {
	ECONNREFUSED: 'connection refused',
	ECONNRESET: 'connection reset',
	ETIMEDOUT: 'timed out',
	ECONNABORTED: 'timed out',
	EPIPE: 'connection closed',
	ENOTFOUND: 'host not found',
	EAI_AGAIN: 'name lookup failed',
};

/** A failure below HTTP (connection refused, reset, DNS): scrubbed, with the socket code in the description. */
export function transportError(
	node: INode,
	error: unknown,
	context: { operation: Operation; itemIndex: number; requestId?: string; secrets: string[]; url: string },
): NodeApiError {
	const code = errorCode(error);
	const reason = redact(error instanceof Error ? error.message : String(error), context.secrets);
	const host = safeHost(context.url);
	const what = (code && SOCKET_FAILURES[code]) ?? 'no answer';
	// The payload's key is not `code` either, for the same reason.
	const apiError = new NodeApiError(node, { socketError: code ?? null, reason } as JsonObject, {
		message: `Could not reach ${host}: ${what}`,
		description: `${code ? `${code}: ` : ''}${reason}. Check the Base URL in the credential and the network between n8n and ${host}.${context.requestId ? ` Request id: ${context.requestId}.` : ''}`,
		itemIndex: context.itemIndex,
	});
	return tagRequest(apiError, context.requestId);
}

/** The socket-level error code of a failed request, looking through wrapped causes. */
export function errorCode(error: unknown, depth = 0): string | undefined {
	if (!error || typeof error !== 'object' || depth > 5) return undefined;
	const { code, cause } = error as { code?: unknown; cause?: unknown };
	if (typeof code === 'string' && /^[A-Z_]+$/.test(code) && code !== 'ERR_BAD_REQUEST' && code !== 'ERR_BAD_RESPONSE') return code;
	return errorCode(cause, depth + 1);
}

/** The request id an error belongs to, so that Continue On Fail can output it: no submitted job goes unseen. */
export function requestIdOf(error: unknown): string | undefined {
	const id = (error as { requestId?: unknown } | undefined)?.requestId;
	return typeof id === 'string' ? id : undefined;
}

export function tagRequest<E extends NodeApiError | NodeOperationError>(error: E, requestId: string | undefined): E {
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

/** A JSON value with every secret replaced, however deep it sits (error payloads are stored with executions). */
export function redactDeep(value: IDataObject, secrets: string[]): JsonObject {
	return JSON.parse(redact(JSON.stringify(value), secrets.map((secret) => JSON.stringify(secret).slice(1, -1)))) as JsonObject;
}

/** `detail` of a fal error body, as text. */
export function detailText(body: unknown): string | undefined {
	if (typeof body === 'string') return body.trim() ? body.trim().slice(0, 500) : undefined;
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
		const label = field && FIELD_LABELS[field] ? `${FIELD_LABELS[field]} (${path.join('.')})` : path.join('.') || 'input';
		return `${label}: ${typeof msg === 'string' ? msg : 'invalid'}`;
	});
}

function errorTypeOf(answer: FalAnswer): string | undefined {
	const fromBody = (answer.body as IDataObject | undefined)?.error_type;
	if (typeof fromBody === 'string') return fromBody;
	return headerOf(answer, 'X-Fal-Error-Type');
}

/** fal's 504 for a job whose own start deadline (the Start Timeout option) passed before it ran: never billed. */
function isStartTimeout(answer: FalAnswer): boolean {
	return answer.statusCode === 504 && headerOf(answer, FAL_HEADERS.startTimeoutType)?.toLowerCase() === 'user';
}

function headerOf(answer: FalAnswer, name: string): string | undefined {
	const value = Object.entries(answer.headers ?? {}).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
	return typeof value === 'string' ? value : undefined;
}

function errorPayload(answer: FalAnswer): IDataObject {
	const body = answer.body;
	return {
		httpCode: answer.statusCode,
		body: body && typeof body === 'object' && !isStream(body) ? (body as IDataObject) : typeof body === 'string' ? body.slice(0, 2000) : null,
	};
}

function isStream(value: object): boolean {
	return typeof (value as { pipe?: unknown }).pipe === 'function';
}

function safeHost(url: string): string {
	try {
		return new URL(url).host;
	} catch {
		return 'the server';
	}
}
