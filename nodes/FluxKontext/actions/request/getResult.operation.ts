import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import type { Execution } from '../../helpers/execution';
import { runControls } from '../../helpers/validation';
import { requestOf } from './common';

/** The same output as a finished Edit or Text to Image: fal's result, request_id, and the images as binary data. */
export async function execute(execution: Execution, itemIndex: number): Promise<INodeExecutionData> {
	const { ctx, client } = execution;
	const { requestId, response_url, check } = requestOf(ctx, itemIndex, client.baseUrl);
	const controls = runControls(check, ctx.getNodeParameter('options', itemIndex, {}) as IDataObject);
	return await execution.resultItem(requestId, response_url, itemIndex, controls);
}
