/**
 * An item's wait that Stop, the batch halt or the Timeout ended, told in the words of what really
 * happened to its job (cancelled, left running, handed off, finished and billed).
 */

import type { IDataObject, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { RunControls } from '../helpers/validation';
import { cancelJob } from './cancel';
import type { Execution, Interruption } from './execution';
import type { JobHandle } from './handle';
import { tagJob } from './handle';
import { cancelOutcomeText } from './ledger';

export const WHY: Record<Interruption, string> = {
	stopped: 'The execution was stopped',
	batch: 'Another item failed',
	timeout: 'Timed out',
};

/** Ends an item's wait that was interrupted, in the words of what really happened to its job. */

export async function interrupted(
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

export function interruptedError(
	execution: Execution,
	message: string,
	itemIndex: number,
	description?: string,
): NodeOperationError {
	return new NodeOperationError(execution.ctx.getNode(), message, { itemIndex, description });
}

export function notSubmitted(execution: Execution, itemIndex: number): NodeOperationError {
	const why =
		execution.interruption() === 'stopped' ? 'the execution was stopped' : 'another item failed';
	return interruptedError(
		execution,
		`Not submitted: ${why} before this item's job was sent`,
		itemIndex,
		'Nothing was queued or billed for this item.',
	);
}
