import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { InputImage } from '../../helpers/input-images';
import { dataUrlBytes, dataUrlImage, readBinaryImage, toDataUrl } from '../../helpers/input-images';
import { endpointFor, LIMITS } from '../../fal/constants';
import { INLINE_LIMIT_BYTES } from '../../fal/storage';
import type { Execution } from '../../job/execution';
import { uploadImage } from '../../helpers/upload';
import type { InputChecker } from '../../helpers/validation';
import { splitImageUrls } from '../../helpers/validation';
import type { FalClient } from '../../transport';
import { runImageJob } from './common';
import { IMAGE_UPLOAD_MODES } from './options';

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

/** Mebibytes, for messages. */
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/**
 * The input images as fal wants them, in order: http(s) URLs as given, uploaded files as their
 * storage URL, small images inline as data URLs. Every image is checked (bytes and size) before the
 * first upload, and nothing is submitted when an upload fails.
 */
async function inputImages(
	ctx: IExecuteFunctions,
	check: InputChecker,
	execution: Execution,
): Promise<string[]> {
	const { client } = execution;
	const i = check.itemIndex;
	const mode = check.oneOf(
		'Image Upload',
		ctx.getNodeParameter('options.imageUpload', i, 'auto'),
		IMAGE_UPLOAD_MODES,
	);
	const storage = mode !== 'never' && client.storageUrl !== undefined;
	if (mode === 'always' && !storage) {
		check.fail(
			'Image Upload',
			'is Always Upload, but the credential has no storage',
			"Uploads go to fal's storage only with fal's own Base URL; a gateway needs its storage URL " +
				"in the credential's Storage URL field. Or set Image Upload to Auto or Never",
		);
	}
	const source = check.oneOf('Image Source', ctx.getNodeParameter('imageSource', i, 'url'), [
		'url',
		'binary',
	] as const);
	/** Each image: a URL to send as it is, or an image to upload or to send inline. */
	const images: Array<string | InputImage> = [];
	try {
		if (source === 'url') {
			const value = ctx.getNodeParameter('imageUrl', i, '') as unknown;
			const list = Array.isArray(value)
				? value
				: typeof value === 'string'
					? splitImageUrls(value)
					: [value];
			(list.length ? list : ['']).forEach((entry, n) => {
				const field = list.length > 1 ? `Image URL ${n + 1}` : 'Image URL';
				const url = check.imageUrl(entry, field);
				const size = url.startsWith('data:') ? dataUrlBytes(url) : 0;
				if (
					url.startsWith('data:') &&
					(mode === 'always' || (storage && size > INLINE_LIMIT_BYTES))
				)
					images.push(dataUrlImage(check, url, field));
				else if (size > INLINE_LIMIT_BYTES) tooLargeInline(check, field, size, client);
				else images.push(url);
			});
		} else {
			const value = ctx.getNodeParameter('binaryPropertyName', i, 'data') as unknown;
			const names = (typeof value === 'string' ? value : '')
				.split(',')
				.map((name) => name.trim())
				.filter(Boolean);
			if (!names.length)
				check.fail(
					'Input Binary Field',
					'is empty',
					'Give the name of the binary field holding the image, e.g. data',
				);
			// Every binary is read (its first bytes) and checked before the first upload.
			for (const name of names) {
				const image = await readBinaryImage(ctx, check, name);
				images.push(image);
				if (!storage && image.size > INLINE_LIMIT_BYTES)
					tooLargeInline(check, 'Input Binary Field', image.size, client, image.label);
			}
		}
		if (images.length > LIMITS.images.max) {
			check.fail(
				'Image URL',
				`${images.length} images given`,
				`Give at most ${LIMITS.images.max} images`,
			);
		}
		const urls: string[] = [];
		for (const image of images) {
			if (typeof image === 'string') urls.push(image);
			else
				urls.push(
					storage
						? await uploadImage(client, image, { itemIndex: i, signal: execution.interrupt })
						: await toDataUrl(image),
				);
		}
		return urls;
	} finally {
		for (const image of images) if (typeof image !== 'string') image.close();
	}
}

/** Refuses an image too large to go inline, saying how to send it instead. */
function tooLargeInline(
	check: InputChecker,
	field: string,
	size: number,
	client: FalClient,
	label?: string,
): never {
	const fix =
		client.storageUrl === undefined
			? "Give an http(s) URL of the image instead, or upload it: with fal's own Base URL images " +
				"go to fal's storage, and a gateway that mirrors fal's storage API can be set as the " +
				"credential's Storage URL"
			: 'Set the Image Upload option to Auto or Always Upload (the credential has a storage), or ' +
				'give an http(s) URL of the image';
	return check.fail(
		field,
		`${label ? `${label} ` : ''}is ${mib(size)}, over the ${mib(INLINE_LIMIT_BYTES)} limit of ` +
			`images sent inline`,
		fix,
	);
}

export async function execute(
	execution: Execution,
	itemIndex: number,
): Promise<INodeExecutionData> {
	return await runImageJob(execution, itemIndex, async (ctx, check, model) => {
		const images = await inputImages(ctx, check, execution);
		return images.length === 1
			? { endpoint: endpointFor(model, 'edit'), input: { image_url: images[0] } }
			: { endpoint: endpointFor(model, 'multi'), input: { image_urls: images } };
	});
}
