import type { INodeExecutionData } from 'n8n-workflow';

import type { Execution } from '../../helpers/execution';
import { requestOf } from './common';

/** request_id and fal's answer: CANCELLATION_REQUESTED, ALREADY_COMPLETED or NOT_FOUND (answers, not errors). */
export async function execute(execution: Execution, itemIndex: number): Promise<INodeExecutionData> {
	const { requestId, cancel_url } = requestOf(execution.ctx, itemIndex, execution.client.baseUrl);
	const status = await execution.cancel(cancel_url, requestId, itemIndex);
	return { json: { request_id: requestId, status } };
}
