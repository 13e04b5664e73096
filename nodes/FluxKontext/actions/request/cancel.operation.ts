import type { INodeExecutionData } from 'n8n-workflow';

import type { Execution } from '../../job/execution';
import { asNodeError } from '../../job/execution';
import { tagJob } from '../../job/handle';
import { requestCancel } from '../../job/cancel';
import { requestOf } from './common';

/**
 * request_id and fal's answer: CANCELLATION_REQUESTED, ALREADY_COMPLETED or NOT_FOUND (answers, not
 * errors).
 */
export async function execute(
	execution: Execution,
	itemIndex: number,
): Promise<INodeExecutionData> {
	const { handle } = requestOf(execution.ctx, itemIndex, execution.client.baseUrl);
	try {
		const status = await requestCancel(execution, handle, itemIndex, execution.interrupt);
		return { json: { request_id: handle.request_id, status } };
	} catch (error) {
		throw tagJob(asNodeError(execution.ctx, error, itemIndex), handle);
	}
}
