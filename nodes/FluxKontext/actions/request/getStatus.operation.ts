import type { INodeExecutionData } from 'n8n-workflow';

import type { Execution } from '../../job/execution';
import { asNodeError } from '../../job/execution';
import { tagJob } from '../../job/handle';
import { requestOf } from './common';

/** fal's status body (status, queue_position, logs, metrics, error, error_type) plus request_id. */
export async function execute(
	execution: Execution,
	itemIndex: number,
): Promise<INodeExecutionData> {
	const { client } = execution;
	const { handle } = requestOf(execution.ctx, itemIndex, client.baseUrl);
	const options = { itemIndex, requestId: handle.request_id, signal: execution.interrupt };
	try {
		const status = client.expectJson(
			await client.status(handle.status_url, true, options),
			'status',
			options,
		);
		return { json: { ...status, request_id: handle.request_id } };
	} catch (error) {
		throw tagJob(asNodeError(execution.ctx, error, itemIndex), handle);
	}
}
