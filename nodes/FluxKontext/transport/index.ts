import type {
	IAdditionalCredentialOptions,
	IDataObject,
	IExecuteFunctions,
	IHttpRequestMethods,
	IHttpRequestOptions,
} from 'n8n-workflow';
import { NodeApiError, NodeOperationError, sleep } from 'n8n-workflow';

import { CREDENTIAL_NAME, DEFAULT_BASE_URL, DEFAULT_PLATFORM_URL } from '../fal/constants';
import type { FalAnswer, ImageProblem, Operation } from '../fal/errors';
import {
	errorCode,
	falApiError,
	headerValue,
	imageError,
	jobFailedError,
	noImagesError,
	redact,
	tagRequest,
	transportError,
} from '../fal/errors';
import type { RequestKind } from './retry';
import { DEFAULT_RETRY, retryDelayMs, shouldRetry } from './retry';
import {
	baseUrlProblem as urlProblem,
	maskedUrl,
	normalizeBaseUrl,
	parseHttpUrl,
	readCredential,
	sameOrigin,
	serviceUrlFor,
} from '../fal/urls';
import type { ByteStream } from './signals';
import { abortable, anySignal, readAll, startDeadline } from './signals';
import type { UploadStep } from '../fal/storage';
import { FAL_STORAGE_URL, STORAGE_TYPE, uploadError } from '../fal/storage';

/** Redirect statuses a download follows (by hand: see download()), and how many hops at most. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_DOWNLOAD_REDIRECTS = 5;

export type { ByteStream };

/**
 * How long one exchange may take before it counts as a failed attempt (a stall): until the whole
 * answer for JSON calls, until the headers for streams and downloads, whose bodies then have an
 * idle deadline. fal answers these in well under a second; the margins are for gateways and busy
 * networks. The item's Timeout and Stop end every exchange sooner.
 */
export const DEADLINES_MS: Record<Operation, number> = {
	submit: 60_000,
	status: 30_000,
	stream: 30_000,
	result: 60_000,
	cancel: 15_000,
	download: 30_000,
	// Prices are a nicety with a fallback: a Platform API that does not answer soon must not hold up
	// the run.
	pricing: 10_000,
	initiate: 30_000,
	// A PUT's base; it grows with the bytes sent (UPLOAD_MIN_BYTES_PER_S), as a PUT's answer comes
	// after its body.
	upload: 60_000,
};

/**
 * The slowest upload link a PUT is given time for: 256 kB/s (a 90 MB file: 60 s + about 6 minutes).
 */
export const UPLOAD_MIN_BYTES_PER_S = 256_000;

/**
 * Longest silence inside a body: a download between bytes, a status stream between events or pings.
 */
export const IDLE_MS = { download: 30_000, stream: 45_000 } as const;

/**
 * The largest image the node downloads (it is read into memory before n8n stores it): far above any
 * Kontext output.
 */
export const MAX_IMAGE_BYTES = 256_000_000;

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

export interface StreamAnswer {
	statusCode: number;
	headers: Record<string, unknown>;
	body: ByteStream;
}

/**
 * The one place that talks to fal. Every call to the queue goes to the credential's base URL origin
 * through n8n's `httpRequestWithAuthentication` (proxy support, SSRF guard, Stop); the token goes
 * nowhere else: a URL on another origin is refused before any byte is sent, and redirects to other
 * origins drop the credential. Image downloads from a CDN on another origin go without the
 * credential at all. The storage host (fal's REST host, or the credential's Storage URL) is the one
 * other origin the token may reach; uploads to its pre-signed URLs go without it.
 */
export class FalClient {
	readonly baseUrl: string;

	private constructor(
		private readonly ctx: IExecuteFunctions,
		baseUrl: string,
		/**
		 * fal's Platform API (prices), the only other origin that receives the token; undefined for a
		 * gateway that names none.
		 */
		readonly platformUrl: string | undefined,
		/**
		 * fal's storage (uploads of input images), the other origin that receives the token; undefined
		 * when none applies.
		 */
		readonly storageUrl: string | undefined,
		/**
		 * The credential, read once per execution and handed to every request (n8n would read it again
		 * each time).
		 */
		private readonly credential: IAdditionalCredentialOptions,
		private readonly secrets: string[],
	) {
		this.baseUrl = normalizeBaseUrl(baseUrl);
	}

	static async connect(ctx: IExecuteFunctions): Promise<FalClient> {
		const credentials = await ctx.getCredentials(CREDENTIAL_NAME);
		const { token, baseUrl, baseUrlProblem } = readCredential(credentials);
		// Every form of the token that can travel: as sent (trimmed), and URL-encoded should a server
		// echo it in a URL.
		const secrets = [...new Set([token, encodeURIComponent(token)])];
		if (baseUrlProblem) {
			throw new NodeOperationError(
				ctx.getNode(),
				`Base URL: "${redact(maskedUrl(baseUrl), secrets)}" ${baseUrlProblem}`,
				{
					description: `Open the FLUX Kontext credential and set Base URL to ${DEFAULT_BASE_URL} or your gateway's URL, with no user name, password, query string or fragment: the token goes in API Key.`,
				},
			);
		}
		const platformUrl = serviceUrl(
			ctx,
			'Platform URL',
			credentials.platformUrl,
			baseUrl,
			DEFAULT_PLATFORM_URL,
			secrets,
		);
		const storageUrl = serviceUrl(
			ctx,
			'Storage URL',
			credentials.storageUrl,
			baseUrl,
			FAL_STORAGE_URL,
			secrets,
		);
		const reference = ctx.getNode().credentials?.[CREDENTIAL_NAME];
		const credential = {
			credentialsDecrypted: {
				id: reference?.id ?? '',
				name: reference?.name ?? '',
				type: CREDENTIAL_NAME,
				data: credentials,
			},
		};
		return new FalClient(ctx, baseUrl, platformUrl, storageUrl, credential, secrets);
	}

	/**
	 * The origins the token may reach, each with the credential field that names it: Base URL,
	 * Platform URL, Storage URL.
	 */
	get tokenOrigins(): Array<{ origin: string; field: string }> {
		const named: Array<[string | undefined, string]> = [
			[this.baseUrl, 'Base URL'],
			[this.platformUrl, 'Platform URL'],
			[this.storageUrl, 'Storage URL'],
		];
		return named.flatMap(([url, field]) => {
			const origin = url === undefined ? undefined : parseHttpUrl(url)?.origin;
			return origin ? [{ origin, field }] : [];
		});
	}

	/**
	 * Starts an upload at the storage host, with the credential: `{upload_url, file_url}` on success.
	 * Creates no job, so it is retried as reads are. The caller checks that storage applies.
	 */
	async initiateUpload(
		file: { contentType: string; fileName: string },
		multipart: boolean,
		options: CallOptions,
	): Promise<FalAnswer> {
		return await this.call(
			'read',
			'initiate',
			{
				method: 'POST',
				url: `${this.storageUrl ?? ''}/storage/upload/${multipart ? 'initiate-multipart' : 'initiate'}`,
				qs: { storage_type: STORAGE_TYPE },
				body: { content_type: file.contentType, file_name: file.fileName },
			},
			options,
		);
	}

	/**
	 * Sends bytes (a stream with its length, or a buffer) or JSON to a pre-signed storage URL, never
	 * with the credential, never following a redirect (n8n's redirect follower would hold the whole
	 * body in memory to replay it). Retried as reads are; `body` is called again for each attempt, so
	 * a stream is reopened.
	 */
	async sendToStorage(
		method: 'PUT' | 'POST',
		url: string,
		body: () => Promise<IDataObject | Buffer | ByteStream>,
		headers: Record<string, string>,
		options: CallOptions,
	): Promise<FalAnswer> {
		const bytes = Number(headerValue(headers, 'content-length'));
		const deadlineMs =
			DEADLINES_MS.upload +
			(Number.isFinite(bytes) && bytes > 0
				? Math.ceil((bytes / UPLOAD_MIN_BYTES_PER_S) * 1000)
				: 0);
		return await this.withRetries(
			'read',
			'upload',
			url,
			{ ...options, deadlineMs },
			async (signal) => {
				const content = await body();
				try {
					return (await this.ctx.helpers.httpRequest({
						method,
						url,
						body: content,
						headers,
						json: !isBytes(content),
						returnFullResponse: true,
						ignoreHttpStatusErrors: true,
						disableFollowRedirect: true,
						abortSignal: signal,
						timeout: deadlineMs,
					})) as FalAnswer;
				} finally {
					// A stream the request did not finish (refused early, or failed) must not keep its file
					// open.
					if (!Buffer.isBuffer(content)) (content as { destroy?: () => void }).destroy?.();
				}
			},
		);
	}

	/**
	 * POST a job, with fal's optional request headers (start deadline, priority, retention). Retried
	 * only where fal proves nothing was queued (429, connection refused).
	 */
	async submit(
		endpoint: string,
		input: IDataObject,
		webhookUrl: string | undefined,
		options: CallOptions,
		headers?: Record<string, string>,
	): Promise<IDataObject> {
		const answer = await this.call(
			'submit',
			'submit',
			{
				method: 'POST',
				url: `${this.baseUrl}/${endpoint}`,
				body: input,
				qs: webhookUrl ? { fal_webhook: webhookUrl } : undefined,
				headers,
			},
			options,
		);
		return this.expectJson(answer, 'submit', options);
	}

	/**
	 * GET the prices of some endpoints from fal's Platform API (`/v1/models/pricing`, 1 to 50 ids),
	 * once, without retries. Undefined when no Platform API applies (a gateway without Platform URL):
	 * then nothing is sent anywhere.
	 */
	async prices(endpointIds: string[], options: CallOptions): Promise<FalAnswer | undefined> {
		if (this.platformUrl === undefined) return undefined;
		return await this.call(
			'once',
			'pricing',
			{
				method: 'GET',
				url: `${this.platformUrl}/v1/models/pricing`,
				qs: { endpoint_id: endpointIds.join(',') },
			},
			options,
		);
	}

	/** GET a status URL once; the caller decides what each status means. */
	async status(url: string, logs: boolean, options: CallOptions): Promise<FalAnswer> {
		return await this.call(
			'read',
			'status',
			{ method: 'GET', url, qs: { logs: logs ? 1 : 0 } },
			options,
		);
	}

	/**
	 * Opens the SSE status stream, once: whatever the answer (a stream, 404/405 where there is none,
	 * a 5xx), it is the caller's to judge; polling is the fallback, so a failed open is never
	 * retried.
	 */
	async openStream(statusUrl: string, options: CallOptions): Promise<StreamAnswer> {
		const answer = await this.call(
			'once',
			'stream',
			{
				method: 'GET',
				url: `${statusUrl}/stream`,
				qs: { logs: 0 },
				encoding: 'stream',
				headers: { Accept: 'text/event-stream' },
			},
			options,
		);
		return answer as StreamAnswer;
	}

	/**
	 * GET a result (fal answers with the model's own status code: 200, 422, 5xx...). With `once`, a
	 * single attempt: used to read why a job that fal reported as failed failed.
	 */
	async result(responseUrl: string, options: CallOptions & { once?: boolean }): Promise<FalAnswer> {
		return await this.call(
			options.once ? 'once' : 'result',
			'result',
			{ method: 'GET', url: responseUrl },
			options,
		);
	}

	/**
	 * PUT a cancel. Interrupted only by `options.signal`: the cancel that follows a Stop passes none.
	 */
	async cancel(cancelUrl: string, options: CallOptions): Promise<FalAnswer> {
		return await this.call('read', 'cancel', { method: 'PUT', url: cancelUrl }, options);
	}

	/**
	 * Downloads a result image, whole (an idle deadline between bytes: a server that trickles or
	 * stalls fails the attempt). Same-origin URLs (a gateway serving files itself) go with the
	 * credential; any other origin (fal's CDN) without it. A same-origin redirect is followed by
	 * hand, so that the credential goes only where it may: a gateway that redirects to its CDN gets
	 * the file fetched from there without the token.
	 */
	async download(
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
		for (let hops = 0; sameOrigin(current, this.baseUrl); hops++) {
			const answer = await this.call(
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
		const answer = await this.withRetries(
			'read',
			'download',
			current,
			options,
			async (signal) =>
				(await this.ctx.helpers.httpRequest({
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

	/** Throws a fal-worded error unless the answer is a 2xx with a JSON object body. */
	expectJson(answer: FalAnswer, operation: Operation, options: CallOptions): IDataObject {
		if (
			answer.statusCode >= 200 &&
			answer.statusCode < 300 &&
			answer.body &&
			typeof answer.body === 'object'
		) {
			return answer.body as IDataObject;
		}
		throw this.apiError(answer, operation, options);
	}

	apiError(answer: FalAnswer, operation: Operation, options: CallOptions): NodeApiError {
		return falApiError(this.ctx.getNode(), answer, {
			operation,
			itemIndex: options.itemIndex,
			requestId: options.requestId,
			secrets: this.secrets,
		});
	}

	/** A failed storage upload, in words that name the file, the step and the host, scrubbed. */
	uploadError(
		context: { step: UploadStep; url: string; file: string; part?: number },
		failure: { answer: FalAnswer } | { error: unknown },
		options: CallOptions,
	): NodeApiError {
		const stopped = !!this.ctx.getExecutionCancelSignal()?.aborted;
		return uploadError(
			this.ctx.getNode(),
			{ ...context, stopped, itemIndex: options.itemIndex, secrets: this.secrets },
			failure,
		);
	}

	/** Notes in n8n's debug log what the node did about a failure it works around (scrubbed). */
	debug(what: string, error?: unknown): void {
		const reason =
			error === undefined ? '' : ` (${error instanceof Error ? error.message : String(error)})`;
		this.ctx.logger.debug(this.redact(`FLUX Kontext: ${what}${reason}`));
	}

	/** One image of a finished job could not be downloaded or read (the job itself succeeded). */
	imageFailed(image: ImageProblem, options: CallOptions): NodeApiError {
		return imageError(this.ctx.getNode(), image, {
			itemIndex: options.itemIndex,
			requestId: options.requestId,
			secrets: this.secrets,
		});
	}

	/** A finished job whose result holds no images. */
	noImages(result: IDataObject, options: CallOptions & { requestId: string }): NodeApiError {
		return noImagesError(this.ctx.getNode(), result, {
			itemIndex: options.itemIndex,
			requestId: options.requestId,
			secrets: this.secrets,
		});
	}

	/**
	 * A job fal reports COMPLETED with an `error`: a failure of the item, in fal's words, scrubbed.
	 */
	jobFailed(status: IDataObject, options: CallOptions & { requestId: string }): NodeApiError {
		return jobFailedError(this.ctx.getNode(), status, {
			itemIndex: options.itemIndex,
			requestId: options.requestId,
			secrets: this.secrets,
		});
	}

	/**
	 * A field of the credential as read once for this execution (e.g. Price per Image), without
	 * reading it again.
	 */
	credentialField(name: string): unknown {
		return this.credential.credentialsDecrypted?.data?.[name];
	}

	/** Scrubs the token from a text. */
	redact(text: string): string {
		return redact(text, this.secrets);
	}

	private async call(
		kind: RequestKind,
		operation: Operation,
		request: Pick<IHttpRequestOptions, 'method' | 'url' | 'body' | 'qs' | 'encoding' | 'headers'>,
		options: CallOptions,
	): Promise<FalAnswer> {
		if (!this.tokenOrigins.some(({ origin }) => sameOrigin(request.url, origin))) {
			// Never reached with URLs the node builds or rebases; kept as the last guard of the token.
			throw tagRequest(
				new NodeOperationError(
					this.ctx.getNode(),
					`Refusing to send the credential to ${parseHttpUrl(request.url)?.origin ?? 'an invalid URL'}`,
					{
						description: `Only ${this.tokenOrigins.map(({ origin, field }) => `${origin} (the credential's ${field})`).join(' and ')} receive the token.`,
						itemIndex: options.itemIndex,
					},
				),
				options.requestId,
			);
		}
		return await this.withRetries(kind, operation, request.url, options, async (signal) => {
			const response = (await this.ctx.helpers.httpRequestWithAuthentication.call(
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
				this.credential,
			)) as FalAnswer;
			return response;
		});
	}

	/**
	 * Runs one HTTP exchange with the retry policy of its kind; returns the final answer, whatever
	 * its status. Each attempt has its deadline (a stall counts as a failed attempt);
	 * `options.signal` ends everything at once with its own reason, which is never retried nor
	 * reworded.
	 */
	private async withRetries(
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
					secrets: this.secrets,
				});
			}
			discard(answer);
			const delay = retryDelayMs(attempt, answer?.headers);
			this.ctx.logger.debug(
				`FLUX Kontext: retrying ${operation} in ${delay} ms (attempt ${attempt + 1}, ${answer ? `HTTP ${answer.statusCode}` : code})`,
			);
			await sleep(delay, anySignal(options.signal, options.gate));
		}
	}
}

/** Bytes rather than JSON: a Buffer, or a stream (anything with `pipe`). */
function isBytes(content: unknown): boolean {
	return (
		Buffer.isBuffer(content) || typeof (content as { pipe?: unknown } | null)?.pipe === 'function'
	);
}

/**
 * Frees the socket of an answer that will not be read (a stream body of a retried or abandoned
 * request).
 */
function discard(answer: FalAnswer | undefined): void {
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

/**
 * One of fal's other services (its Platform API, its storage) from its credential field: see
 * serviceUrlFor. A URL the node could not use (not http(s), user:password, a query or a fragment)
 * is refused before any request.
 */
function serviceUrl(
	ctx: IExecuteFunctions,
	field: string,
	configured: unknown,
	baseUrl: string,
	falDefault: string,
	secrets: string[],
): string | undefined {
	const url = serviceUrlFor(configured, baseUrl, falDefault);
	const problem = url === undefined ? undefined : urlProblem(url);
	if (url !== undefined && problem) {
		throw new NodeOperationError(
			ctx.getNode(),
			`${field}: "${redact(maskedUrl(url), secrets)}" ${problem}`,
			{
				description: `Open the FLUX Kontext credential and clear ${field} (with fal's own Base URL, ${falDefault} is then used), or set your gateway's, with no user name, password, query string or fragment.`,
			},
		);
	}
	return url;
}
