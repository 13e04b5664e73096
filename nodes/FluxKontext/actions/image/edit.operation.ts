import type { INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { LIMITS } from '../../fal/constants';
import type { Execution } from '../../job/execution';
import { runImageJob } from './common';
import type { ImageInput, PendingImage } from './inputImages';
import { closeImages, collectImages, sendImages } from './inputImages';

const show = { resource: ['image'], operation: ['edit'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Image Source',
		name: 'imageSource',
		type: 'options',
		displayOptions: { show },
		options: [
			{
				name: 'URL',
				value: 'url',
				description: 'A public http(s) URL or a data URL (several for a multi-image edit)',
			},
			{
				name: 'Binary File',
				value: 'binary',
				description:
					'An image in a binary field of the input item (several for a multi-image edit)',
			},
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
			'The image to edit: an http(s) URL fal can download, or a data URL ' +
			'(data:image/png;base64,...). JPEG, PNG, WebP, GIF or AVIF. Several images (one per ' +
			"line, separated by commas, or an array from an expression) use fal's multi-image " +
			'endpoint.',
	},
	{
		displayName: 'Input Binary Field',
		name: 'binaryPropertyName',
		type: 'string',
		required: true,
		displayOptions: { show: { ...show, imageSource: ['binary'] } },
		default: 'data',
		placeholder: 'e.g. data',
		hint:
			'The name of the input binary field containing the image. Several, separated by ' +
			"commas, use fal's multi-image endpoint.",
		description:
			'Binary field of the input item holding the image (JPEG, PNG, WebP, GIF or AVIF). It is ' +
			"uploaded to fal's storage when the credential has one, else sent inline (see the Image " +
			'Upload option).',
	},
];

/** Edit's image input: one image, or several for the multi-image endpoints of [pro] and [max]. */
export const EDIT_IMAGES: ImageInput = {
	source: 'imageSource',
	sourceLabel: 'Image Source',
	url: 'imageUrl',
	binary: 'binaryPropertyName',
	binaryDefault: 'data',
	urlLabel: 'Image URL',
	binaryLabel: 'Input Binary Field',
};

export async function execute(
	execution: Execution,
	itemIndex: number,
): Promise<INodeExecutionData[]> {
	return await runImageJob(execution, itemIndex, 'edit', async (ctx, check, spec) => {
		const images: PendingImage[] = [];
		try {
			await collectImages(ctx, check, execution, EDIT_IMAGES, images);
			if (images.length > 1 && !spec.multiId) {
				check.fail(
					images.every((image) => typeof image === 'string') ? 'Image URL' : 'Input Binary Field',
					`${images.length} images given, but ${spec.name} edits one image`,
					'Give one image, or use model Pro or Max for a multi-image edit',
				);
			}
			if (images.length > LIMITS.images.max) {
				check.fail(
					'Image URL',
					`${images.length} images given`,
					`Give at most ${LIMITS.images.max} images`,
				);
			}
			const urls = await sendImages(ctx, check, execution, images);
			return urls.length === 1 || !spec.multiId
				? { endpoint: spec.id, input: { image_url: urls[0] } }
				: { endpoint: spec.multiId, input: { image_urls: urls } };
		} finally {
			closeImages(images);
		}
	});
}
