import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import * as file from './actions/file';
import * as image from './actions/image';
import * as request from './actions/request';
import { route } from './actions/router';
import { CREDENTIAL_NAME } from './fal/constants';
import { assertSupportedCore } from './helpers/compat';

const properties: INodeProperties[] = [
	{
		displayName: 'Resource',
		name: 'resource',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Image', value: 'image', description: 'Edit an image, or create one from text' },
			{
				name: 'File',
				value: 'file',
				description:
					"Upload an image to fal's storage once, and use its URL in any number of edits",
			},
			{
				name: 'Request',
				value: 'request',
				description: 'Follow up on a job submitted earlier: status, result, cancel',
			},
		],
		default: 'image',
	},
	...image.description,
	...request.description,
	...file.description,
];

/**
 * The canvas subtitle: the chosen operation's display name ("Text to Image"), read off the
 * operation lists.
 */
function operationSubtitle(): string {
	const names: Record<string, string> = {};
	for (const property of properties.filter((p) => p.name === 'operation')) {
		for (const option of property.options ?? [])
			if ('value' in option) names[String(option.value)] = option.name;
	}
	return `={{ ${JSON.stringify(names)}[$parameter["operation"]] }}`;
}

/**
 * FLUX.1 Kontext on fal.ai's queue: the description assembles each resource's fields
 * (actions/<resource>/), execution goes through the router (actions/router.ts), HTTP through the
 * transport (transport/).
 */
export class FluxKontext implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'FLUX Kontext',
		name: 'fluxKontext',
		icon: { light: 'file:fluxKontext.svg', dark: 'file:fluxKontext.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: operationSubtitle(),
		description: 'Edit images and create images from text with FLUX.1 Kontext on fal.ai',
		defaults: { name: 'FLUX Kontext' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: CREDENTIAL_NAME, required: true }],
		properties,
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		assertSupportedCore(this);
		return await route.call(this);
	}
}
