/**
 * The endpoint table (nodes/FluxKontext/fal/endpoints.ts) held against the reference
 * (/work/shared/reference/kontext-family.md, transcribed below): every field fal documents for an
 * endpoint is offered, nothing is offered that the endpoint does not take, defaults match; and the
 * node's fields (shown per model and operation) and the fake fal's schemas agree with the table.
 */
import { FluxKontext } from '../../nodes/FluxKontext/FluxKontext.node';
import { ENDPOINTS, endpointOf } from '../../nodes/FluxKontext/fal/endpoints';
import type { FieldName } from '../../nodes/FluxKontext/fal/fields';
import { FIELDS } from '../../nodes/FluxKontext/fal/fields';
import { DEV_ENDPOINTS, DEV_RULES } from '../support/fake-fal/kontext-dev-schema';
import { KONTEXT_ENDPOINTS, validateKontextInput } from '../support/fake-fal';

/** fal field → fal's default (undefined: the reference gives none). From kontext-family.md. */
type Table = Record<string, unknown>;
const PRO: Table = {
	aspect_ratio: undefined,
	enhance_prompt: undefined,
	guidance_scale: 3.5,
	num_images: 1,
	output_format: 'jpeg',
	safety_tolerance: '2',
	seed: undefined,
	sync_mode: undefined,
};
const DEV: Table = {
	acceleration: 'none',
	enable_safety_checker: true,
	guidance_scale: 2.5,
	num_images: 1,
	num_inference_steps: 28,
	output_format: 'jpeg',
	resolution_mode: 'match_input',
	seed: undefined,
	sync_mode: false,
};
const LORA_COMMON: Table = {
	loras: undefined,
	acceleration: 'none',
	enable_safety_checker: true,
	guidance_scale: 2.5,
	num_images: 1,
	num_inference_steps: 30,
	output_format: 'png',
	seed: undefined,
	sync_mode: false,
};
const REFERENCE: Record<string, { images: string[]; fields: Table }> = {
	'fal-ai/flux-pro/kontext': { images: ['image_url'], fields: PRO },
	'fal-ai/flux-pro/kontext/max': { images: ['image_url'], fields: PRO },
	'fal-ai/flux-pro/kontext/text-to-image': { images: [], fields: PRO },
	'fal-ai/flux-pro/kontext/max/text-to-image': { images: [], fields: PRO },
	'fal-ai/flux-kontext/dev': { images: ['image_url'], fields: DEV },
	'fal-ai/flux-kontext-lora': {
		images: ['image_url'],
		fields: { ...DEV, loras: undefined, num_inference_steps: 30, output_format: 'png' },
	},
	'fal-ai/flux-kontext-lora/text-to-image': {
		images: [],
		fields: { ...LORA_COMMON, image_size: 'landscape_4_3' },
	},
	'fal-ai/flux-kontext-lora/inpaint': {
		images: ['image_url', 'mask_url', 'reference_image_url'],
		fields: { ...LORA_COMMON, strength: 0.88 },
	},
};

/** The table's fields of an endpoint as fal name → default (null: none). */
const falFieldsOf = (id: string) => {
	const spec = ENDPOINTS.find((e) => e.id === id)!;
	return Object.fromEntries(
		(Object.entries(spec.fields) as Array<[FieldName, unknown]>).map(([name, value]) => [
			FIELDS[name].fal,
			value,
		]),
	);
};

describe('the endpoint table against the reference', () => {
	it('has exactly the reference endpoints, each with its images', () => {
		expect(ENDPOINTS.map((e) => e.id).sort()).toEqual(Object.keys(REFERENCE).sort());
		for (const spec of ENDPOINTS)
			expect([spec.id, spec.images]).toEqual([spec.id, REFERENCE[spec.id].images]);
		expect(endpointOf('pro', 'edit')?.multiId).toBe('fal-ai/flux-pro/kontext/multi');
		expect(endpointOf('max', 'edit')?.multiId).toBe('fal-ai/flux-pro/kontext/max/multi');
		for (const spec of ENDPOINTS.filter((e) => e.model === 'dev' || e.model === 'lora'))
			expect(spec.multiId).toBeUndefined();
	});

	it.each(Object.keys(REFERENCE))(
		"%s: every field fal takes, nothing else, fal's defaults",
		(id) => {
			const ours = falFieldsOf(id);
			expect(Object.keys(ours).sort()).toEqual(Object.keys(REFERENCE[id].fields).sort());
			for (const [field, falDefault] of Object.entries(REFERENCE[id].fields)) {
				if (falDefault !== undefined) expect([field, ours[field]]).toEqual([field, falDefault]);
			}
		},
	);

	it('text to image has no [dev] endpoint, inpaint only the LoRA one', () => {
		expect(endpointOf('dev', 'textToImage')).toBeUndefined();
		for (const model of ['pro', 'max', 'dev']) expect(endpointOf(model, 'inpaint')).toBeUndefined();
	});
});

describe("the node's fields, derived from the table", () => {
	const properties = new FluxKontext().description.properties;
	const options = properties.find(
		(p) => p.name === 'options' && p.displayOptions?.show?.resource?.[0] === 'image',
	)!.options as Array<{
		name: string;
		default: unknown;
		displayOptions?: { show?: Record<string, unknown[]> };
	}>;
	const shown = (model: string, operation: string) =>
		options.filter((o) => {
			const show = o.displayOptions?.show ?? {};
			return (
				(!show['/model'] || show['/model'].includes(model)) &&
				(!show['/operation'] || show['/operation'].includes(operation))
			);
		});

	it.each(ENDPOINTS.map((e) => [e.id, e] as const))(
		"%s: shows exactly its fields, once each, with fal's default",
		(_id, spec) => {
			const visible = shown(spec.model, spec.operation);
			for (const name of Object.keys(FIELDS) as FieldName[]) {
				const copies = visible.filter((o) => o.name === name);
				if (!(name in spec.fields)) {
					expect([name, copies.length]).toEqual([name, 0]);
					continue;
				}
				expect([name, copies.length]).toEqual([name, 1]);
				const falDefault = spec.fields[name];
				if (falDefault !== null && name !== 'loras')
					expect([name, copies[0].default]).toEqual([name, falDefault]);
			}
		},
	);

	it('offers each operation the models that serve it', () => {
		const models = (operation: string) =>
			properties
				.filter((p) => p.name === 'model' && p.displayOptions?.show?.operation?.includes(operation))
				.flatMap((p) => (p.options ?? []).map((o) => ('value' in o ? o.value : undefined)));
		expect(models('edit')).toEqual(['pro', 'max', 'dev', 'lora']);
		expect(models('textToImage')).toEqual(['pro', 'max', 'lora']);
		expect(models('inpaint')).toEqual(['lora']);
	});
});

describe("the fake fal's schemas agree with the reference", () => {
	it.each(Object.keys(DEV_ENDPOINTS))('%s', (id) => {
		expect(KONTEXT_ENDPOINTS[id]).toBe(DEV_ENDPOINTS[id]);
		const rules = DEV_RULES[DEV_ENDPOINTS[id]];
		const reference = REFERENCE[id];
		expect(rules.map((r) => r.name).sort()).toEqual(
			['prompt', ...reference.images, ...Object.keys(reference.fields)].sort(),
		);
		for (const [field, falDefault] of Object.entries(reference.fields))
			if (falDefault !== undefined)
				expect([field, rules.find((r) => r.name === field)?.default]).toEqual([field, falDefault]);
		// Every image and the prompt are required: a body without them is a 422 "missing".
		const missing = validateKontextInput(DEV_ENDPOINTS[id], {}).map((i) => i.loc[1]);
		expect(missing).toEqual(['prompt', ...reference.images]);
	});

	it('refuses out-of-range values as fal does', () => {
		const base = { prompt: 'p', image_url: 'https://a.example/i.png' };
		const types = (kind: Parameters<typeof validateKontextInput>[0], input: object) =>
			validateKontextInput(kind, { ...base, ...input }).map((i) => [
				i.loc.slice(1).join('.'),
				i.type,
			]);
		expect(types('dev-edit', { num_inference_steps: 9, guidance_scale: 21 })).toEqual([
			['num_inference_steps', 'greater_than_equal'],
			['guidance_scale', 'less_than_equal'],
		]);
		expect(types('dev-edit', { acceleration: 'fast', resolution_mode: '7:5' })).toEqual([
			['acceleration', 'literal_error'],
			['resolution_mode', 'literal_error'],
		]);
		expect(
			types('lora-inpaint', {
				mask_url: 'ftp://x',
				reference_image_url: 'https://a.example/r.png',
				strength: 0,
				loras: [{ scale: 5 }],
			}),
		).toEqual([
			['mask_url', 'url_scheme'],
			['loras.0.path', 'missing'],
			['loras.0.scale', 'less_than_equal'],
			['strength', 'greater_than_equal'],
		]);
		expect(types('lora-text-to-image', { image_size: { width: 20000, height: 512 } })).toEqual([
			['image_size.width', 'less_than_equal'],
		]);
		expect(types('lora-text-to-image', { image_size: 'huge' })).toEqual([
			['image_size', 'literal_error'],
		]);
		// A [pro] field on a [dev] endpoint is ignored, as pydantic ignores unknown fields.
		expect(types('dev-edit', { safety_tolerance: 2 })).toEqual([]);
	});
});
