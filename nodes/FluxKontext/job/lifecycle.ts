/**
 * The life of one paid job, from submit to result: submit, follow, fetch, cancel, the item's
 * Timeout and the batch halt. Every wait here ends at once on Stop, on the halt or at the Timeout
 * (one signal per item, derived from the execution's), and every job is entered in the execution's
 * ledger with what became of it.
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { detailText } from '../fal/detail';
import { jobFailedAtFal, mayHaveQueuedJob, requestIdOf } from '../fal/error-tags';
import { urlsFromSubmit } from '../fal/urls';
import type { CallOptions } from '../transport';
import { anySignal, startDeadline } from '../transport/signals';
import { imagesToBinary, resultImages } from '../helpers/binary';
import type { RunControls } from '../helpers/validation';
import type { Execution, Interruption } from './execution';
import { asNodeError } from './execution';
import { waitForCompletion } from './follow';
import type { JobHandle } from './handle';
import { tagJob } from './handle';
import type { CancelOutcome } from './ledger';
import { cancelOutcomeText } from './ledger';

export interface JobRequest {
	endpoint: string;
	input: IDataObject;
	webhookUrl?: string;
	/** fal's optional request headers (helpers/headers.ts). */
	headers?: Record<string, string>;
}

/**
 * Queues a paid job and returns its handle. Nothing is submitted once the execution is halted, nor
 * retried after it (a submit waiting out a 429 gives up). A submit in flight is not interrupted
 * (its answer carries the request id that lets the job be cancelled): if the halt came meanwhile,
 * the job is cancelled as soon as its id arrives.
 */
export async function submitJob(
	execution: Execution,
	itemIndex: number,
	request: JobRequest,
): Promise<JobHandle> {
	if (execution.halted) throw notSubmitted(execution, itemIndex);
	let handle: JobHandle;
	try {
		const answer = await execution.client.submit(
			request.endpoint,
			request.input,
			request.webhookUrl,
			{ itemIndex, gate: execution.interrupt },
			request.headers,
		);
		handle = handleFrom(execution, answer, itemIndex);
	} catch (error) {
		// The gate closed between attempts: the last answer proved nothing was queued (429, connection
		// refused).
		if (
			execution.halted &&
			!(error instanceof NodeApiError) &&
			!(error instanceof NodeOperationError)
		)
			throw notSubmitted(execution, itemIndex);
		const failure = asNodeError(execution.ctx, error, itemIndex);
		if (mayHaveQueuedJob(failure))
			execution.ledger.addUncertain(itemIndex, requestIdOf(failure), failure.message);
		throw failure;
	}
	execution.ledger.add(itemIndex, handle);
	if (execution.halted) {
		const outcome = await cancelJob(execution, handle, itemIndex);
		throw tagJob(
			interruptedError(
				execution,
				`${WHY[execution.interruption()]} as request ${handle.request_id} was submitted; ` +
					`${cancelOutcomeText(outcome)}`,
				itemIndex,
			),
			handle,
		);
	}
	return handle;
}

/**
 * Follows a job to its end and returns the finished item: fal's result and the images as binary
 * data. The item's Timeout bounds all of it; at the Timeout, On Timeout decides. Stop and the batch
 * halt cancel a job this execution submitted that is still under way (never one it was only asked
 * about: Get Result); a finished one is left as it is (billed, its result kept by fal for about an
 * hour).
 */
export async function finishJob(
	execution: Execution,
	handle: JobHandle,
	itemIndex: number,
	controls: RunControls,
): Promise<INodeExecutionData> {
	const requestId = handle.request_id;
	const timeout = startDeadline(controls.timeoutMs, 'Timeout');
	const signal = anySignal(execution.interrupt, timeout.signal);
	const options: CallOptions = { itemIndex, requestId, signal };
	let phase: 'waiting' | 'ended' | 'finished' = 'waiting';
	let last: IDataObject = handle;
	try {
		const final = await waitForCompletion(
			execution.client,
			handle.status_url,
			execution.traits,
			options,
			(status) => (last = status),
		);
		phase = 'ended';
		if (final.status !== 'COMPLETED') throw endedByGateway(execution, final, itemIndex, requestId);
		if (final.error) throw await failureReason(execution, handle, final, options);
		phase = 'finished';
		const item = await resultItem(execution, handle, itemIndex, controls, signal);
		execution.ledger.settle(requestId, { state: 'finished' });
		return item;
	} catch (error) {
		// A job that ended in failure is reported as such, even if an interruption came while reading
		// why.
		if (signal.aborted && phase !== 'ended')
			return await interrupted(
				execution,
				execution.interruption(),
				phase,
				handle,
				last,
				itemIndex,
				controls,
			);
		const failure = tagJob(asNodeError(execution.ctx, error, itemIndex), handle);
		if (phase === 'waiting') await lostTrack(execution, failure, handle, itemIndex);
		else
			execution.ledger.settle(
				requestId,
				phase === 'finished' && !jobFailedAtFal(failure)
					? { state: 'finished' }
					: { state: 'failed', reason: failure.message },
			);
		throw failure;
	} finally {
		timeout.clear();
	}
}

/**
 * The node could not follow a job to its end (its status could not be read): say that the job may
 * still run and be billed, never that it is gone. If the run is failing and the job is this
 * execution's, halt the other items first, then cancel it rather than leave it running unseen.
 */
async function lostTrack(
	execution: Execution,
	failure: NodeApiError | NodeOperationError,
	handle: JobHandle,
	itemIndex: number,
): Promise<void> {
	const requestId = handle.request_id;
	// A refused token's advice still holds; any other advice (run it again, submit it again) would
	// risk paying twice.
	const tokenAdvice = ['401', '403'].includes(String((failure as NodeApiError).httpCode))
		? ` ${failure.description ?? ''}`
		: '';
	failure.message = `Lost track of request ${requestId} while waiting for it: ${failure.message}`;
	failure.description =
		`The job may still be queued or running at fal, and be billed: check it ` +
		`with Get Status and this request id (or in fal's request list) before running the item ` +
		`again.${tokenAdvice}`;
	if (execution.owns(requestId) && !execution.ctx.continueOnFail()) {
		execution.fail(failure, itemIndex);
		failure.description +=
			` Meanwhile, ` + `${cancelOutcomeText(await cancelJob(execution, handle, itemIndex))}.`;
	} else {
		execution.ledger.settle(requestId, { state: 'leftRunning', reason: failure.message });
	}
}

/**
 * Get Result without waiting: the result and images of a job now, within the item's Timeout; Stop
 * and the halt end it at once.
 */
export async function fetchResult(
	execution: Execution,
	handle: JobHandle,
	itemIndex: number,
	controls: RunControls,
): Promise<INodeExecutionData> {
	const timeout = startDeadline(controls.timeoutMs, 'Timeout');
	const signal = anySignal(execution.interrupt, timeout.signal);
	try {
		return await resultItem(execution, handle, itemIndex, controls, signal);
	} catch (error) {
		if (!signal.aborted) throw tagJob(asNodeError(execution.ctx, error, itemIndex), handle);
		const reason = execution.interruption();
		const why =
			reason === 'timeout' ? `Timed out after ${controls.timeoutMs / 1000} s` : WHY[reason];
		throw tagJob(
			interruptedError(
				execution,
				`${why} while fetching the result of request ${handle.request_id}`,
				itemIndex,
				'Fetch it again with Get Result (fal keeps results about an hour), or raise the Timeout ' +
					'option.',
			),
			handle,
		);
	} finally {
		timeout.clear();
	}
}

/**
 * Fetches a finished job's result: fal's JSON plus the request id, and the images as binary data.
 */
export async function resultItem(
	execution: Execution,
	handle: JobHandle,
	itemIndex: number,
	controls: Pick<RunControls, 'downloadImages' | 'binaryPropertyOutput'>,
	signal?: AbortSignal,
): Promise<INodeExecutionData> {
	const { client, ctx } = execution;
	const requestId = handle.request_id;
	const options: CallOptions = { itemIndex, requestId, signal: signal ?? execution.interrupt };
	const result = client.expectJson(
		await client.result(handle.response_url, options),
		'result',
		options,
	);
	const images = resultImages(client, result, { ...options, requestId });
	if (execution.asTool) return { json: toolAnswer(result, images, requestId) };
	const json: IDataObject = { ...result, request_id: requestId };
	if (!controls.downloadImages || images.length === 0) return { json };
	const binary = await imagesToBinary(ctx, client, images, {
		...options,
		prefix: controls.binaryPropertyOutput,
	});
	return { json, binary };
}

/**
 * Asks fal to cancel a job, at once and whatever interrupted the item (a cancel after Stop must
 * still go out), and records the outcome in the ledger. Never throws: an unconfirmed cancel is an
 * outcome too.
 */
export async function cancelJob(
	execution: Execution,
	handle: JobHandle,
	itemIndex: number,
): Promise<CancelOutcome> {
	let outcome: CancelOutcome;
	try {
		outcome = { answer: await requestCancel(execution, handle, itemIndex) };
	} catch (error) {
		outcome = {
			unconfirmed: execution.client.redact(error instanceof Error ? error.message : String(error)),
		};
	}
	execution.ledger.settle(handle.request_id, { state: 'cancelled', outcome });
	return outcome;
}

/**
 * PUT a cancel and return fal's answer (`CANCELLATION_REQUESTED`, `ALREADY_COMPLETED`, `NOT_FOUND`:
 * answers, not errors). Interrupted only by `signal` (the Cancel operation passes Stop's; a cancel
 * on the way out none).
 */
export async function requestCancel(
	execution: Execution,
	handle: JobHandle,
	itemIndex: number,
	signal?: AbortSignal,
): Promise<string> {
	const options: CallOptions = { itemIndex, requestId: handle.request_id, signal };
	const answer = await execution.client.cancel(handle.cancel_url, options);
	const status = (answer.body as IDataObject | undefined)?.status;
	if (typeof status === 'string' && [202, 200, 400, 404].includes(answer.statusCode)) return status;
	throw execution.client.apiError(answer, 'cancel', options);
}

/** Builds the handle from a submit answer, with its URLs moved onto the credential's base URL. */
function handleFrom(execution: Execution, answer: IDataObject, itemIndex: number): JobHandle {
	const id = answer.request_id;
	// An answer without a request id may still have queued a job: said as such, like any unknown
	// submit answer.
	if (typeof id !== 'string' || id === '')
		throw execution.client.apiError({ statusCode: 200, headers: {}, body: answer }, 'submit', {
			itemIndex,
		});
	return {
		request_id: id,
		status: typeof answer.status === 'string' ? answer.status : 'IN_QUEUE',
		...urlsFromSubmit(execution.client.baseUrl, id, answer),
		queue_position: typeof answer.queue_position === 'number' ? answer.queue_position : null,
	};
}

const WHY: Record<Interruption, string> = {
	stopped: 'The execution was stopped',
	batch: 'Another item failed',
	timeout: 'Timed out',
};

/** Ends an item's wait that was interrupted, in the words of what really happened to its job. */
async function interrupted(
	execution: Execution,
	reason: Interruption,
	phase: 'waiting' | 'finished',
	handle: JobHandle,
	last: IDataObject,
	itemIndex: number,
	controls: RunControls,
): Promise<INodeExecutionData> {
	const requestId = handle.request_id;
	const lastStatus = typeof last.status === 'string' ? last.status : handle.status;
	const seconds = `${controls.timeoutMs / 1000} s`;
	if (reason === 'timeout' && controls.onTimeout === 'outputHandle') {
		execution.ledger.settle(requestId, { state: 'handedOff' });
		return {
			json: {
				...handle,
				status: lastStatus,
				queue_position: (last.queue_position as number | undefined) ?? null,
				timed_out: true,
			},
		};
	}
	const why = reason === 'timeout' ? `Timed out after ${seconds}` : WHY[reason];
	if (phase === 'finished') {
		// The job is over at fal: nothing to cancel. Say so, so that nobody submits it again to get its
		// result.
		execution.ledger.settle(requestId, { state: 'finished' });
		throw tagJob(
			interruptedError(
				execution,
				`${why} while fetching the result of request ${requestId}`,
				itemIndex,
				`The job had finished at fal and is billed: fetch its result with Resource "Request" > ` +
					`Get Result and request id ${requestId} (fal keeps results about an hour).`,
			),
			handle,
		);
	}
	if (reason === 'timeout' && controls.onTimeout === 'fail') {
		execution.ledger.settle(requestId, {
			state: 'leftRunning',
			reason: `Timeout after ${seconds}`,
		});
		throw tagJob(
			interruptedError(
				execution,
				`Timed out after ${seconds} waiting for request ${requestId} (last status ${lastStatus})`,
				itemIndex,
				`The job goes on at fal and may still be billed. Fetch it later with Resource "Request" ` +
					`> Get Result and request id ${requestId}, or raise the Timeout option.`,
			),
			handle,
		);
	}
	if (reason !== 'timeout' && !execution.owns(requestId)) {
		// Get Result of a job submitted elsewhere: Stop or the halt end the wait, not the job.
		throw tagJob(
			interruptedError(
				execution,
				`${why} waiting for request ${requestId}; the job was left running at fal (this ` +
					`execution did not submit it)`,
				itemIndex,
				`Fetch it later with Resource "Request" > Get Result and request id ${requestId}.`,
			),
			handle,
		);
	}
	// Stopped, another item failed, or On Timeout = cancel: do not leave the job running unseen. An
	// item that will fail halts the others first, so that nothing more is submitted while its cancel
	// is under way.
	const failure = tagJob(
		interruptedError(execution, `${why} waiting for request ${requestId}`, itemIndex),
		handle,
	);
	if (reason === 'timeout' && !execution.ctx.continueOnFail()) execution.fail(failure, itemIndex);
	failure.message += `; ${cancelOutcomeText(await cancelJob(execution, handle, itemIndex))}`;
	throw failure;
}

function interruptedError(
	execution: Execution,
	message: string,
	itemIndex: number,
	description?: string,
): NodeOperationError {
	return new NodeOperationError(execution.ctx.getNode(), message, { itemIndex, description });
}

function notSubmitted(execution: Execution, itemIndex: number): NodeOperationError {
	const why =
		execution.interruption() === 'stopped' ? 'the execution was stopped' : 'another item failed';
	return interruptedError(
		execution,
		`Not submitted: ${why} before this item's job was sent`,
		itemIndex,
		'Nothing was queued or billed for this item.',
	);
}

/**
 * A gateway's own terminal status (FAILED, ERROR, CANCELLED...): the end of the job, in the
 * gateway's words.
 */
function endedByGateway(
	execution: Execution,
	status: IDataObject,
	itemIndex: number,
	requestId: string,
): NodeApiError {
	const words = [status.error, status.detail, status.message].find(
		(value) => typeof value === 'string' && value.trim() !== '',
	);
	const shown = typeof status.status === 'string' ? status.status : 'no status';
	const error = `the server ended the job with status ${shown}${words ? `: ${String(words)}` : ''}`;
	return execution.client.jobFailed({ ...status, error }, { itemIndex, requestId });
}

/**
 * A job fal reports COMPLETED with an error says little in the status ("Invalid status code: 422");
 * its result carries the model's own answer (for a 422, each field by name). Fetched once, never
 * interrupting the report of the failure; the status's text is the fallback.
 */
async function failureReason(
	execution: Execution,
	handle: JobHandle,
	status: IDataObject,
	options: CallOptions,
): Promise<NodeApiError> {
	const { client } = execution;
	const requestId = handle.request_id;
	try {
		const answer = await client.result(handle.response_url, { ...options, once: true });
		if (answer.statusCode === 422) return client.apiError(answer, 'result', options);
		const detail = detailText(answer.body);
		if (answer.statusCode >= 400 && detail && detail !== status.error)
			return client.jobFailed({ ...status, error: detail }, { ...options, requestId });
	} catch (error) {
		client.debug('the result of a failed job could not be read', error);
	}
	return client.jobFailed(status, { ...options, requestId });
}

/**
 * What an AI Agent gets back: the image URLs and sizes, the seed and the prompt, with no binary
 * data and no inline data URIs (sync mode) that would flood the model's context.
 */
function toolAnswer(result: IDataObject, images: IDataObject[], requestId: string): IDataObject {
	return {
		request_id: requestId,
		prompt: result.prompt,
		seed: result.seed,
		images: images.map(({ url, width, height, content_type }) => ({
			url:
				typeof url === 'string' && url.startsWith('data:')
					? `(inline ${String(content_type ?? 'image')}, not shown)`
					: url,
			width,
			height,
			content_type,
		})),
		has_nsfw_concepts: result.has_nsfw_concepts,
	};
}
