import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError, NodeOperationError, sleep } from 'n8n-workflow';

import type { FalClient } from '../transport';
import type { JobUrls } from '../fal/urls';
import { urlsFromSubmit } from '../fal/urls';
import { imagesToBinary } from './binary';
import { tagRequest } from '../fal/errors';
import type { ServerTraits } from './follow';
import { waitForCompletion } from './follow';
import type { RunControls } from './validation';

/** The queue handle of a submitted job: what a downstream node needs to carry on without this one. */
export interface JobHandle extends JobUrls, IDataObject {
	request_id: string;
	status: string;
	queue_position: number | null;
}

/** Why a wait ended early. */
type Interruption = 'timeout' | 'stopped' | 'batch';

/**
 * One run of the node over its input items: the fal client, what was learned about the server, and the
 * signal that halts the other items when one fails. Items run concurrently; each follows its own job.
 */
export class Execution {
	readonly traits: ServerTraits = {};
	/** Run by an AI Agent (n8n runs a usableAsTool node under the type name `<name>Tool`): answer compactly. */
	readonly asTool: boolean;
	private readonly batch = new AbortController();

	constructor(
		readonly ctx: IExecuteFunctions,
		readonly client: FalClient,
	) {
		this.asTool = ctx.getNode().type.endsWith('Tool');
	}

	/** True once the execution was stopped or an item failed without Continue On Fail: start nothing new. */
	get halted(): boolean {
		return this.batch.signal.aborted || !!this.ctx.getExecutionCancelSignal()?.aborted;
	}

	/** Stops the other items: those waiting cancel their queued jobs, those not started never submit. */
	halt(): void {
		this.batch.abort();
	}

	/** Builds the handle from a submit answer, with its URLs moved onto the credential's base URL. */
	handleFrom(answer: IDataObject, itemIndex: number): JobHandle {
		const id = answer.request_id;
		if (typeof id !== 'string' || id === '') {
			throw new NodeOperationError(this.ctx.getNode(), 'fal accepted the job but returned no request_id', {
				itemIndex,
				description: `Answer: ${this.client.redact(JSON.stringify(answer).slice(0, 500))}`,
			});
		}
		return {
			request_id: id,
			status: typeof answer.status === 'string' ? answer.status : 'IN_QUEUE',
			...urlsFromSubmit(this.client.baseUrl, id, answer),
			queue_position: typeof answer.queue_position === 'number' ? answer.queue_position : null,
		};
	}

	/**
	 * Follows a submitted job to its end and returns the finished item. The wait is bounded by the Timeout
	 * option; on timeout the On Timeout option decides. Stop in n8n, or another item failing, cancels the job.
	 */
	async finish(handle: JobHandle, itemIndex: number, controls: RunControls): Promise<INodeExecutionData> {
		const requestId = handle.request_id;
		const job = new AbortController();
		const deadline = new AbortController();
		const stopSignal = this.ctx.getExecutionCancelSignal();
		let interruption: Interruption | undefined;
		const interrupt = (reason: Interruption) => () => {
			interruption ??= reason;
			job.abort();
		};
		const onStop = interrupt('stopped');
		const onBatch = interrupt('batch');
		if (stopSignal?.aborted) onStop();
		stopSignal?.addEventListener('abort', onStop, { once: true });
		this.batch.signal.addEventListener('abort', onBatch, { once: true });
		sleep(controls.timeoutMs, deadline.signal).then(interrupt('timeout'), () => undefined);

		let last: IDataObject = handle;
		try {
			const options = { itemIndex, requestId, signal: job.signal };
			const completed = await waitForCompletion(this.client, handle.status_url, this.traits, options, (status) => (last = status));
			deadline.abort();
			if (completed.error) throw this.client.jobFailed(completed, options);
			return await this.resultItem(requestId, handle.response_url, itemIndex, controls);
		} catch (error) {
			if (!interruption) throw tagRequest(asNodeError(this.ctx, error, itemIndex), requestId);
			return await this.interrupted(interruption, handle, last, itemIndex, controls);
		} finally {
			deadline.abort();
			job.abort();
			stopSignal?.removeEventListener('abort', onStop);
			this.batch.signal.removeEventListener('abort', onBatch);
		}
	}

	/** Fetches a finished job's result: fal's JSON plus the request id, and the images as binary data. */
	async resultItem(requestId: string, responseUrl: string, itemIndex: number, controls: Pick<RunControls, 'downloadImages' | 'binaryPropertyOutput'>): Promise<INodeExecutionData> {
		const options = { itemIndex, requestId };
		const answer = await this.client.result(responseUrl, options);
		const result = this.client.expectJson(answer, 'result', options);
		const images = Array.isArray(result.images) ? (result.images as IDataObject[]) : [];
		if (this.asTool) return { json: toolAnswer(result, images, requestId) };
		const json: IDataObject = { ...result, request_id: requestId };
		if (!controls.downloadImages || images.length === 0) return { json };
		const binary = await imagesToBinary(this.ctx, this.client, images, { ...options, prefix: controls.binaryPropertyOutput });
		return { json, binary };
	}

	/** Cancels a job at fal and returns fal's answer (`CANCELLATION_REQUESTED`, `ALREADY_COMPLETED`, `NOT_FOUND`). */
	async cancel(cancelUrl: string, requestId: string, itemIndex: number, afterStop = false): Promise<string> {
		const options = { itemIndex, requestId, afterStop };
		const answer = await this.client.cancel(cancelUrl, options);
		const status = (answer.body as IDataObject | undefined)?.status;
		if (typeof status === 'string' && [202, 200, 400, 404].includes(answer.statusCode)) return status;
		throw this.client.apiError(answer, 'cancel', options);
	}

	private async interrupted(
		reason: Interruption,
		handle: JobHandle,
		last: IDataObject,
		itemIndex: number,
		controls: RunControls,
	): Promise<INodeExecutionData> {
		const node = this.ctx.getNode();
		const requestId = handle.request_id;
		const lastStatus = typeof last.status === 'string' ? last.status : handle.status;
		if (reason === 'timeout' && controls.onTimeout === 'outputHandle') {
			return { json: { ...handle, status: lastStatus, queue_position: last.queue_position ?? null, timed_out: true } };
		}
		if (reason === 'timeout' && controls.onTimeout === 'fail') {
			throw tagRequest(
				new NodeOperationError(node, `Timed out after ${controls.timeoutMs / 1000} s waiting for request ${requestId} (last status ${lastStatus})`, {
					itemIndex,
					description: `The job goes on at fal and may still be billed. Fetch it later with Resource "Request" > Get Result and request id ${requestId}, or raise the Timeout option.`,
				}),
				requestId,
			);
		}
		// Stopped, another item failed, or On Timeout = cancel: do not leave the job running unseen.
		const answer = await this.cancel(handle.cancel_url, requestId, itemIndex, reason === 'stopped').catch(
			(error: Error) => `not confirmed (${this.client.redact(error.message)})`,
		);
		const why = {
			timeout: `Timed out after ${controls.timeoutMs / 1000} s waiting for request ${requestId}`,
			stopped: `The execution was stopped while request ${requestId} was running`,
			batch: `Another item failed while request ${requestId} was running`,
		}[reason];
		throw tagRequest(
			new NodeOperationError(node, `${why}; the job was cancelled at fal (${answer})`, {
				itemIndex,
				description: 'A job that was already running may still complete and be billed; fetch it with Get Result and this request id.',
			}),
			requestId,
		);
	}
}

/**
 * What an AI Agent gets back: the image URLs and sizes, the seed and the prompt, with no binary data and no
 * inline data URIs (sync mode) that would flood the model's context.
 */
function toolAnswer(result: IDataObject, images: IDataObject[], requestId: string): IDataObject {
	return {
		request_id: requestId,
		prompt: result.prompt,
		seed: result.seed,
		images: images.map(({ url, width, height, content_type }) => ({
			url: typeof url === 'string' && url.startsWith('data:') ? `(inline ${String(content_type ?? 'image')}, not shown)` : url,
			width,
			height,
			content_type,
		})),
		has_nsfw_concepts: result.has_nsfw_concepts,
	};
}

/** Any error as an n8n error of this item (fal errors are already NodeApiErrors). */
export function asNodeError(ctx: IExecuteFunctions, error: unknown, itemIndex: number): NodeOperationError | NodeApiError {
	if (error instanceof NodeOperationError || error instanceof NodeApiError) return error;
	return new NodeOperationError(ctx.getNode(), error instanceof Error ? error : String(error), { itemIndex });
}
