import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { appIdOfModel, MODELS } from '../../fal/endpoints';
import { parseAppId, parseRequestId, urlsForRequest } from '../../fal/urls';
import type { JobHandle } from '../../job/handle';
import { InputChecker } from '../../helpers/validation';
import {
	binaryPropertyOutputOption,
	downloadImagesOption,
	maxConcurrencyOption,
	onTimeoutOption,
	optionsCollection,
	splitImagesOption,
	timeoutOption,
} from '../shared';
import { MODEL_TEXT } from '../image/model';

const show = { resource: ['request'] };
const onGetResult = { show: { '/operation': ['getResult'] } };

export const requestIdProperty: INodeProperties = {
	displayName: 'Request ID',
	name: 'requestId',
	type: 'string',
	required: true,
	displayOptions: { show },
	default: '={{ $json.request_id }}',
	placeholder: 'e.g. acf05732-7cb3-445b-9f39-fdaeccb1d730',
	description:
		'The request_id of a job (the output of Edit or Text to Image with Wait for Completion off). ' +
		'A status or result URL of the job works too.',
};

export const requestModelProperty: INodeProperties = {
	displayName: 'Model',
	name: 'model',
	type: 'options',
	displayOptions: { show },
	options: MODELS.map((model) => ({
		name: MODEL_TEXT[model].name,
		value: model,
		description: `Jobs under fal's app ${appIdOfModel(model)}`,
	})),
	default: 'pro',
	description:
		"The model the job was submitted to: fal keeps its status and result under that model's " +
		'app. A status or result URL given as Request ID names the app itself.',
};

export const waitForResultProperty: INodeProperties = {
	displayName: 'Wait for Completion',
	name: 'waitForCompletion',
	type: 'boolean',
	displayOptions: { show: { ...show, operation: ['getResult'] } },
	default: true,
	description:
		'Whether to follow a job that is still queued or running to its end, then output its result ' +
		'(bounded by the Timeout option). Off: answer at once, failing while the job has not ' +
		'finished.',
};

export const requestOptionsProperty: INodeProperties = optionsCollection(show, [
	{ ...downloadImagesOption, displayOptions: onGetResult },
	maxConcurrencyOption,
	{ ...onTimeoutOption, displayOptions: onGetResult },
	{ ...binaryPropertyOutputOption, displayOptions: onGetResult },
	{ ...splitImagesOption, displayOptions: onGetResult },
	{ ...timeoutOption, displayOptions: onGetResult },
]);

/**
 * The item's request id, checked, as a handle with the job's URLs on the credential's base URL
 * (fal's app path: a Kontext job's status, result and cancel URLs never carry the endpoint's
 * sub-path). The app comes from a queue URL given as Request ID, else from the Model field.
 */
export function requestOf(
	ctx: IExecuteFunctions,
	itemIndex: number,
	baseUrl: string,
): { handle: JobHandle; check: InputChecker } {
	const check: InputChecker = new InputChecker(ctx.getNode(), itemIndex);
	const value = ctx.getNodeParameter('requestId', itemIndex, '') as unknown;
	const requestId = parseRequestId(value);
	const appId =
		parseAppId(value) ??
		appIdOfModel(check.oneOf('Model', ctx.getNodeParameter('model', itemIndex, 'pro'), MODELS));
	if (!requestId) {
		const shown =
			value === undefined || value === null || (typeof value === 'string' && value.trim() === '')
				? 'is empty'
				: typeof value === 'string'
					? `"${value.slice(0, 60)}" is not a fal request ID`
					: 'is not text';
		check.fail(
			'Request ID',
			shown,
			'Use the request_id output by Edit or Text to Image (a UUID such as ' +
				'acf05732-7cb3-445b-9f39-fdaeccb1d730)',
		);
	}
	return {
		check,
		handle: {
			request_id: requestId,
			status: 'UNKNOWN',
			...urlsForRequest(baseUrl, requestId, appId),
			queue_position: null,
		},
	};
}
