import type { IDataObject, NodeApiError, NodeOperationError } from 'n8n-workflow';

import { tagRequest } from '../fal/error-tags';
import type { JobUrls } from '../fal/urls';

/** The queue handle of a job: what a downstream node needs to carry on without this one. */
export interface JobHandle extends JobUrls, IDataObject {
	request_id: string;
	status: string;
	queue_position: number | null;
}

type NodeError = NodeApiError | NodeOperationError;

/**
 * Marks an error with the job it belongs to, so that Continue On Fail outputs the request id and
 * the URLs the node really used (a gateway's own, not ones rebuilt from fal's URL shape).
 */
export function tagJob<E extends NodeError>(error: E, handle: JobHandle): E {
	Object.assign(tagRequest(error, handle.request_id), { job: handle });
	return error;
}

/** The handle an error was tagged with, if any. */
export function jobOf(error: unknown): JobHandle | undefined {
	const job = (error as { job?: unknown } | undefined)?.job;
	return job && typeof job === 'object' ? (job as JobHandle) : undefined;
}
