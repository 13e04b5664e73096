import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { InputChecker } from '../../helpers/validation';
import { parseRequestId, urlsForRequest } from '../../transport/urls';
import type { JobUrls } from '../../transport/urls';
import { maxConcurrencyOption } from '../shared';

const show = { resource: ['request'] };

export const requestIdProperty: INodeProperties = {
	displayName: 'Request ID',
	name: 'requestId',
	type: 'string',
	required: true,
	displayOptions: { show },
	default: '={{ $json.request_id }}',
	placeholder: 'e.g. acf05732-7cb3-445b-9f39-fdaeccb1d730',
	description: 'The request_id of a job (the output of Edit or Text to Image with Wait for Completion off). A status or result URL of the job works too.',
};

export const requestOptionsProperty: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add Option',
	displayOptions: { show },
	default: {},
	options: [
		{
			displayName: 'Download Images',
			name: 'downloadImages',
			type: 'boolean',
			displayOptions: { show: { '/operation': ['getResult'] } },
			default: true,
			description: 'Whether to download the images into binary fields (data, data_1, ...). Off: output fal\'s image URLs only.',
		},
		maxConcurrencyOption,
		{
			displayName: 'Put Output Images In Field',
			name: 'binaryPropertyOutput',
			type: 'string',
			displayOptions: { show: { '/operation': ['getResult'] } },
			default: 'data',
			description: 'Binary field of the first image; the next ones get _1, _2, _3 appended (data, data_1, ...)',
		},
	],
};

/** The item's request id, checked, and the job's URLs on the credential's base URL. */
export function requestOf(ctx: IExecuteFunctions, itemIndex: number, baseUrl: string): { requestId: string; check: InputChecker } & JobUrls {
	const check: InputChecker = new InputChecker(ctx.getNode(), itemIndex);
	const value = ctx.getNodeParameter('requestId', itemIndex, '') as unknown;
	const requestId = parseRequestId(value);
	if (!requestId) {
		const shown =
			value === undefined || value === null || (typeof value === 'string' && value.trim() === '')
				? 'is empty'
				: typeof value === 'string'
					? `"${value.slice(0, 60)}" is not a fal request ID`
					: 'is not text';
		check.fail('Request ID', shown, 'Use the request_id output by Edit or Text to Image (a UUID such as acf05732-7cb3-445b-9f39-fdaeccb1d730)');
	}
	return { requestId, check, ...urlsForRequest(baseUrl, requestId) };
}
