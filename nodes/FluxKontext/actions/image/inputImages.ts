import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { InputImage } from '../../helpers/input-images';
import { dataUrlBytes, dataUrlImage, readBinaryImage, toDataUrl } from '../../helpers/input-images';
import { INLINE_LIMIT_BYTES } from '../../fal/storage';
import type { Execution } from '../../job/execution';
import { uploadImage } from '../../helpers/upload';
import type { InputChecker } from '../../helpers/validation';
import { splitImageUrls } from '../../helpers/validation';
import type { FalClient } from '../../transport';
import { IMAGE_UPLOAD_MODES } from './options';

/**
 * An image input of an operation: its three fields (source, URL, binary field) and their labels.
 * Edit has one (several images for the multi endpoints); Inpaint has three.
 */
export interface ImageInput {
	source: string;
	sourceLabel: string;
	url: string;
	binary: string;
	binaryDefault: string;
	urlLabel: string;
	binaryLabel: string;
}

/** An image as it will be sent: a URL as given, or an image to upload or to send inline. */
export type PendingImage = string | InputImage;

/** How the item's images travel: `storage` when they are uploaded (the Image Upload option). */
export function uploadMode(
	ctx: IExecuteFunctions,
	check: InputChecker,
	client: FalClient,
): { mode: (typeof IMAGE_UPLOAD_MODES)[number]; storage: boolean } {
	const mode = check.oneOf(
		'Image Upload',
		ctx.getNodeParameter('options.imageUpload', check.itemIndex, 'auto'),
		IMAGE_UPLOAD_MODES,
	);
	const storage = mode !== 'never' && client.storageUrl !== undefined;
	if (mode === 'always' && !storage) {
		check.fail(
			'Image Upload',
			'is Always Upload, but the credential has no storage',
			"Uploads go to fal's storage only with fal's own Base URL; a gateway needs its storage " +
				"URL in the credential's Storage URL field. Or set Image Upload to Auto or Never",
		);
	}
	return { mode, storage };
}

/**
 * The images of one input, checked (bytes, type, size) but not yet sent: several where a URL list
 * or a comma-separated binary field list gives several. The caller closes them (see
 * `sendImages`).
 */
export async function collectImages(
	ctx: IExecuteFunctions,
	check: InputChecker,
	execution: Execution,
	input: ImageInput,
	into: PendingImage[],
): Promise<void> {
	const { client } = execution;
	const i = check.itemIndex;
	const { mode, storage } = uploadMode(ctx, check, client);
	const source = check.oneOf(input.sourceLabel, ctx.getNodeParameter(input.source, i, 'url'), [
		'url',
		'binary',
	] as const);
	if (source === 'url') {
		const value = ctx.getNodeParameter(input.url, i, '') as unknown;
		const list = Array.isArray(value)
			? value
			: typeof value === 'string'
				? splitImageUrls(value)
				: [value];
		(list.length ? list : ['']).forEach((entry, n) => {
			const field = list.length > 1 ? `${input.urlLabel} ${n + 1}` : input.urlLabel;
			const url = check.imageUrl(entry, field);
			const size = url.startsWith('data:') ? dataUrlBytes(url) : 0;
			if (url.startsWith('data:') && (mode === 'always' || (storage && size > INLINE_LIMIT_BYTES)))
				into.push(dataUrlImage(check, url, field));
			else if (size > INLINE_LIMIT_BYTES) tooLargeInline(check, field, size, client);
			else into.push(url);
		});
		return;
	}
	const value = ctx.getNodeParameter(input.binary, i, input.binaryDefault) as unknown;
	const names = (typeof value === 'string' ? value : '')
		.split(',')
		.map((name) => name.trim())
		.filter(Boolean);
	if (!names.length)
		check.fail(
			input.binaryLabel,
			'is empty',
			`Give the name of the binary field holding the image, e.g. ${input.binaryDefault}`,
		);
	// Every binary is read (its first bytes) and checked before the first upload.
	for (const name of names) {
		const image = await readBinaryImage(ctx, check, name, input.binaryLabel);
		into.push(image);
		if (!storage && image.size > INLINE_LIMIT_BYTES)
			tooLargeInline(check, input.binaryLabel, image.size, client, image.label);
	}
}

/**
 * The checked images as fal wants them, in order: http(s) URLs as given, uploaded files as their
 * storage URL, small images inline as data URLs. Nothing is submitted when an upload fails.
 */
export async function sendImages(
	ctx: IExecuteFunctions,
	check: InputChecker,
	execution: Execution,
	images: PendingImage[],
): Promise<string[]> {
	const { storage } = uploadMode(ctx, check, execution.client);
	const urls: string[] = [];
	for (const image of images) {
		if (typeof image === 'string') urls.push(image);
		else
			urls.push(
				storage
					? await uploadImage(execution.client, image, {
							itemIndex: check.itemIndex,
							signal: execution.interrupt,
						})
					: await toDataUrl(image),
			);
	}
	return urls;
}

/** Closes what checking the images opened (binary streams), whatever happened since. */
export function closeImages(images: PendingImage[]): void {
	for (const image of images) if (typeof image !== 'string') image.close();
}

/** Mebibytes, for messages. */
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

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

/** The fields of an image input: source, URL, binary field, shown for `show`. */
export function imageInputProperties(
	input: ImageInput,
	show: Record<string, string[]>,
	words: { urlDescription: string; binaryDescription: string },
): INodeProperties[] {
	const { binaryDefault } = input;
	return [
		{
			displayName: input.sourceLabel,
			name: input.source,
			type: 'options',
			displayOptions: { show },
			options: [
				{ name: 'URL', value: 'url', description: 'A public http(s) URL or a data URL' },
				{
					name: 'Binary File',
					value: 'binary',
					description: 'An image in a binary field of the input item',
				},
			],
			default: 'url',
		},
		{
			displayName: input.urlLabel,
			name: input.url,
			type: 'string',
			required: true,
			displayOptions: { show: { ...show, [input.source]: ['url'] } },
			default: '',
			placeholder: 'e.g. https://example.com/photo.png',
			description: words.urlDescription,
		},
		{
			displayName: input.binaryLabel,
			name: input.binary,
			type: 'string',
			required: true,
			displayOptions: { show: { ...show, [input.source]: ['binary'] } },
			default: binaryDefault,
			placeholder: `e.g. ${binaryDefault}`,
			description: words.binaryDescription,
		},
	];
}
