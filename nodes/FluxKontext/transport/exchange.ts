import type { IExecuteFunctions, IHttpRequestMethods, IHttpRequestOptions } from 'n8n-workflow';

import { CREDENTIAL_NAME } from '../fal/constants';
import type { FalAnswer, Operation } from '../fal/answer';
import { errorCode, transportError } from '../fal/socket-errors';
import { DEADLINES_MS } from './deadlines';
import type { ClientCredential } from './origins';
import { assertTokenOrigin } from './origins';
import type { RequestKind } from './retry';
import { DEFAULT_RETRY, retryDelayMs, shouldRetry } from './retry';
import type { ByteStream } from './signals';
import { abortable, anySignal, startDeadline } from './signals';
import { sleepUnlessAborted } from './sleep';

/**
 * One HTTP exchange with fal, its deadline and its retries: the layer every request of the node
 * goes through, with the credential (to the token's origins only) or without it (CDN downloads,
 * pre-signed storage URLs).
 */

export interface CallOptions {
	itemIndex: number;
	requestId?: string;
	/**
	 * Ends the exchange, its retries and their back-off at once (Stop, the batch halt, the item's
	 * Timeout), with the signal's reason. Without one, only the exchange's own deadline applies: the
	 * caller decides what may interrupt a call (a cancel after Stop must still go out; a submit in
	 * flight must return its request id).
	 */
	signal?: AbortSignal;
	/**
	 * Checked before each attempt and ends the back-off between attempts, but never touches an
	 * attempt in flight: a submit passes the execution's interrupt here, so that after Stop or the
	 * halt it sends nothing more, yet an answer already on its way (and the request id in it) is not
	 * lost.
	 */
	gate?: AbortSignal;
	/** This exchange's deadline, instead of its operation's (an upload's grows with its size). */
	deadlineMs?: number;
}

/** An answer whose body is a stream (the status stream, a download), not yet read. */
export interface StreamAnswer {
	statusCode: number;
	headers: Record<string, unknown>;
	body: ByteStream;
}

export type CredentialRequest = Pick<
	IHttpRequestOptions,
	'method' | 'url' | 'body' | 'qs' | 'encoding' | 'headers'
>;

export class Exchange {
	constructor(
		private readonly ctx: IExecuteFunctions,
		private readonly setup: ClientCredential,
	) {}

	/**
	 * A request with the credential, through n8n's `httpRequestWithAuthentication` (proxy support,
	 * SSRF guard), to one of the token's origins only; redirects are answered as such, never
	 * followed with the token.
	 */
	async withCredential(
		kind: RequestKind,
		operation: Operation,
		request: CredentialRequest,
		options: CallOptions,
	): Promise<FalAnswer> {
		assertTokenOrigin(this.ctx, this.setup.origins, request.url, options);
		return await this.withRetries(kind, operation, request.url, options, async (signal) => {
			return (await this.ctx.helpers.httpRequestWithAuthentication.call(
				withSignal(this.ctx, signal),
				CREDENTIAL_NAME,
				{
					method: request.method as IHttpRequestMethods,
					url: request.url,
					body: request.body,
					qs: request.qs,
					headers: request.headers,
					encoding: request.encoding,
					json: request.encoding === undefined,
					timeout: DEADLINES_MS[operation],
					abortSignal: signal,
					returnFullResponse: true,
					ignoreHttpStatusErrors: true,
					// fal's queue does not redirect: a redirect is answered as such, and the token follows
					// none.
					disableFollowRedirect: true,
					sendCredentialsOnCrossOriginRedirect: false,
				},
				this.setup.credential,
			)) as FalAnswer;
		});
	}

	/**
	 * Runs one HTTP exchange with the retry policy of its kind; returns the final answer, whatever
	 * its status. Each attempt has its deadline (a stall counts as a failed attempt);
	 * `options.signal` ends everything at once with its own reason, which is never retried nor
	 * reworded.
	 */
	async withRetries(
		kind: RequestKind,
		operation: Operation,
		url: string,
		options: CallOptions,
		send: (signal: AbortSignal) => Promise<FalAnswer>,
	): Promise<FalAnswer> {
		for (let attempt = 1; ; attempt++) {
			options.gate?.throwIfAborted();
			let answer: FalAnswer | undefined;
			let failure: unknown;
			const deadline = startDeadline(options.deadlineMs ?? DEADLINES_MS[operation], operation);
			const signal = anySignal(options.signal, deadline.signal);
			try {
				answer = await abortable(send(signal), signal, discard);
			} catch (error) {
				failure = error;
			} finally {
				deadline.clear();
			}
			if (options.signal?.aborted) {
				discard(answer);
				options.signal.throwIfAborted();
			}
			const code = failure === undefined ? undefined : errorCode(failure);
			const retryable =
				attempt <= DEFAULT_RETRY.retries &&
				(answer
					? shouldRetry(kind, {
							status: answer.statusCode,
							headers: answer.headers,
							body: answer.body,
						})
					: shouldRetry(kind, { code }));
			if (!retryable) {
				if (answer) return answer;
				throw transportError(this.ctx.getNode(), failure, {
					operation,
					url,
					itemIndex: options.itemIndex,
					requestId: options.requestId,
					secrets: this.setup.secrets,
				});
			}
			discard(answer);
			const delay = retryDelayMs(attempt, answer?.headers);
			const why = answer ? `HTTP ${answer.statusCode}` : code;
			this.ctx.logger.debug(
				`FLUX Kontext: retrying ${operation} in ${delay} ms (attempt ${attempt + 1}, ${why})`,
			);
			await sleepUnlessAborted(delay, anySignal(options.signal, options.gate));
		}
	}
}

/**
 * Frees the socket of an answer that will not be read (a stream body of a retried or abandoned
 * request).
 */
export function discard(answer: FalAnswer | undefined): void {
	const body = answer?.body as { destroy?: () => void } | undefined;
	if (body && typeof body.destroy === 'function') body.destroy();
}

/**
 * The execution context as n8n's request helper sees it, with `signal` as its abort signal.
 * n8n-core's `httpRequestWithAuthentication` replaces a request's `abortSignal` with
 * `this.getExecutionCancelSignal()` (n8n-core 2.41,
 * execution-engine/node-execution-context/utils/request-helpers/authentication.js), so this is the
 * one way to give a request its own deadline, end it on the batch halt, or let the cancel that
 * follows a Stop go out. test/integration/n8n-pins.test.ts fails loudly if n8n-core stops honouring
 * it.
 */
function withSignal(ctx: IExecuteFunctions, signal: AbortSignal): IExecuteFunctions {
	return new Proxy(ctx, {
		get: (target, key, receiver) =>
			key === 'getExecutionCancelSignal' ? () => signal : Reflect.get(target, key, receiver),
	});
}
