import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { binaryToDataUrl } from '../../helpers/binary';
import { endpointFor, LIMITS } from '../../fal/constants';
import type { Execution } from '../../job/execution';
import type { InputChecker } from '../../helpers/validation';
import { splitImageUrls } from '../../helpers/validation';
import { runImageJob } from './common';

const show = { resource: ['image'], operation: ['edit'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Image Source',
		name: 'imageSource',
		type: 'options',
		displayOptions: { show },
		options: [
			{ name: 'URL', value: 'url', description: 'A public http(s) URL or a data URL (several for a multi-image edit)' },
			{ name: 'Binary File', value: 'binary', description: 'An image in a binary field of the input item (several for a multi-image edit)' },
		],
		default: 'url',
	},
	{
		displayName: 'Image URL',
		name: 'imageUrl',
		type: 'string',
		required: true,
		displayOptions: { show: { ...show, imageSource: ['url'] } },
		default: '',
		placeholder: 'e.g. https://example.com/photo.png',
		description:
			'The image to edit: an http(s) URL fal can download, or a data URL (data:image/png;base64,...). JPEG, PNG, WebP, GIF or AVIF. Several images (one per line, separated by commas, or an array from an expression) use fal\'s multi-image endpoint.',
	},
	{
		displayName: 'Input Binary Field',
		name: 'binaryPropertyName',
		type: 'string',
		required: true,
		displayOptions: { show: { ...show, imageSource: ['binary'] } },
		default: 'data',
		placeholder: 'e.g. data',
		hint: 'The name of the input binary field containing the image. Several, separated by commas, use fal\'s multi-image endpoint.',
		description: 'Binary field of the input item holding the image (JPEG, PNG, WebP, GIF or AVIF); it is sent inline as a data URL',
	},
];

/** The input images as fal wants them (URLs or data URLs), in order, checked. */
async function inputImages(ctx: IExecuteFunctions, check: InputChecker): Promise<string[]> {
	const i = check.itemIndex;
	const source = check.oneOf('Image Source', ctx.getNodeParameter('imageSource', i, 'url'), ['url', 'binary'] as const);
	let images: string[];
	if (source === 'url') {
		const value = ctx.getNodeParameter('imageUrl', i, '') as unknown;
		const list = Array.isArray(value) ? value : typeof value === 'string' ? splitImageUrls(value) : [value];
		images = (list.length ? list : ['']).map((url, n) => check.imageUrl(url, list.length > 1 ? `Image URL ${n + 1}` : 'Image URL'));
	} else {
		const value = ctx.getNodeParameter('binaryPropertyName', i, 'data') as unknown;
		const names = (typeof value === 'string' ? value : '').split(',').map((name) => name.trim()).filter(Boolean);
		if (!names.length) check.fail('Input Binary Field', 'is empty', 'Give the name of the binary field holding the image, e.g. data');
		images = [];
		for (const name of names) images.push(await binaryToDataUrl(ctx, check, name));
	}
	if (images.length > LIMITS.images.max) {
		check.fail('Image URL', `${images.length} images given`, `Give at most ${LIMITS.images.max} images`);
	}
	return images;
}

export async function execute(execution: Execution, itemIndex: number): Promise<INodeExecutionData> {
	return await runImageJob(execution, itemIndex, async (ctx, check, model) => {
		const images = await inputImages(ctx, check);
		return images.length === 1
			? { endpoint: endpointFor(model, 'edit'), input: { image_url: images[0] } }
			: { endpoint: endpointFor(model, 'multi'), input: { image_urls: images } };
	});
}
