/**
 * Split Into Items: a finished job's one output item (fal's result, its request id, the images as
 * binary data `data`, `data_1`, ...) becomes one item per image, the shape n8n's own image nodes
 * output and the one that Write File, Drive or an upload node takes as it is.
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { binaryKey } from './result-images';

/** Fields that every image's item repeats: they name the job and what it was asked. */
const SHARED_FIELDS = ['request_id', 'seed', 'prompt'] as const;

/**
 * One item per image of a finished job's item. Each item's json is the image's entry of fal's
 * `images` (url, width, height, content_type, ...), plus `request_id`, `seed`, `prompt`,
 * `image_index` (0-based) and `has_nsfw_concept` (the image's entry of `has_nsfw_concepts`, when
 * fal sent it). Every other field of the job's item (`timings`, `cost_estimate`, `billed_units`,
 * a webhook's `status`, anything a gateway adds) is about the whole job and goes on the first
 * image's item only, so that a sum over the items counts each job once. The binary of image n
 * (`<field>` or `<field>_n`) goes under `<field>` of its item, with its file name unchanged. The
 * item's `pairedItem`, if it has one, is kept on every item.
 *
 * An item without an `images` list (a handle, a failure) is returned as it is, alone.
 */
export function splitImageItems(
	item: INodeExecutionData,
	binaryPropertyOutput: string,
): INodeExecutionData[] {
	const { images, has_nsfw_concepts: nsfw, ...job } = item.json;
	if (!Array.isArray(images) || images.length === 0) return [item];
	const shared: IDataObject = {};
	const perJob: IDataObject = {};
	for (const [name, value] of Object.entries(job)) {
		if ((SHARED_FIELDS as readonly string[]).includes(name)) shared[name] = value;
		else perJob[name] = value;
	}
	return (images as unknown[]).map((image, index): INodeExecutionData => {
		const entry = (image && typeof image === 'object' ? image : { url: image }) as IDataObject;
		const json: IDataObject = {
			...entry,
			...shared,
			image_index: index,
			...(Array.isArray(nsfw) && typeof nsfw[index] === 'boolean'
				? { has_nsfw_concept: nsfw[index] }
				: {}),
			...(index === 0 ? perJob : {}),
		};
		const binary = item.binary?.[binaryKey(binaryPropertyOutput, index)];
		return {
			json,
			...(binary ? { binary: { [binaryPropertyOutput]: binary } } : {}),
			...(item.pairedItem !== undefined ? { pairedItem: item.pairedItem } : {}),
		};
	});
}
