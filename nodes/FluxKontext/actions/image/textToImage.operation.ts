import type { INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { Execution } from '../../job/execution';
import { runImageJob } from './common';

/** Text to Image needs no fields beyond the shared ones (model, prompt, waiting, options). */
export const description: INodeProperties[] = [];

export async function execute(
	execution: Execution,
	itemIndex: number,
): Promise<INodeExecutionData[]> {
	return await runImageJob(execution, itemIndex, 'textToImage', async (_ctx, _check, spec) => ({
		endpoint: spec.id,
		input: {},
	}));
}
