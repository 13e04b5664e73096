/**
 * Failures below HTTP (connection refused, reset, DNS, a stall) in words, with what they prove
 * about a submit.
 */

import type { INode, JsonObject } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import type { Operation } from './answer';
import { safeHost } from './answer';
import { redact } from './secrets';
import { mayHaveQueued, tagRequest } from './error-tags';

/**
 * Socket failures that prove a request never reached the server: after a submit, nothing can have
 * been queued.
 */
export const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

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
	let description =
		`${cause} Check the Base URL in the credential and the network between n8n ` +
		`and ${host}.${context.requestId ? ` Request id: ${context.requestId}.` : ''}`;
	if (context.operation === 'submit' && notSent) {
		description =
			`${cause} Nothing was queued. Check the Base URL in the credential and the ` +
			`network between n8n and ${host}.`;
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
