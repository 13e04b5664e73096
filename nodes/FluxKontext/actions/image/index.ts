import type { INodeProperties } from 'n8n-workflow';

import { modelProperty, promptProperty, waitProperty } from './common';
import { optionsProperty } from './options';
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
			{
				name: 'Edit',
				value: 'edit',
				action: 'Edit an image',
				description: 'Change an image as a prompt describes (FLUX.1 Kontext image editing)',
			},
			{
				name: 'Text to Image',
				value: 'textToImage',
				action: 'Create an image from text',
				description: 'Create a new image from a prompt',
			},
		],
		default: 'edit',
	},
	modelProperty,
	promptProperty,
	...edit.description,
	...textToImage.description,
	waitProperty,
	{
		displayName:
			'Each item submits a paid job. n8n\'s "Retry On Fail" setting re-runs the whole node, ' +
			"submitting every item's job again: leave it off. The node itself retries what is safe " +
			'(reads, and a submit that fal refused before queueing).',
		name: 'retryNotice',
		type: 'notice',
		displayOptions: { show: { resource: ['image'] } },
		default: '',
	},
	optionsProperty,
];
