import type { IDataObject, IExecuteFunctions, NodeApiError } from 'n8n-workflow';

import type { FalAnswer, Operation } from '../fal/answer';
import type { ImageProblem } from '../fal/errors';
import { headerValue } from '../fal/answer';
import { redact } from '../fal/secrets';
import { falApiError, imageError, jobFailedError, noImagesError } from '../fal/errors';
import type { UploadStep } from '../fal/storage';
import { STORAGE_TYPE, uploadError } from '../fal/storage';
import { withPathSegment } from '../fal/urls';
import { uploadDeadlineMs } from './deadlines';
import { downloadImage } from './download';
import type { CallOptions, StreamAnswer } from './exchange';
import { Exchange } from './exchange';
import type { ClientCredential, TokenOrigin } from './origins';
import { NO_CREDENTIAL, readClientCredential } from './origins';
import type { ByteStream } from './signals';

/**
 * The one place that talks to fal: one method per exchange of fal's queue, storage and Platform
 * API. Every call to the queue goes to the credential's base URL origin through n8n's
 * `httpRequestWithAuthentication` (proxy support, SSRF guard, Stop); the token goes nowhere else
 * (transport/origins.ts). Image downloads from a CDN on another origin and uploads to pre-signed
 * storage URLs go without the credential at all.
 */
export class FalClient {
	readonly baseUrl: string;
	/** fal's Platform API (prices); undefined for a gateway that names none. */
	readonly platformUrl: string | undefined;
	/** fal's storage (uploads of input images); undefined when none applies. */
	readonly storageUrl: string | undefined;
	/** The origins the token may reach, each with the credential field that names it. */
	readonly tokenOrigins: TokenOrigin[];
	private readonly exchange: Exchange;

	private constructor(
		private readonly ctx: IExecuteFunctions,
		private readonly setup: ClientCredential,
	) {
		this.baseUrl = setup.baseUrl;
		this.platformUrl = setup.platformUrl;
		this.storageUrl = setup.storageUrl;
		this.tokenOrigins = setup.origins;
		this.exchange = new Exchange(ctx, setup);
	}

	static async connect(ctx: IExecuteFunctions, credential = true): Promise<FalClient> {
		return new FalClient(ctx, credential ? await readClientCredential(ctx) : NO_CREDENTIAL);
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
		const step = multipart ? 'initiate-multipart' : 'initiate';
		return await this.exchange.withCredential(
			'read',
			'initiate',
			{
				method: 'POST',
				url: `${this.storageUrl ?? ''}/storage/upload/${step}`,
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
		const deadlineMs = uploadDeadlineMs(Number(headerValue(headers, 'content-length')));
		const send = async (signal: AbortSignal) => {
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
		};
		return await this.exchange.withRetries('read', 'upload', url, { ...options, deadlineMs }, send);
	}

	/**
	 * POST a job, with fal's optional request headers and query (`fal_webhook`,
	 * `fal_max_queue_length`). Retried only where fal proves nothing was queued (429, connection
	 * refused); with a queue limit, a 429 says the queue is longer: final, never retried.
	 */
	async submit(
		endpoint: string,
		input: IDataObject,
		query: IDataObject,
		options: CallOptions,
		headers?: Record<string, string>,
	): Promise<IDataObject> {
		const answer = await this.exchange.withCredential(
			query.fal_max_queue_length === undefined ? 'submit' : 'submitLimited',
			'submit',
			{
				method: 'POST',
				url: `${this.baseUrl}/${endpoint}`,
				body: input,
				qs: Object.keys(query).length ? query : undefined,
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
		return await this.exchange.withCredential(
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
		const request = { method: 'GET' as const, url, qs: { logs: logs ? 1 : 0 } };
		return await this.exchange.withCredential('read', 'status', request, options);
	}

	/**
	 * Opens the SSE status stream, once: whatever the answer (a stream, 404/405 where there is none,
	 * a 5xx), it is the caller's to judge; polling is the fallback, so a failed open is never
	 * retried.
	 */
	async openStream(statusUrl: string, options: CallOptions): Promise<StreamAnswer> {
		const answer = await this.exchange.withCredential(
			'once',
			'stream',
			{
				method: 'GET',
				url: withPathSegment(statusUrl, 'stream'),
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
		const kind = options.once ? 'once' : 'result';
		return await this.exchange.withCredential(
			kind,
			'result',
			{ method: 'GET', url: responseUrl },
			options,
		);
	}

	/**
	 * PUT a cancel. Interrupted only by `options.signal`: the cancel that follows a Stop passes none.
	 */
	async cancel(cancelUrl: string, options: CallOptions): Promise<FalAnswer> {
		return await this.exchange.withCredential(
			'read',
			'cancel',
			{ method: 'PUT', url: cancelUrl },
			options,
		);
	}

	/** Downloads a result image, whole: see transport/download.ts. */
	async download(
		url: string,
		options: CallOptions,
	): Promise<FalAnswer & { body: Buffer | unknown }> {
		return await downloadImage(this.ctx, this.exchange, this.baseUrl, url, options);
	}

	/** Throws a fal-worded error unless the answer is a 2xx with a JSON object body. */
	expectJson(answer: FalAnswer, operation: Operation, options: CallOptions): IDataObject {
		const ok = answer.statusCode >= 200 && answer.statusCode < 300;
		if (ok && answer.body && typeof answer.body === 'object') return answer.body as IDataObject;
		throw this.apiError(answer, operation, options);
	}

	apiError(answer: FalAnswer, operation: Operation, options: CallOptions): NodeApiError {
		return falApiError(this.ctx.getNode(), answer, { operation, ...this.tagsOf(options) });
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
			{ ...context, stopped, itemIndex: options.itemIndex, secrets: this.setup.secrets },
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
		return imageError(this.ctx.getNode(), image, this.tagsOf(options));
	}

	/** A finished job whose result holds no images. */
	noImages(result: IDataObject, options: CallOptions & { requestId: string }): NodeApiError {
		return noImagesError(this.ctx.getNode(), result, this.tagsOf(options));
	}

	/**
	 * A job fal reports COMPLETED with an `error`: a failure of the item, in fal's words, scrubbed.
	 */
	jobFailed(status: IDataObject, options: CallOptions & { requestId: string }): NodeApiError {
		return jobFailedError(this.ctx.getNode(), status, this.tagsOf(options));
	}

	/**
	 * A field of the credential as read once for this execution (e.g. Price per Image), without
	 * reading it again.
	 */
	credentialField(name: string): unknown {
		return this.setup.credential.credentialsDecrypted?.data?.[name];
	}

	/** Scrubs the token from a text. */
	redact(text: string): string {
		return redact(text, this.setup.secrets);
	}

	private tagsOf<T extends CallOptions>(
		options: T,
	): { itemIndex: number; secrets: string[]; requestId: T['requestId'] } {
		return {
			itemIndex: options.itemIndex,
			requestId: options.requestId,
			secrets: this.setup.secrets,
		};
	}
}

/** Bytes rather than JSON: a Buffer, or a stream (anything with `pipe`). */
function isBytes(content: unknown): boolean {
	return (
		Buffer.isBuffer(content) || typeof (content as { pipe?: unknown } | null)?.pipe === 'function'
	);
}
