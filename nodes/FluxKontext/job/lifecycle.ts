/**
 * The life of one paid job, from submit to result: submit, follow, fetch, cancel, the item's
 * Timeout and the batch halt (the pieces: follow.ts, result.ts, cancel.ts, interruptions.ts,
 * failures.ts). Every wait here ends at once on Stop, on the halt or at the Timeout
 * (one signal per item, derived from the execution's), and every job is entered in the execution's
 * ledger with what became of it.
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { jobFailedAtFal, mayHaveQueuedJob, requestIdOf } from '../fal/error-tags';
import { appIdOf } from '../fal/endpoints';
import { urlsFromSubmit } from '../fal/urls';
import type { CallOptions } from '../transport';
import { anySignal, startDeadline } from '../transport/signals';
import type { RunControls } from '../helpers/validation';
import { cancelJob } from './cancel';
import type { Execution } from './execution';
import { asNodeError } from './execution';
import { endedByGateway, failureReason, lostTrack } from './failures';
import { waitForCompletion } from './follow';
import type { JobHandle } from './handle';
import { tagJob } from './handle';
import { interrupted, interruptedError, notSubmitted, WHY } from './interruptions';
import { cancelOutcomeText } from './ledger';
import { resultItems } from './result';

export interface JobRequest {
	endpoint: string;
	input: IDataObject;
	webhookUrl?: string;
	/** fal refuses the job at once (429) when its queue is longer (query fal_max_queue_length). */
	maxQueueLength?: number;
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
	const { webhookUrl, maxQueueLength } = request;
	const query: IDataObject = {};
	if (webhookUrl) query.fal_webhook = webhookUrl;
	if (maxQueueLength !== undefined) query.fal_max_queue_length = maxQueueLength;
	try {
		const answer = await execution.client.submit(
			request.endpoint,
			request.input,
			query,
			{ itemIndex, gate: execution.interrupt },
			request.headers,
		);
		handle = handleFrom(execution, answer, itemIndex, appIdOf(request.endpoint));
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
		if (maxQueueLength !== undefined && (failure as NodeApiError).httpCode === '429') {
			failure.message = `fal's queue is longer than ${maxQueueLength}: not submitted, not billed`;
			failure.description =
				'fal refused the job at once, as Max Queue Length asks when its queue for this ' +
				'endpoint is longer. Run the item again later, or raise or remove Max Queue Length.';
		}
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
 * hour). `endpoint` is given for a job the item has just submitted: its polls are then timed by
 * what the execution learned of that endpoint.
 */
export async function finishJob(
	execution: Execution,
	handle: JobHandle,
	itemIndex: number,
	controls: RunControls,
	endpoint?: string,
): Promise<INodeExecutionData[]> {
	const followed = { endpoint: endpoint ?? '', submittedAt: endpoint ? Date.now() : undefined };
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
			followed,
		);
		phase = 'ended';
		if (final.status !== 'COMPLETED') throw endedByGateway(execution, final, itemIndex, requestId);
		if (final.error) throw await failureReason(execution, handle, final, options);
		phase = 'finished';
		const items = await resultItems(execution, handle, itemIndex, controls, signal);
		execution.ledger.settle(requestId, { state: 'finished' });
		return items;
	} catch (error) {
		// A job that ended in failure is reported as such, even if an interruption came while reading
		// why.
		if (signal.aborted && phase !== 'ended')
			return [
				await interrupted(
					execution,
					execution.interruption(),
					phase,
					handle,
					last,
					itemIndex,
					controls,
				),
			];
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

function handleFrom(
	execution: Execution,
	answer: IDataObject,
	itemIndex: number,
	appId: string,
): JobHandle {
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
		...urlsFromSubmit(execution.client.baseUrl, id, answer, appId),
		queue_position: typeof answer.queue_position === 'number' ? answer.queue_position : null,
	};
}
