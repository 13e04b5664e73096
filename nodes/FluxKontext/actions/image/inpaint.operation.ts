import type { INodeExecutionData, INodeProperties } from 'n8n-workflow';

import type { ImageField } from '../../fal/endpoints';
import type { Execution } from '../../job/execution';
import { runImageJob } from './common';
import { EDIT_IMAGES } from './edit.operation';
import type { ImageInput, PendingImage } from './inputImages';
import { closeImages, collectImages, imageInputProperties, sendImages } from './inputImages';

const show = { resource: ['image'], operation: ['inpaint'] };

/** Inpaint's three images, by fal's field name: each from a URL or a binary field. */
export const INPAINT_IMAGES: Record<ImageField, ImageInput> = {
	// The image to inpaint takes Edit's parameters (the contract names them the same).
	image_url: EDIT_IMAGES,
	mask_url: {
		source: 'maskSource',
		sourceLabel: 'Mask Source',
		url: 'maskUrl',
		binary: 'maskBinaryPropertyName',
		binaryDefault: 'mask',
		urlLabel: 'Mask URL',
		binaryLabel: 'Mask Binary Field',
	},
	reference_image_url: {
		source: 'referenceSource',
		sourceLabel: 'Reference Source',
		url: 'referenceImageUrl',
		binary: 'referenceBinaryPropertyName',
		binaryDefault: 'reference',
		urlLabel: 'Reference Image URL',
		binaryLabel: 'Reference Binary Field',
	},
};

const TYPES = 'JPEG, PNG, WebP, GIF or AVIF';

export const description: INodeProperties[] = [
	...imageInputProperties(INPAINT_IMAGES.image_url, show, {
		urlDescription:
			'The image to paint into: an http(s) URL fal can download, or a data URL. ' + `${TYPES}.`,
		binaryDescription:
			"Binary field of the input item holding the image to paint into. It is uploaded to fal's " +
			'storage when the credential has one, else sent inline (see the Image Upload option).',
	}),
	...imageInputProperties(INPAINT_IMAGES.mask_url, show, {
		urlDescription:
			'The mask: white where the image is repainted, black where it is kept. An image of the ' +
			'same size as the image to paint into (fal judges a mismatch).',
		binaryDescription:
			'Binary field of the input item holding the mask: white where the image is repainted, ' +
			'black where it is kept',
	}),
	...imageInputProperties(INPAINT_IMAGES.reference_image_url, show, {
		urlDescription:
			'The image whose subject or style goes into the masked area: a product, a garment, a face',
		binaryDescription:
			'Binary field of the input item holding the reference image (the product, garment or ' +
			'face to paint in)',
	}),
];

/**
 * Inpaint: the image, the mask and the reference image are all checked (bytes and size) before
 * the first of them is uploaded, so that a bad mask costs no upload.
 */
export async function execute(
	execution: Execution,
	itemIndex: number,
): Promise<INodeExecutionData[]> {
	return await runImageJob(execution, itemIndex, 'inpaint', async (ctx, check, spec) => {
		const pending: PendingImage[][] = [];
		try {
			for (const field of spec.images) {
				const images: PendingImage[] = [];
				pending.push(images);
				await collectImages(ctx, check, execution, INPAINT_IMAGES[field], images);
				if (images.length !== 1)
					check.fail(
						INPAINT_IMAGES[field].urlLabel,
						`${images.length} images given`,
						'Inpaint takes one image, one mask and one reference image',
					);
			}
			const input: Record<string, string> = {};
			for (const [n, field] of spec.images.entries())
				[input[field]] = await sendImages(ctx, check, execution, pending[n]);
			return { endpoint: spec.id, input };
		} finally {
			for (const images of pending) closeImages(images);
		}
	});
}
