import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';

import { falModelPage } from '../../fal/constants';
import { requestHeaders } from '../../helpers/headers';
import type { Execution } from '../../job/execution';
import { finishJob, submitJob } from '../../job/lifecycle';
import { InputChecker, modelOptions, runControls } from '../../helpers/validation';

const show = { resource: ['image'] };

export const modelProperty: INodeProperties = {
	displayName: 'Model',
	name: 'model',
	type: 'options',
	displayOptions: { show },
	options: [
		{ name: 'FLUX.1 Kontext [Pro]', value: 'pro', description: 'Fast, and the cheaper of the two' },
		{
			name: 'FLUX.1 Kontext [Max]',
			value: 'max',
			description: 'Best prompt adherence and typography, at a higher price per image',
		},
	],
	default: 'pro',
	description: `Prices per image are on fal's model pages: ${(['pro', 'max'] as const)
		.map((model) => `<a href="${falModelPage(model)}">${model === 'pro' ? 'Pro' : 'Max'}</a>`)
		.join(', ')}`,
};

export const promptProperty: INodeProperties = {
	displayName: 'Prompt',
	name: 'prompt',
	type: 'string',
	typeOptions: { rows: 3 },
	required: true,
	displayOptions: { show },
	default: '',
	placeholder: 'e.g. Put a donut next to the flour',
	description:
		'For Edit: the change to make, in plain words. For Text to Image: the image to create.',
};

export const waitProperty: INodeProperties = {
	displayName: 'Wait for Completion',
	name: 'waitForCompletion',
	type: 'boolean',
	displayOptions: { show },
	default: true,
	description:
		'Whether to wait for the job and output its result and images. Off: output the queue handle ' +
		'(request_id, status_url, response_url, cancel_url) at once, for Get Status, Get Result or ' +
		'Cancel later.',
};

export type BuildInput = (
	ctx: IExecuteFunctions,
	check: InputChecker,
	model: 'pro' | 'max',
) => Promise<{ endpoint: string; input: IDataObject }>;

/**
 * What Edit and Text to Image share: check every input before spending money, submit, then either
 * output the queue handle or follow the job to its result.
 */
export async function runImageJob(
	execution: Execution,
	itemIndex: number,
	build: BuildInput,
): Promise<INodeExecutionData> {
	const { ctx } = execution;
	const check = new InputChecker(ctx.getNode(), itemIndex);
	const options = ctx.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const controls = runControls(check, options);
	const model = check.oneOf('Model', ctx.getNodeParameter('model', itemIndex, 'pro'), [
		'pro',
		'max',
	] as const);
	const prompt = check.prompt(ctx.getNodeParameter('prompt', itemIndex));
	const fields = modelOptions(check, options);
	const headers = requestHeaders(check, options);
	const wait = check.boolean(
		'Wait for Completion',
		ctx.getNodeParameter('waitForCompletion', itemIndex, true),
	);
	// Last, as it may read input binaries: every cheaper check has passed by then.
	const { endpoint, input } = await build(ctx, check, model);
	const body: IDataObject = { prompt, ...input, ...fields };

	const handle = await submitJob(execution, itemIndex, {
		endpoint,
		input: body,
		webhookUrl: controls.webhookUrl,
		headers,
	});
	if (!wait) {
		execution.ledger.settle(handle.request_id, { state: 'handedOff' });
		return { json: handle };
	}
	return await finishJob(execution, handle, itemIndex, controls);
}
