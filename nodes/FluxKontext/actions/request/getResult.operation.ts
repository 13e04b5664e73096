import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import type { Execution } from '../../job/execution';
import { finishJob } from '../../job/lifecycle';
import { fetchResult } from '../../job/result';
import { runControls } from '../../helpers/validation';
import { requestOf } from './common';

/**
 * The same output as a finished Edit or Text to Image: fal's result, request_id, and the images as
 * binary data (Split Into Items: one item per image). By default a job still under way is followed
 * to its end first (Timeout and On Timeout apply).
 */
export async function execute(
	execution: Execution,
	itemIndex: number,
): Promise<INodeExecutionData[]> {
	const { ctx } = execution;
	const { handle, check } = requestOf(ctx, itemIndex, execution.client.baseUrl);
	const controls = runControls(
		check,
		ctx.getNodeParameter('options', itemIndex, {}) as IDataObject,
	);
	if (
		check.boolean('Wait for Completion', ctx.getNodeParameter('waitForCompletion', itemIndex, true))
	) {
		return await finishJob(execution, handle, itemIndex, controls);
	}
	return await fetchResult(execution, handle, itemIndex, controls);
}
