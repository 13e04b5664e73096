/**
 * A job the node could not see through to a success, in words that say what became of it: ended by
 * a gateway, failed at fal (with the model's own reason), or lost track of while it may still run.
 */

import type { IDataObject, NodeApiError, NodeOperationError } from 'n8n-workflow';

import { detailText } from '../fal/detail';
import type { CallOptions } from '../transport';
import { cancelJob } from './cancel';
import type { Execution } from './execution';
import type { JobHandle } from './handle';
import { cancelOutcomeText } from './ledger';

/**
 * A gateway's own terminal status (FAILED, ERROR, CANCELLED...): the end of the job, in the
 * gateway's words.
 */
export function endedByGateway(
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
export async function failureReason(
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
 * The node could not follow a job to its end (its status could not be read): say that the job may
 * still run and be billed, never that it is gone. If the run is failing and the job is this
 * execution's, halt the other items first, then cancel it rather than leave it running unseen.
 */
export async function lostTrack(
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
