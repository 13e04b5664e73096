import type { INodeProperties } from 'n8n-workflow';

import { modelProperty, optionsProperty, promptProperty, waitProperty } from './common';
import * as edit from './edit.operation';
import * as textToImage from './textToImage.operation';

export { edit, textToImage };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['image'] } },
		options: [
			{ name: 'Edit', value: 'edit', action: 'Edit an image', description: 'Change an image as a prompt describes (FLUX.1 Kontext image editing)' },
			{ name: 'Text to Image', value: 'textToImage', action: 'Create an image from text', description: 'Create a new image from a prompt' },
		],
		default: 'edit',
	},
	modelProperty,
	promptProperty,
	...edit.description,
	...textToImage.description,
	waitProperty,
	optionsProperty,
];
