/**
 * One description of each FLUX.1 Kontext endpoint on fal (reference/kontext-family.md): its id,
 * the model and operation it serves, the images it takes, and every field it takes with fal's
 * default there. The node's Model and option fields, their checks, the request body and the cost
 * estimate are all derived from this table: adding a field or an endpoint is one edit here.
 */
import type { FieldName } from './fields';
import { IMAGE_SIDE, IMAGE_SIZE_PRESETS } from './fields';

export const MODELS = ['pro', 'max', 'dev', 'lora'] as const;
export type Model = (typeof MODELS)[number];

export const OPERATIONS = ['edit', 'textToImage', 'inpaint'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** The images an endpoint takes, by fal's field name. */
export type ImageField = 'image_url' | 'mask_url' | 'reference_image_url';

/** fal's default of a field on an endpoint; null where fal has none (a random seed). */
export type FalDefault = string | number | boolean | null;

export interface EndpointSpec {
	id: string;
	model: Model;
	operation: Operation;
	/** fal's name of the model, for the editor and messages. */
	name: string;
	/** The images it takes, each required. */
	images: readonly ImageField[];
	/** The endpoint that takes several images (`image_urls`) instead of one, where fal has one. */
	multiId?: string;
	/** What decides the output's size, for a price per megapixel. */
	output: 'aspectRatio' | 'resolutionMode' | 'imageSize' | 'input';
	/** Every field the endpoint takes beyond prompt and images, with fal's default. */
	fields: Partial<Record<FieldName, FalDefault>>;
}

/** [pro] and [max]: the fields they share (Aspect Ratio's default sends nothing). */
const PRO_FIELDS = {
	aspectRatio: null,
	enhancePrompt: false,
	guidanceScale: 3.5,
	numImages: 1,
	outputFormat: 'jpeg',
	safetyTolerance: '2',
	seed: null,
	syncMode: false,
} as const;

/** [dev] and the LoRA endpoints: the fields they share. */
const DEV_FIELDS = {
	acceleration: 'none',
	enableSafetyChecker: true,
	guidanceScale: 2.5,
	numImages: 1,
	numInferenceSteps: 28,
	outputFormat: 'jpeg',
	seed: null,
	syncMode: false,
} as const;

const LORA_FIELDS = { ...DEV_FIELDS, loras: null, numInferenceSteps: 30, outputFormat: 'png' };

export const ENDPOINTS: readonly EndpointSpec[] = [
	{
		id: 'fal-ai/flux-pro/kontext',
		model: 'pro',
		operation: 'edit',
		name: 'FLUX.1 Kontext [pro]',
		images: ['image_url'],
		multiId: 'fal-ai/flux-pro/kontext/multi',
		output: 'aspectRatio',
		fields: PRO_FIELDS,
	},
	{
		id: 'fal-ai/flux-pro/kontext/max',
		model: 'max',
		operation: 'edit',
		name: 'FLUX.1 Kontext [max]',
		images: ['image_url'],
		multiId: 'fal-ai/flux-pro/kontext/max/multi',
		output: 'aspectRatio',
		fields: PRO_FIELDS,
	},
	{
		id: 'fal-ai/flux-pro/kontext/text-to-image',
		model: 'pro',
		operation: 'textToImage',
		name: 'FLUX.1 Kontext [pro]',
		images: [],
		output: 'aspectRatio',
		fields: PRO_FIELDS,
	},
	{
		id: 'fal-ai/flux-pro/kontext/max/text-to-image',
		model: 'max',
		operation: 'textToImage',
		name: 'FLUX.1 Kontext [max]',
		images: [],
		output: 'aspectRatio',
		fields: PRO_FIELDS,
	},
	{
		id: 'fal-ai/flux-kontext/dev',
		model: 'dev',
		operation: 'edit',
		name: 'FLUX.1 Kontext [dev]',
		images: ['image_url'],
		output: 'resolutionMode',
		fields: { ...DEV_FIELDS, resolutionMode: 'match_input' },
	},
	{
		id: 'fal-ai/flux-kontext-lora',
		model: 'lora',
		operation: 'edit',
		name: 'FLUX.1 Kontext [dev] with LoRAs',
		images: ['image_url'],
		output: 'resolutionMode',
		fields: { ...LORA_FIELDS, resolutionMode: 'match_input' },
	},
	{
		id: 'fal-ai/flux-kontext-lora/text-to-image',
		model: 'lora',
		operation: 'textToImage',
		name: 'FLUX.1 Kontext [dev] with LoRAs',
		images: [],
		output: 'imageSize',
		fields: { ...LORA_FIELDS, imageSize: 'landscape_4_3' },
	},
	{
		id: 'fal-ai/flux-kontext-lora/inpaint',
		model: 'lora',
		operation: 'inpaint',
		name: 'FLUX.1 Kontext [dev] inpainting with LoRAs',
		images: ['image_url', 'mask_url', 'reference_image_url'],
		output: 'input',
		fields: { ...LORA_FIELDS, strength: 0.88 },
	},
];

/** The endpoint of a model and operation; undefined where fal has none ([dev] text to image). */
export function endpointOf(model: string, operation: string): EndpointSpec | undefined {
	return ENDPOINTS.find((e) => e.model === model && e.operation === operation);
}

/** The models that serve an operation, in MODELS order. */
export function modelsFor(operation: Operation): Model[] {
	return MODELS.filter((model) => endpointOf(model, operation));
}

/**
 * fal's app id of an endpoint: its first two segments. Status, result and cancel URLs use only
 * this, never the sub-path.
 */
export function appIdOf(endpoint: string): string {
	return endpoint.split('/').slice(0, 2).join('/');
}

/** Every app id the node submits to (`fal-ai/flux-pro`, `fal-ai/flux-kontext`, ...). */
export const APP_IDS: readonly string[] = [...new Set(ENDPOINTS.map((e) => appIdOf(e.id)))];

/** The app id of a model's jobs. */
export function appIdOfModel(model: Model): string {
	return appIdOf(ENDPOINTS.find((e) => e.model === model)!.id);
}

/** fal's page of a model, with its price (prices change: link, never copy). */
export function falModelPage(model: Model): string {
	return `https://fal.ai/models/${ENDPOINTS.find((e) => e.model === model)!.id}`;
}

/** Pixels of an image_size value as sent to fal (a preset name or {width, height}). */
export function imageSizePixels(value: unknown): { width: number; height: number } | undefined {
	if (typeof value === 'string')
		return (IMAGE_SIZE_PRESETS as Record<string, { width: number; height: number }>)[value];
	if (value && typeof value === 'object') {
		const { width, height } = value as { width?: unknown; height?: unknown };
		return {
			width: typeof width === 'number' ? width : IMAGE_SIDE.default,
			height: typeof height === 'number' ? height : IMAGE_SIDE.default,
		};
	}
	return undefined;
}
