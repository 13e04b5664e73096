import type { IDataObject, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { readBinaryImage } from '../../helpers/input-images';
import type { Execution } from '../../job/execution';
import { uploadImage } from '../../helpers/upload';
import { InputChecker } from '../../helpers/validation';
import { maxConcurrencyOption, optionsCollection } from '../shared';

const show = { resource: ['file'], operation: ['upload'] };

export const description: INodeProperties[] = [
	{
		displayName: 'Input Binary Field',
		name: 'binaryPropertyName',
		type: 'string',
		required: true,
		displayOptions: { show },
		default: 'data',
		placeholder: 'e.g. data',
		hint: 'The name of the input binary field containing the image',
		description:
			'Binary field of the input item holding the image (JPEG, PNG, WebP, GIF or AVIF). Its URL ' +
			'can then be given to Edit as Image URL, as often as needed, without uploading it again.',
	},
	optionsCollection(show, [
		{
			displayName: 'Keep Binary',
			name: 'keepBinary',
			type: 'boolean',
			default: true,
			description:
				"Whether to pass the input item's binary data on to the output. Off: output only the URL " +
				'and its details (lighter, e.g. for an AI agent).',
		},
		maxConcurrencyOption,
	]),
];

/**
 * Uploads the item's image to the storage host: `{ file_url, content_type, file_name, file_size }`.
 */
export async function execute(
	execution: Execution,
	itemIndex: number,
): Promise<INodeExecutionData> {
	const { ctx, client } = execution;
	const check: InputChecker = new InputChecker(ctx.getNode(), itemIndex);
	const options = ctx.getNodeParameter('options', itemIndex, {}) as IDataObject;
	const keepBinary =
		options.keepBinary === undefined ? true : check.boolean('Keep Binary', options.keepBinary);
	const name = ctx.getNodeParameter('binaryPropertyName', itemIndex, 'data') as unknown;
	if (typeof name !== 'string' || !name.trim())
		check.fail(
			'Input Binary Field',
			'is empty',
			'Give the name of the binary field holding the image, e.g. data',
		);
	if (client.storageUrl === undefined) {
		check.fail(
			'Upload',
			'the credential has no storage to upload to',
			"Uploads go to fal's storage with fal's own Base URL (https://queue.fal.run); a gateway " +
				"needs its storage URL in the credential's Storage URL field",
		);
	}
	const image = await readBinaryImage(ctx, check, name.trim());
	let fileUrl: string;
	try {
		fileUrl = await uploadImage(client, image, { itemIndex, signal: execution.interrupt });
	} finally {
		image.close();
	}
	const binary = keepBinary ? ctx.getInputData()[itemIndex]?.binary : undefined;
	return {
		json: {
			file_url: fileUrl,
			content_type: image.mimeType,
			file_name: image.fileName,
			file_size: image.size,
		},
		...(binary ? { binary } : {}),
	};
}
