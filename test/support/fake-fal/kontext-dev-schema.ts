/**
 * The Kontext [dev] family's four endpoints as the fake knows them (reference/kontext-family.md,
 * from fal's client types and model pages): their fields in model order with types, ranges and
 * fal's defaults, and their prices. Pure data: schema.ts turns the rules into pydantic-like checks,
 * index.ts applies the defaults when a job runs.
 *
 * Ranges marked "page" in the reference (guidance 1-20, steps 10-50, strength 0.01-1, LoRA scale
 * 0-4, image side up to 14142) are enforced here as fal's playground does.
 */

export type DevEndpointKind = 'dev-edit' | 'lora-edit' | 'lora-text-to-image' | 'lora-inpaint';

export const DEV_ENDPOINTS: Readonly<Record<string, DevEndpointKind>> = {
	'fal-ai/flux-kontext/dev': 'dev-edit',
	'fal-ai/flux-kontext-lora': 'lora-edit',
	'fal-ai/flux-kontext-lora/text-to-image': 'lora-text-to-image',
	'fal-ai/flux-kontext-lora/inpaint': 'lora-inpaint',
};

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
export const IMAGE_SIZE_PRESETS = [
	'square_hd',
	'square',
	'portrait_4_3',
	'portrait_16_9',
	'landscape_4_3',
	'landscape_16_9',
] as const;

/** One field's rule, turned into a check by schema.ts. */
export type FieldRule = {
	name: string;
	required?: boolean;
	nullable?: boolean;
	/** fal's default when the field is not sent. */
	default?: unknown;
} & (
	| { type: 'string' | 'image' | 'boolean' | 'image_size' | 'loras' }
	| { type: 'integer' | 'number'; min?: number; max?: number }
	| { type: 'literal'; values: readonly string[] }
);

const FORMATS = ['jpeg', 'png'] as const;

function rulesFor(kind: DevEndpointKind): FieldRule[] {
	const lora = kind !== 'dev-edit';
	const images: FieldRule[] =
		kind === 'lora-text-to-image'
			? []
			: kind === 'lora-inpaint'
				? [
						{ name: 'image_url', type: 'image', required: true },
						{ name: 'mask_url', type: 'image', required: true },
						{ name: 'reference_image_url', type: 'image', required: true },
					]
				: [{ name: 'image_url', type: 'image', required: true }];
	return [
		{ name: 'prompt', type: 'string', required: true },
		...images,
		...(kind === 'lora-text-to-image'
			? [{ name: 'image_size', type: 'image_size', default: 'landscape_4_3' } as FieldRule]
			: []),
		{ name: 'num_inference_steps', type: 'integer', min: 10, max: 50, default: lora ? 30 : 28 },
		{ name: 'seed', type: 'integer', nullable: true },
		{ name: 'guidance_scale', type: 'number', min: 1, max: 20, default: 2.5 },
		{ name: 'sync_mode', type: 'boolean', default: false },
		{ name: 'num_images', type: 'integer', min: 1, max: 4, default: 1 },
		{ name: 'enable_safety_checker', type: 'boolean', default: true },
		{ name: 'output_format', type: 'literal', values: FORMATS, default: lora ? 'png' : 'jpeg' },
		...(lora ? [{ name: 'loras', type: 'loras', default: [] } as FieldRule] : []),
		{ name: 'acceleration', type: 'literal', values: ACCELERATIONS, default: 'none' },
		...(kind === 'dev-edit' || kind === 'lora-edit'
			? [
					{
						name: 'resolution_mode',
						type: 'literal',
						values: RESOLUTION_MODES,
						default: 'match_input',
					} as FieldRule,
				]
			: []),
		...(kind === 'lora-inpaint'
			? [{ name: 'strength', type: 'number', min: 0.01, max: 1, default: 0.88 } as FieldRule]
			: []),
	];
}

export const DEV_RULES: Readonly<Record<DevEndpointKind, FieldRule[]>> = {
	'dev-edit': rulesFor('dev-edit'),
	'lora-edit': rulesFor('lora-edit'),
	'lora-text-to-image': rulesFor('lora-text-to-image'),
	'lora-inpaint': rulesFor('lora-inpaint'),
};

/** fal's defaults of an endpoint of this family (empty for the others). */
export function devDefaults(endpoint: string): Record<string, unknown> {
	const kind = DEV_ENDPOINTS[endpoint];
	if (!kind) return {};
	return Object.fromEntries(
		DEV_RULES[kind].filter((rule) => rule.default !== undefined).map((r) => [r.name, r.default]),
	);
}

/**
 * The pricing API's answer for these endpoints: [dev] per image (a third party's figure: fal's
 * own answer is what the node uses), the LoRA endpoints per megapixel (fal's page: $0.035).
 * GUESS: the unit's spelling for a megapixel; the node accepts `megapixel(s)` and `MP`.
 */
export const DEV_PRICES: Readonly<Record<string, { unit_price: number; unit: string }>> = {
	'fal-ai/flux-kontext/dev': { unit_price: 0.025, unit: 'image' },
	'fal-ai/flux-kontext-lora': { unit_price: 0.035, unit: 'megapixels' },
	'fal-ai/flux-kontext-lora/text-to-image': { unit_price: 0.035, unit: 'megapixels' },
	'fal-ai/flux-kontext-lora/inpaint': { unit_price: 0.035, unit: 'megapixels' },
};
