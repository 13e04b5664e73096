import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';

import type { EndpointSpec, Operation } from '../../fal/endpoints';
import { maxQueueLength, requestHeaders } from '../../helpers/headers';
import { modelInput } from '../../helpers/modelInput';
import type { Execution } from '../../job/execution';
import { finishJob, submitJob } from '../../job/lifecycle';
import { InputChecker, runControls } from '../../helpers/validation';
import { endpointFor } from './model';

const show = { resource: ['image'] };

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
		'For Edit: the change to make, in plain words. For Text to Image: the image to create. ' +
		'For Inpaint: what to paint into the masked area.',
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

/** The images of an item's input, and the endpoint they go to (the multi-image one for several). */
export type BuildInput = (
	ctx: IExecuteFunctions,
	check: InputChecker,
	endpoint: EndpointSpec,
) => Promise<{ endpoint: string; input: IDataObject }>;

/**
 * What Edit, Text to Image and Inpaint share: check every input before spending money, submit,
 * then either output the queue handle or follow the job to its result.
 */
export async function runImageJob(
	execution: Execution,
	itemIndex: number,
	operation: Operation,
	build: BuildInput,
): Promise<INodeExecutionData[]> {
	const { ctx } = execution;
	const check = new InputChecker(ctx.getNode(), itemIndex);
	const options = ctx.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const controls = runControls(check, options);
	const spec = endpointFor(check, operation, ctx.getNodeParameter('model', itemIndex, 'pro'));
	const prompt = check.prompt(ctx.getNodeParameter('prompt', itemIndex));
	const fields = modelInput(check, options, spec);
	const headers = requestHeaders(check, options);
	const queueLimit = maxQueueLength(check, options);
	const wait = check.boolean(
		'Wait for Completion',
		ctx.getNodeParameter('waitForCompletion', itemIndex, true),
	);
	// Last, as it may read input binaries: every cheaper check has passed by then.
	const { endpoint, input } = await build(ctx, check, spec);
	const body: IDataObject = { prompt, ...input, ...fields };

	const handle = await submitJob(execution, itemIndex, {
		endpoint,
		input: body,
		webhookUrl: controls.webhookUrl,
		maxQueueLength: queueLimit,
		headers,
	});
	if (!wait) {
		execution.ledger.settle(handle.request_id, { state: 'handedOff' });
		return [{ json: handle }];
	}
	return await finishJob(execution, handle, itemIndex, controls, endpoint);
}
