/**
 * What an error carries beyond its words: the request id of its job, and whether a paid job may
 * have been queued or failed at fal.
 */

import type { NodeApiError, NodeOperationError } from 'n8n-workflow';

/**
 * What to tell the user after a submit whose outcome is unknown (5xx, reset, timeout, a 2xx that is
 * not a job handle): fal may have queued, and will bill, the job. Running the item again blindly
 * may pay twice.
 */
export function mayHaveQueued(requestId: string | undefined): string {
	const check = requestId
		? `use Get Status with request id ${requestId}, or look in fal's request list ` +
			`(fal.ai/dashboard) or your gateway's`
		: "look for it in fal's request list (fal.ai/dashboard) or your gateway's; if you find it, " +
			'Get Status and Get Result take its request id';
	return (
		`The job may have been queued, and fal bills a queued job. The node did not retry the ` +
		`submit, so that it is not paid twice. Before running this item again, ${check}.`
	);
}

/**
 * Whether an error is a submit's that may have queued a paid job (a 5xx, a reset, a stall, an
 * answer without a handle).
 */
export function mayHaveQueuedJob(error: unknown): boolean {
	return (error as { mayHaveQueued?: unknown } | undefined)?.mayHaveQueued === true;
}

/**
 * Whether an error is a job's own failure at fal (its stored 5xx with an error type, or fal's start
 * deadline): not billed.
 */
export function jobFailedAtFal(error: unknown): boolean {
	return (error as { jobFailed?: unknown } | undefined)?.jobFailed === true;
}

/**
 * The request id an error belongs to, so that Continue On Fail can output it: no submitted job goes
 * unseen.
 */
export function requestIdOf(error: unknown): string | undefined {
	const id = (error as { requestId?: unknown } | undefined)?.requestId;
	return typeof id === 'string' ? id : undefined;
}

export function tagRequest<E extends NodeApiError | NodeOperationError>(
	error: E,
	requestId: string | undefined,
): E {
	if (requestId) Object.assign(error, { requestId });
	return error;
}
