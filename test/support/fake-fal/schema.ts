/**
 * FLUX.1 Kontext endpoints and their input schema, checked the way fal's pydantic models check it.
 * fal validates when the job runs, not at submit: a bad input shows up as a 422 result.
 *
 * Deliberately strict where pydantic's lax mode would coerce (e.g. "3.5" for a number, "true" for a
 * boolean): a client that sends the wrong JSON type has a bug even if fal would forgive it.
 * The one coercion fal does NOT do matters most: `safety_tolerance` is a string, and a number is a
 * 422 `string_type`.
 */

import type { DevEndpointKind, FieldRule } from './kontext-dev-schema';
import { DEV_ENDPOINTS, DEV_RULES, IMAGE_SIZE_PRESETS } from './kontext-dev-schema';

export type EndpointKind = 'edit' | 'text-to-image' | 'multi' | DevEndpointKind;

/** Every endpoint the fake accepts, by path, and which image input it needs. */
export const KONTEXT_ENDPOINTS: Readonly<Record<string, EndpointKind>> = {
	'fal-ai/flux-pro/kontext': 'edit',
	'fal-ai/flux-pro/kontext/max': 'edit',
	'fal-ai/flux-pro/kontext/text-to-image': 'text-to-image',
	'fal-ai/flux-pro/kontext/max/text-to-image': 'text-to-image',
	'fal-ai/flux-pro/kontext/multi': 'multi',
	'fal-ai/flux-pro/kontext/max/multi': 'multi',
	...DEV_ENDPOINTS,
};

export const ASPECT_RATIOS = [
	'21:9',
	'16:9',
	'4:3',
	'3:2',
	'1:1',
	'2:3',
	'3:4',
	'9:16',
	'9:21',
] as const;
export const SAFETY_TOLERANCES = ['1', '2', '3', '4', '5', '6'] as const;
export const OUTPUT_FORMATS = ['jpeg', 'png'] as const;

/** One entry of a FastAPI/pydantic v2 422 body: `{"detail": [ValidationIssue, ...]}`. */
export interface ValidationIssue {
	loc: Array<string | number>;
	msg: string;
	type: string;
	input?: unknown;
}

type Check = (value: unknown, loc: Array<string | number>) => ValidationIssue[];

const issue = (
	loc: Array<string | number>,
	type: string,
	msg: string,
	input: unknown,
): ValidationIssue => ({
	loc,
	msg,
	type,
	input,
});

/** pydantic's wording for a Literal: "Input should be 'a', 'b' or 'c'". */
function literalMessage(values: readonly string[]): string {
	const quoted = values.map((v) => `'${v}'`);
	return `Input should be ${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function integer(min?: number, max?: number): Check {
	return (value, loc) => {
		if (!isNumber(value)) return [issue(loc, 'int_type', 'Input should be a valid integer', value)];
		if (!Number.isInteger(value)) {
			return [
				issue(
					loc,
					'int_from_float',
					'Input should be a valid integer, got a number with a fractional part',
					value,
				),
			];
		}
		return range(value, loc, min, max);
	};
}

function number(min?: number, max?: number): Check {
	return (value, loc) => {
		if (!isNumber(value))
			return [issue(loc, 'float_type', 'Input should be a valid number', value)];
		return range(value, loc, min, max);
	};
}

function range(
	value: number,
	loc: Array<string | number>,
	min?: number,
	max?: number,
): ValidationIssue[] {
	if (min !== undefined && value < min) {
		return [
			issue(loc, 'greater_than_equal', `Input should be greater than or equal to ${min}`, value),
		];
	}
	if (max !== undefined && value > max) {
		return [issue(loc, 'less_than_equal', `Input should be less than or equal to ${max}`, value)];
	}
	return [];
}

const boolean: Check = (value, loc) =>
	typeof value === 'boolean'
		? []
		: [issue(loc, 'bool_type', 'Input should be a valid boolean', value)];

function literal(values: readonly string[]): Check {
	return (value, loc) => {
		if (typeof value !== 'string')
			return [issue(loc, 'string_type', 'Input should be a valid string', value)];
		return values.includes(value)
			? []
			: [issue(loc, 'literal_error', literalMessage(values), value)];
	};
}

const nonEmptyString: Check = (value, loc) => {
	if (typeof value !== 'string')
		return [issue(loc, 'string_type', 'Input should be a valid string', value)];
	if (value.length === 0)
		return [issue(loc, 'string_too_short', 'String should have at least 1 character', value)];
	return [];
};

/** An image input: a public http(s) URL or a `data:` URL. */
const imageUrl: Check = (value, loc) => {
	if (typeof value !== 'string')
		return [issue(loc, 'string_type', 'Input should be a valid string', value)];
	if (/^data:[^,]*,/.test(value)) return [];
	let url: URL;
	try {
		url = new URL(value);
	} catch {
		return [
			issue(loc, 'url_parsing', 'Input should be a valid URL, relative URL without a base', value),
		];
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') {
		return [issue(loc, 'url_scheme', "URL scheme should be 'http' or 'https'", value)];
	}
	return [];
};

const imageUrlList: Check = (value, loc) => {
	if (!Array.isArray(value))
		return [issue(loc, 'list_type', 'Input should be a valid list', value)];
	if (value.length === 0) {
		return [
			issue(loc, 'too_short', 'List should have at least 1 item after validation, not 0', value),
		];
	}
	return value.flatMap((item, i) => imageUrl(item, [...loc, i]));
};

interface Field {
	name: string;
	check: Check;
	required?: boolean;
	/** `Optional[...] = None` in the model: an explicit null is accepted. */
	nullable?: boolean;
}

/** The fields in model order (pydantic reports errors in that order). */
function fieldsFor(kind: EndpointKind): Field[] {
	if (kind in DEV_RULES) return DEV_RULES[kind as DevEndpointKind].map(fieldOfRule);
	const imageInput: Field[] =
		kind === 'edit'
			? [{ name: 'image_url', check: imageUrl, required: true }]
			: kind === 'multi'
				? [{ name: 'image_urls', check: imageUrlList, required: true }]
				: [];
	return [
		{ name: 'prompt', check: nonEmptyString, required: true },
		...imageInput,
		{ name: 'seed', check: integer(), nullable: true },
		{ name: 'guidance_scale', check: number(1, 20) },
		{ name: 'sync_mode', check: boolean },
		{ name: 'num_images', check: integer(1, 4) },
		{ name: 'safety_tolerance', check: literal(SAFETY_TOLERANCES) },
		{ name: 'output_format', check: literal(OUTPUT_FORMATS) },
		{ name: 'aspect_ratio', check: literal(ASPECT_RATIOS), nullable: kind !== 'text-to-image' },
		{ name: 'enhance_prompt', check: boolean },
	];
}

/** All validation errors for `input` on an endpoint of this kind; empty when the input is valid. Unknown fields are ignored. */
export function validateKontextInput(
	kind: EndpointKind,
	input: Record<string, unknown>,
): ValidationIssue[] {
	const issues: ValidationIssue[] = [];
	for (const field of fieldsFor(kind)) {
		const loc = ['body', field.name];
		if (!(field.name in input) || input[field.name] === undefined) {
			if (field.required) issues.push({ loc, msg: 'Field required', type: 'missing', input });
			continue;
		}
		const value = input[field.name];
		if (value === null && field.nullable) continue;
		issues.push(...field.check(value, loc));
	}
	return issues;
}

// ---------------------------------------------------------------------------------------------
// The Kontext [dev] family (kontext-dev-schema.ts): its rules as checks
// ---------------------------------------------------------------------------------------------

function fieldOfRule(rule: FieldRule): Field {
	const check: Check =
		rule.type === 'string'
			? nonEmptyString
			: rule.type === 'image'
				? imageUrl
				: rule.type === 'boolean'
					? boolean
					: rule.type === 'integer'
						? integer(rule.min, rule.max)
						: rule.type === 'number'
							? number(rule.min, rule.max)
							: rule.type === 'literal'
								? literal(rule.values)
								: rule.type === 'image_size'
									? imageSize
									: loraList;
	return { name: rule.name, check, required: rule.required, nullable: rule.nullable };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
	typeof v === 'object' && v !== null && !Array.isArray(v);

/** `Union[ImageSize, Literal[...presets]]`: a preset name, or {width, height} of 1 to 14142 each. */
const imageSize: Check = (value, loc) => {
	if (typeof value === 'string') return literal(IMAGE_SIZE_PRESETS)(value, loc);
	if (!isObject(value))
		return [
			issue(loc, 'model_attributes_type', 'Input should be a valid dictionary or object', value),
		];
	return (['width', 'height'] as const).flatMap((side) =>
		value[side] === undefined ? [] : integer(1, 14142)(value[side], [...loc, side]),
	);
};

/** `List[LoraWeight]`: each `{path: str, scale: float 0..4 = 1, force: bool}`. */
const loraList: Check = (value, loc) => {
	if (!Array.isArray(value))
		return [issue(loc, 'list_type', 'Input should be a valid list', value)];
	return value.flatMap((entry, n) => {
		const at = [...loc, n];
		if (!isObject(entry))
			return [
				issue(at, 'model_attributes_type', 'Input should be a valid dictionary or object', entry),
			];
		return [
			...(entry.path === undefined
				? [issue([...at, 'path'], 'missing', 'Field required', entry)]
				: nonEmptyString(entry.path, [...at, 'path'])),
			...(entry.scale === undefined ? [] : number(0, 4)(entry.scale, [...at, 'scale'])),
			...(entry.force === undefined ? [] : boolean(entry.force, [...at, 'force'])),
		];
	});
};
