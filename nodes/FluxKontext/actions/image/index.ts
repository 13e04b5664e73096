import type { INodeProperties } from 'n8n-workflow';

import { promptProperty, waitProperty } from './common';
import { optionsProperty } from './options';
import * as edit from './edit.operation';
import * as inpaint from './inpaint.operation';
import { modelProperties } from './model';
import * as textToImage from './textToImage.operation';

export { edit, inpaint, textToImage };

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
				description:
					'Change an image as a prompt describes (FLUX.1 Kontext image editing); [pro] and ' +
					'[max] also combine several images',
			},
			{
				name: 'Inpaint',
				value: 'inpaint',
				action: 'Paint a reference image into a masked area',
				description:
					'Repaint the masked area of an image with the subject of a reference image (a ' +
					'product, a garment, a face), as the prompt says; model LoRA',
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
	...modelProperties,
	promptProperty,
	...edit.description,
	...textToImage.description,
	...inpaint.description,
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
