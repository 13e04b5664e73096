import type { IDisplayOptions, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { LIMITS } from '../fal/constants';
import { InputChecker } from '../helpers/validation';

export const maxConcurrencyOption: INodeProperties = {
	displayName: 'Max Concurrent Requests',
	name: 'maxConcurrency',
	type: 'number',
	typeOptions: {
		minValue: LIMITS.maxConcurrency.min,
		maxValue: LIMITS.maxConcurrency.max,
		numberPrecision: 0,
	},
	default: 10,
	description:
		"How many items run at the same time. fal queues what exceeds your account's limit; lower it " +
		'for a gateway that does not.',
};

/** Output controls shared by Edit/Text to Image and Get Result. */
export const downloadImagesOption: INodeProperties = {
	displayName: 'Download Images',
	name: 'downloadImages',
	type: 'boolean',
	default: true,
	description:
		"Whether to download the images into binary fields (data, data_1, ...). Off: output fal's " +
		'image URLs only.',
};

export const binaryPropertyOutputOption: INodeProperties = {
	displayName: 'Put Output Images In Field',
	name: 'binaryPropertyOutput',
	type: 'string',
	default: 'data',
	description:
		'Binary field of the first image; the next ones get _1, _2, _3 appended (data, data_1, ...)',
};

export const splitImagesOption: INodeProperties = {
	displayName: 'Split Into Items',
	name: 'splitImages',
	type: 'boolean',
	default: false,
	description:
		'Whether to output one item per image (its binary in Put Output Images In Field, its ' +
		"json the image's entry, request_id, seed, prompt and image_index), as Write File or an " +
		'upload node expects. Off: one item per job, its images in data, data_1, ...',
};

export const timeoutOption: INodeProperties = {
	displayName: 'Timeout (Seconds)',
	name: 'timeout',
	type: 'number',
	typeOptions: { minValue: LIMITS.timeout.min, maxValue: LIMITS.timeout.max },
	default: 600, // LIMITS.timeout.default (the linter wants a literal)
	description:
		`How long to wait for the job to finish (time in fal's queue, running, fetching ` +
		`the result and images) before On Timeout applies; up to ${LIMITS.timeout.max} (24 days)`,
};

export const onTimeoutOption: INodeProperties = {
	displayName: 'On Timeout',
	name: 'onTimeout',
	type: 'options',
	options: [
		{
			name: 'Fail the Item',
			value: 'fail',
			description: 'Error with the request ID; the job goes on at fal',
		},
		{
			name: 'Output the Queue Handle',
			value: 'outputHandle',
			description: 'Output request_id and URLs (timed_out: true) to fetch the result later',
		},
		{
			name: 'Cancel the Job',
			value: 'cancel',
			description: 'Cancel it at fal, then fail the item',
		},
	],
	default: 'fail',
	description: 'What to do when the job has not finished within the timeout',
};

/**
 * The `options` collection of a resource or operation, with its fields (sorted by display name, as
 * n8n's editor expects).
 */
export function optionsCollection(
	show: NonNullable<IDisplayOptions['show']>,
	options: INodeProperties[],
): INodeProperties {
	return {
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		displayOptions: { show },
		default: {},
		options,
	};
}

/** The node-wide concurrency limit (read from the first item, like every node-wide setting). */
export function maxConcurrency(ctx: IExecuteFunctions): number {
	const value = ctx.getNodeParameter('options.maxConcurrency', 0, LIMITS.maxConcurrency.default);
	return new InputChecker(ctx.getNode(), 0).number('Max Concurrent Requests', value, {
		...LIMITS.maxConcurrency,
		integer: true,
	});
}
