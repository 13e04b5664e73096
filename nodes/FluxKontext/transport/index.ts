import type {
	IAdditionalCredentialOptions,
	IDataObject,
	IExecuteFunctions,
	IHttpRequestMethods,
	IHttpRequestOptions,
} from 'n8n-workflow';
import { NodeApiError, NodeOperationError, sleep } from 'n8n-workflow';

import { CREDENTIAL_NAME, DEFAULT_BASE_URL } from '../fal/constants';
import type { FalAnswer, Operation } from '../fal/errors';
import { errorCode, falApiError, jobFailedError, redact, tagRequest, transportError } from '../fal/errors';
import type { RequestKind } from './retry';
import { DEFAULT_RETRY, retryDelayMs, shouldRetry } from './retry';
import { normalizeBaseUrl, parseHttpUrl, sameOrigin } from '../fal/urls';

/** Per-request socket timeout for JSON calls; a stream is allowed to idle longer between events and pings. */
const REQUEST_TIMEOUT_MS = 60_000;
const STREAM_IDLE_TIMEOUT_MS = 120_000;

export interface CallOptions {
	itemIndex: number;
	requestId?: string;
	/** Aborts waits between retries (a timed-out or failed batch); the execution's own Stop aborts everything. */
	signal?: AbortSignal;
}

/** A readable byte stream, as n8n's request helper returns with `encoding: 'stream'` (typed without importing node:stream). */
export type ByteStream = Exclude<Parameters<IExecuteFunctions['helpers']['prepareBinaryData']>[0], Buffer>;

export interface StreamAnswer {
	statusCode: number;
	headers: Record<string, unknown>;
	body: ByteStream;
}

/**
 * The one place that talks to fal. Every call to the queue goes to the credential's base URL origin through
 * n8n's `httpRequestWithAuthentication` (proxy support, SSRF guard, Stop); the token goes nowhere else: a URL
 * on another origin is refused before any byte is sent, and redirects to other origins drop the credential.
 * Image downloads from a CDN on another origin go without the credential at all.
 */
export class FalClient {
	readonly baseUrl: string;

	private constructor(
		private readonly ctx: IExecuteFunctions,
		baseUrl: string,
		/** The credential, read once per execution and handed to every request (n8n would read it again each time). */
		private readonly credential: IAdditionalCredentialOptions,
		private readonly secrets: string[],
	) {
		this.baseUrl = normalizeBaseUrl(baseUrl);
	}

	static async connect(ctx: IExecuteFunctions): Promise<FalClient> {
		const credentials = await ctx.getCredentials(CREDENTIAL_NAME);
		const baseUrl = typeof credentials.baseUrl === 'string' && credentials.baseUrl.trim() ? credentials.baseUrl : DEFAULT_BASE_URL;
		const token = typeof credentials.apiKey === 'string' ? credentials.apiKey : '';
		if (!parseHttpUrl(baseUrl.trim())) {
			throw new NodeOperationError(ctx.getNode(), `Base URL: "${redact(baseUrl, [token])}" is not an http(s) URL`, {
				description: 'Open the FLUX Kontext credential and set Base URL to https://queue.fal.run or your gateway\'s URL.',
			});
		}
		const reference = ctx.getNode().credentials?.[CREDENTIAL_NAME];
		const credential = {
			credentialsDecrypted: { id: reference?.id ?? '', name: reference?.name ?? '', type: CREDENTIAL_NAME, data: credentials },
		};
		return new FalClient(ctx, baseUrl, credential, [token]);
	}

	/** POST a job. Retried only where fal proves nothing was queued (429, connection refused). */
	async submit(endpoint: string, input: IDataObject, webhookUrl: string | undefined, options: CallOptions): Promise<IDataObject> {
		const answer = await this.call('submit', 'submit', {
			method: 'POST',
			url: `${this.baseUrl}/${endpoint}`,
			body: input,
			qs: webhookUrl ? { fal_webhook: webhookUrl } : undefined,
		}, options);
		return this.expectJson(answer, 'submit', options);
	}

	/** GET a status URL once; the caller decides what each status means. */
	async status(url: string, logs: boolean, options: CallOptions): Promise<FalAnswer> {
		return await this.call('read', 'status', { method: 'GET', url, qs: { logs: logs ? 1 : 0 } }, options);
	}

	/** Opens the SSE status stream. Answers with whatever status code the server gives (404/405 when it has none). */
	async openStream(statusUrl: string, options: CallOptions): Promise<StreamAnswer> {
		const answer = await this.call('read', 'stream', {
			method: 'GET',
			url: `${statusUrl}/stream`,
			qs: { logs: 0 },
			encoding: 'stream',
			headers: { Accept: 'text/event-stream' },
			timeout: STREAM_IDLE_TIMEOUT_MS,
		}, options);
		return answer as StreamAnswer;
	}

	/** GET a result (fal answers with the model's own status code: 200, 422, 5xx...). */
	async result(responseUrl: string, options: CallOptions): Promise<FalAnswer> {
		return await this.call('result', 'result', { method: 'GET', url: responseUrl }, options);
	}

	/**
	 * PUT a cancel. With `afterStop`, it goes out even though the execution was stopped: n8n aborts every request
	 * of a stopped execution, but leaving the job queued would spend the user's money unseen.
	 */
	async cancel(cancelUrl: string, options: CallOptions & { afterStop?: boolean }): Promise<FalAnswer> {
		return await this.call('read', 'cancel', { method: 'PUT', url: cancelUrl, timeout: 15_000 }, options, options.afterStop);
	}

	/**
	 * Downloads a result image as a stream. Same-origin URLs (a gateway serving files itself) go with the
	 * credential; any other origin (fal's CDN) without it.
	 */
	async download(url: string, options: CallOptions): Promise<StreamAnswer> {
		if (sameOrigin(url, this.baseUrl)) {
			return (await this.call('read', 'download', { method: 'GET', url, encoding: 'stream' }, options)) as StreamAnswer;
		}
		return (await this.withRetries('read', 'download', url, options, async () => {
			const response = (await this.ctx.helpers.httpRequest({
				method: 'GET',
				url,
				encoding: 'stream',
				returnFullResponse: true,
				ignoreHttpStatusErrors: true,
				abortSignal: this.ctx.getExecutionCancelSignal(),
				timeout: REQUEST_TIMEOUT_MS,
			})) as FalAnswer;
			return response;
		})) as StreamAnswer;
	}

	/** Throws a fal-worded error unless the answer is a 2xx with a JSON object body. */
	expectJson(answer: FalAnswer, operation: Operation, options: CallOptions): IDataObject {
		if (answer.statusCode >= 200 && answer.statusCode < 300 && answer.body && typeof answer.body === 'object') {
			return answer.body as IDataObject;
		}
		throw this.apiError(answer, operation, options);
	}

	apiError(answer: FalAnswer, operation: Operation, options: CallOptions): NodeApiError {
		return falApiError(this.ctx.getNode(), answer, { operation, itemIndex: options.itemIndex, requestId: options.requestId, secrets: this.secrets });
	}

	/** Notes (in n8n's debug log) why the status stream was given up for polling. */
	logFallback(error: unknown): void {
		const reason = error instanceof Error ? error.message : String(error);
		this.ctx.logger.debug(`FLUX Kontext: status stream broke, polling instead (${this.redact(reason)})`);
	}

	/** A job fal reports COMPLETED with an `error`: a failure of the item, in fal's words, scrubbed. */
	jobFailed(status: IDataObject, options: CallOptions & { requestId: string }): NodeApiError {
		return jobFailedError(this.ctx.getNode(), status, { itemIndex: options.itemIndex, requestId: options.requestId, secrets: this.secrets });
	}

	/** Scrubs the token from a text. */
	redact(text: string): string {
		return redact(text, this.secrets);
	}

	private async call(
		kind: RequestKind,
		operation: Operation,
		request: Pick<IHttpRequestOptions, 'method' | 'url' | 'body' | 'qs' | 'encoding' | 'headers' | 'timeout'>,
		options: CallOptions,
		afterStop = false,
	): Promise<FalAnswer> {
		if (!sameOrigin(request.url, this.baseUrl)) {
			// Never reached with URLs the node builds or rebases; kept as the last guard of the token.
			throw tagRequest(
				new NodeOperationError(this.ctx.getNode(), `Refusing to send the credential to ${parseHttpUrl(request.url)?.origin ?? 'an invalid URL'}`, {
					description: `Only ${parseHttpUrl(this.baseUrl)?.origin} (the credential's Base URL) receives the token.`,
					itemIndex: options.itemIndex,
				}),
				options.requestId,
			);
		}
		const context = afterStop ? withoutStopSignal(this.ctx) : this.ctx;
		return await this.withRetries(kind, operation, request.url, options, async () => {
			const response = (await this.ctx.helpers.httpRequestWithAuthentication.call(context, CREDENTIAL_NAME, {
				method: request.method as IHttpRequestMethods,
				url: request.url,
				body: request.body,
				qs: request.qs,
				headers: request.headers,
				encoding: request.encoding,
				json: request.encoding === undefined,
				timeout: request.timeout ?? REQUEST_TIMEOUT_MS,
				returnFullResponse: true,
				ignoreHttpStatusErrors: true,
				// fal's queue does not redirect: a redirect is answered as such, and the token follows none.
				disableFollowRedirect: true,
				sendCredentialsOnCrossOriginRedirect: false,
			}, this.credential)) as FalAnswer;
			return response;
		});
	}

	/** Runs one HTTP exchange with the retry policy of its kind; returns the final answer, whatever its status. */
	private async withRetries(
		kind: RequestKind,
		operation: Operation,
		url: string,
		options: CallOptions,
		send: () => Promise<FalAnswer>,
	): Promise<FalAnswer> {
		for (let attempt = 1; ; attempt++) {
			let answer: FalAnswer | undefined;
			let failure: unknown;
			try {
				answer = await send();
			} catch (error) {
				failure = error;
			}
			const code = failure === undefined ? undefined : errorCode(failure);
			const retryable =
				attempt <= DEFAULT_RETRY.retries &&
				!this.ctx.getExecutionCancelSignal()?.aborted &&
				(answer ? shouldRetry(kind, { status: answer.statusCode, headers: answer.headers, body: answer.body }) : shouldRetry(kind, { code }));
			if (!retryable) {
				if (answer) return answer;
				throw transportError(this.ctx.getNode(), failure, { operation, url, itemIndex: options.itemIndex, requestId: options.requestId, secrets: this.secrets });
			}
			discard(answer);
			const delay = retryDelayMs(attempt, answer?.headers);
			this.ctx.logger.debug(
				`FLUX Kontext: retrying ${operation} in ${delay} ms (attempt ${attempt + 1}, ${answer ? `HTTP ${answer.statusCode}` : code})`,
			);
			await sleep(delay, options.signal);
		}
	}
}

/** Frees the socket of an answer that will not be read (a stream body of a retried request). */
function discard(answer: FalAnswer | undefined): void {
	const body = answer?.body as { destroy?: () => void } | undefined;
	if (body && typeof body.destroy === 'function') body.destroy();
}

/**
 * The execution context as n8n's request helper sees it, minus the execution's stop signal, which that helper
 * otherwise attaches to every request. Used only for the cancel that must follow a Stop.
 */
function withoutStopSignal(ctx: IExecuteFunctions): IExecuteFunctions {
	return new Proxy(ctx, {
		has: (target, key) => key !== 'getExecutionCancelSignal' && Reflect.has(target, key),
	});
}
