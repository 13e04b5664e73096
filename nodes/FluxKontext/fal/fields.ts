/**
 * The fields of fal's Kontext endpoints, once each: fal's name, the node's option name and label,
 * the type and range the node checks, and the editor's words. Which endpoint takes which field,
 * with fal's default there, is in endpoints.ts; the node's fields, their checks and the request
 * body are derived from the two.
 */
import { ASPECT_RATIOS, LIMITS, OUTPUT_FORMATS, SAFETY_TOLERANCES } from './constants';

/** What a field holds, as far as checking it and drawing it go. */
export type FieldType =
	| { kind: 'number'; min: number; max: number; integer?: boolean; precision?: number }
	| { kind: 'options'; values: readonly string[]; unsetChoice?: string }
	| { kind: 'boolean' }
	/** An integer; LIMITS.seed.random (the editor's default) sends nothing. */
	| { kind: 'seed' }
	/** A preset name, or `custom` with the options imageWidth and imageHeight. */
	| { kind: 'imageSize' }
	/** The fixed collection loras.lora[] of { path, scale, force }. */
	| { kind: 'loras' };

export interface FieldSpec {
	/** fal's field name. */
	fal: string;
	/** The node's display name, also in messages. */
	label: string;
	type: FieldType;
	/** Display names of an options field's values, in fal's order. */
	choices?: ReadonlyArray<{ name: string; value: string; description?: string }>;
	/**
	 * The editor's description, given fal's default on the endpoints the field is shown for
	 * (undefined where fal has none: a random seed, the input's ratio).
	 */
	describe(falDefault: string | undefined): string;
}

const defaultText = (value: string | undefined) => (value ? ` (fal's default: ${value})` : '');

/** fal's presets of image_size, with the pixels each stands for (fal's ImageSize presets). */
export const IMAGE_SIZE_PRESETS = {
	square_hd: { width: 1024, height: 1024 },
	square: { width: 512, height: 512 },
	portrait_4_3: { width: 768, height: 1024 },
	portrait_16_9: { width: 576, height: 1024 },
	landscape_4_3: { width: 1024, height: 768 },
	landscape_16_9: { width: 1024, height: 576 },
} as const;
export type ImageSizePreset = keyof typeof IMAGE_SIZE_PRESETS;

/** A custom image_size: each side defaults to 512 at fal; fal's page allows up to 14142. */
export const IMAGE_SIDE = { min: 1, max: 14142, default: 512 } as const;

/** One LoRA's `scale`: fal's default 1, fal's page 0 to 4. */
export const LORA_SCALE = { min: 0, max: 4, default: 1 } as const;

/** At most this many LoRAs merged per job (fal documents no bound; a sane one). */
export const LORAS_MAX = 10;

export const ACCELERATIONS = ['none', 'regular', 'high'] as const;
export const RESOLUTION_MODES = [
	'auto',
	'match_input',
	'1:1',
	'16:9',
	'21:9',
	'3:2',
	'2:3',
	'4:5',
	'5:4',
	'3:4',
	'4:3',
	'9:16',
	'9:21',
] as const;

export const FIELDS = {
	acceleration: {
		fal: 'acceleration',
		label: 'Acceleration',
		type: { kind: 'options', values: ACCELERATIONS },
		choices: [
			{ name: 'None', value: 'none', description: 'Full quality' },
			{ name: 'Regular', value: 'regular', description: 'Faster, slightly lower fidelity' },
			{ name: 'High', value: 'high', description: 'Fastest, lowest fidelity' },
		],
		describe: (d) => `Faster generation at some cost in fidelity${defaultText(d)}`,
	},
	aspectRatio: {
		fal: 'aspect_ratio',
		label: 'Aspect Ratio',
		type: {
			kind: 'options',
			values: ASPECT_RATIOS,
			unsetChoice: "Default (Edit: Input's Ratio; Text to Image: 1:1)",
		},
		describe: () =>
			"Width to height of the output. The default sends nothing: fal keeps the input image's " +
			'ratio for Edit and makes 1:1 for Text to Image.',
	},
	enableSafetyChecker: {
		fal: 'enable_safety_checker',
		label: 'Enable Safety Checker',
		type: { kind: 'boolean' },
		describe: (d) =>
			`Whether fal checks the images for unsafe content ` +
			`(has_nsfw_concepts)${defaultText(d === 'true' ? 'on' : d && 'off')}`,
	},
	enhancePrompt: {
		fal: 'enhance_prompt',
		label: 'Enhance Prompt',
		type: { kind: 'boolean' },
		describe: () => "Whether fal should rewrite the prompt for better results (fal's default: off)",
	},
	guidanceScale: {
		fal: 'guidance_scale',
		label: 'Guidance Scale',
		type: { kind: 'number', ...LIMITS.guidanceScale, precision: 1 },
		describe: (d) =>
			`How closely the image follows the prompt, from ${LIMITS.guidanceScale.min} to ` +
			`${LIMITS.guidanceScale.max}${defaultText(d)}`,
	},
	imageSize: {
		fal: 'image_size',
		label: 'Image Size',
		type: { kind: 'imageSize' },
		choices: [
			...Object.entries(IMAGE_SIZE_PRESETS).map(([value, { width, height }]) => ({
				name: `${value
					.split('_')
					.map((word) => (word === 'hd' ? 'HD' : word[0].toUpperCase() + word.slice(1)))
					.join(' ')
					.replace(/(\d) (\d)/, '$1:$2')} (${width} x ${height})`,
				value,
			})),
			{ name: 'Custom (Width and Height)', value: 'custom' },
		],
		describe: (d) =>
			`Size of the output${defaultText(d)}. Custom: set Image Width and Image Height (fal's ` +
			`default 512 each; multiples of 16 work best). LoRA output is billed per megapixel.`,
	},
	loras: {
		fal: 'loras',
		label: 'LoRAs',
		type: { kind: 'loras' },
		describe: () =>
			`LoRA weights to apply, merged in order (up to ${LORAS_MAX}): a URL or path of a ` +
			`.safetensors file, or a Hugging Face model name`,
	},
	numImages: {
		fal: 'num_images',
		label: 'Number of Images',
		type: { kind: 'number', ...LIMITS.numImages, integer: true },
		describe: (d) =>
			`How many images to create per item, from ${LIMITS.numImages.min} to ` +
			`${LIMITS.numImages.max}${defaultText(d)}. Each is billed.`,
	},
	numInferenceSteps: {
		fal: 'num_inference_steps',
		label: 'Number of Inference Steps',
		type: { kind: 'number', ...LIMITS.numInferenceSteps, integer: true },
		describe: (d) =>
			`Denoising steps, from ${LIMITS.numInferenceSteps.min} to ` +
			`${LIMITS.numInferenceSteps.max}${defaultText(d)}: more is slower and can be finer`,
	},
	outputFormat: {
		fal: 'output_format',
		label: 'Output Format',
		type: { kind: 'options', values: OUTPUT_FORMATS },
		choices: [
			{ name: 'JPEG', value: 'jpeg' },
			{ name: 'PNG', value: 'png' },
		],
		describe: (d) => `File format of the images${defaultText(d?.toUpperCase())}`,
	},
	resolutionMode: {
		fal: 'resolution_mode',
		label: 'Resolution Mode',
		type: { kind: 'options', values: RESOLUTION_MODES },
		choices: RESOLUTION_MODES.map((value) =>
			value === 'auto'
				? { name: 'Auto', value, description: 'The model picks one of its trained sizes' }
				: value === 'match_input'
					? {
							name: 'Match Input',
							value,
							description: "The input's own size, rounded to multiples of 16",
						}
					: { name: value, value },
		),
		describe: (d) => `Size of the output${defaultText(d)}: the input's, the model's, or a ratio`,
	},
	safetyTolerance: {
		fal: 'safety_tolerance',
		label: 'Safety Tolerance',
		type: { kind: 'options', values: SAFETY_TOLERANCES },
		choices: SAFETY_TOLERANCES.map((level) => ({
			name: level === '1' ? '1 (Strictest)' : level === '6' ? '6 (Most Permissive)' : level,
			value: level,
		})),
		describe: (d) =>
			`How permissive fal's safety checker is, from 1 to 6${defaultText(d)}. Sent as text, as ` +
			`fal requires.`,
	},
	seed: {
		fal: 'seed',
		label: 'Seed',
		type: { kind: 'seed' },
		describe: () =>
			`The same seed, prompt and model give the same image. ${LIMITS.seed.random} (the ` +
			`default): a random seed, chosen by fal and returned in the output.`,
	},
	strength: {
		fal: 'strength',
		label: 'Strength',
		type: { kind: 'number', ...LIMITS.strength, precision: 2 },
		describe: (d) =>
			`How far the masked area may move from the original, from ${LIMITS.strength.min} to ` +
			`${LIMITS.strength.max}${defaultText(d)}`,
	},
	syncMode: {
		fal: 'sync_mode',
		label: 'Sync Mode',
		type: { kind: 'boolean' },
		describe: () =>
			'Whether fal returns the images inline (as data URIs) instead of as CDN URLs; they are ' +
			"then not kept in fal's history. Not with Wait for Completion off or a Webhook URL: fal " +
			'keeps such large results only minutes.',
	},
} as const satisfies Record<string, FieldSpec>;

export type FieldName = keyof typeof FIELDS;

/** fal field name → the node's display name, for error messages that point at the right field. */
export const FIELD_LABELS: Record<string, string> = {
	prompt: 'Prompt',
	image_url: 'Image URL',
	image_urls: 'Images',
	mask_url: 'Mask URL',
	reference_image_url: 'Reference Image URL',
	...Object.fromEntries(Object.values(FIELDS).map((field) => [field.fal, field.label])),
};
