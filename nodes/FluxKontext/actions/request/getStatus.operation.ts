import type { INodeExecutionData } from 'n8n-workflow';

import type { Execution } from '../../helpers/execution';
import { requestOf } from './common';

/** fal's status body (status, queue_position, logs, metrics, error, error_type) plus request_id. */
export async function execute(execution: Execution, itemIndex: number): Promise<INodeExecutionData> {
	const { client } = execution;
	const { requestId, status_url } = requestOf(execution.ctx, itemIndex, client.baseUrl);
	const options = { itemIndex, requestId };
	const status = client.expectJson(await client.status(status_url, true, options), 'status', options);
	return { json: { ...status, request_id: requestId } };
}
