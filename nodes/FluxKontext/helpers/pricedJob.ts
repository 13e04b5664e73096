import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { LIMITS } from '../fal/constants';
import type { Operation } from '../fal/endpoints';
import { endpointOf, imageSizePixels } from '../fal/endpoints';
import { FIELDS } from '../fal/fields';
import { modelInput } from './modelInput';
import { InputChecker, isSet } from './validation';

/**
 * What an item will submit, as far as its price goes: the endpoint, the images, and each image's
 * size in megapixels for a price per megapixel, with what that size assumed when the node cannot
 * know it before the job (the output takes the input's size, or the model picks one).
 */
export interface PricedJob {
	endpoint: string;
	images: number;
	megapixels: number;
	/** Why `megapixels` is an assumption; undefined when the request fixes the output size. */
	assumed?: string;
}

/** What a job whose size the node cannot know is assumed to measure: fal's trained sizes. */
const ASSUMED_MEGAPIXELS = 1;

/**
 * The priced job of an item; undefined when its input is invalid (it fails later without
 * submitting).
 */
export function pricedJob(
	ctx: IExecuteFunctions,
	itemIndex: number,
	operation: Operation,
): PricedJob | undefined {
	try {
		const check = new InputChecker(ctx.getNode(), itemIndex);
		const spec = endpointOf(ctx.getNodeParameter('model', itemIndex, 'pro') as string, operation);
		if (!spec) return undefined;
		const options = ctx.getNodeParameter('options', itemIndex, {}) as IDataObject;
		const images = isSet(options, 'numImages')
			? check.number('Number of Images', options.numImages, { ...LIMITS.numImages, integer: true })
			: 1;
		// A multi-image edit is priced as an edit of its model: fal publishes the same price for both.
		const job = { endpoint: spec.id, images };
		switch (spec.output) {
			case 'imageSize': {
				const sent = modelInput(check, options, spec)[FIELDS.imageSize.fal];
				const size = imageSizePixels(sent ?? spec.fields.imageSize)!;
				return { ...job, megapixels: (size.width * size.height) / 1e6 };
			}
			case 'resolutionMode': {
				const mode = isSet(options, 'resolutionMode')
					? String(options.resolutionMode)
					: String(spec.fields.resolutionMode);
				return {
					...job,
					megapixels: ASSUMED_MEGAPIXELS,
					assumed:
						mode === 'match_input'
							? "1 megapixel per image: the output takes the input image's size (Resolution " +
								'Mode Match Input), not known before the job'
							: `1 megapixel per image: with Resolution Mode ` +
								`${mode === 'auto' ? 'Auto' : mode} the model picks one of its trained sizes, ` +
								`about 1 megapixel`,
				};
			}
			case 'input':
				return {
					...job,
					megapixels: ASSUMED_MEGAPIXELS,
					assumed:
						"1 megapixel per image: the output takes the input image's size, not known before " +
						'the job',
				};
			case 'aspectRatio':
				return {
					...job,
					megapixels: ASSUMED_MEGAPIXELS,
					assumed: '1 megapixel per image: the size fal makes for the aspect ratio',
				};
		}
	} catch {
		return undefined;
	}
}
