/**
 * Cancelling a job: the PUT and fal's answer, and the ledger's record of what became of it.
 */

import type { IDataObject } from 'n8n-workflow';

import type { CallOptions } from '../transport';
import type { Execution } from './execution';
import type { JobHandle } from './handle';
import type { CancelOutcome } from './ledger';

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
