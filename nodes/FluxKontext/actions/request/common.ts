import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { InputChecker } from '../../helpers/validation';
import { parseRequestId, urlsForRequest } from '../../fal/urls';
import type { JobUrls } from '../../fal/urls';
import { binaryPropertyOutputOption, downloadImagesOption, maxConcurrencyOption } from '../shared';

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
		{ ...downloadImagesOption, displayOptions: { show: { '/operation': ['getResult'] } } },
		maxConcurrencyOption,
		{ ...binaryPropertyOutputOption, displayOptions: { show: { '/operation': ['getResult'] } } },
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
