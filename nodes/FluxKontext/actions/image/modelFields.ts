import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

import { LIMITS } from '../../fal/constants';
import type { FalDefault, Model, Operation } from '../../fal/endpoints';
import { ENDPOINTS, MODELS, OPERATIONS } from '../../fal/endpoints';
import type { FieldName, FieldSpec } from '../../fal/fields';
import { FIELDS, IMAGE_SIDE, LORA_SCALE } from '../../fal/fields';

/**
 * The `options` fields of fal's model inputs, derived from the endpoint table (fal/endpoints.ts):
 * each field is shown only for the models and operations whose endpoint takes it, with fal's
 * default there. Where that default differs between endpoints (Guidance Scale: 3.5 on [pro], 2.5
 * on [dev]), the field appears once per default, each copy shown for its own models; n8n's editor
 * takes the shown copy's default.
 */
export function modelFieldProperties(): INodeProperties[] {
	const properties: INodeProperties[] = [];
	for (const name of Object.keys(FIELDS) as FieldName[]) {
		for (const group of displayGroups(name)) {
			const show = { '/model': group.models, '/operation': group.operations };
			properties.push(...propertiesOf(name, FIELDS[name], group.falDefault, show));
		}
	}
	return properties;
}

interface DisplayGroup {
	falDefault: FalDefault;
	models: Model[];
	operations: Operation[];
}

/**
 * The models and operations a field is shown for, as few (models x operations) groups as the table
 * allows, one or more per fal default.
 */
function displayGroups(name: FieldName): DisplayGroup[] {
	const groups = new Map<string, DisplayGroup>();
	for (const model of MODELS) {
		const byDefault = new Map<string, { falDefault: FalDefault; operations: Operation[] }>();
		for (const endpoint of ENDPOINTS.filter((e) => e.model === model && name in e.fields)) {
			const falDefault = endpoint.fields[name] as FalDefault;
			const key = JSON.stringify(falDefault);
			const entry = byDefault.get(key) ?? { falDefault, operations: [] };
			entry.operations.push(endpoint.operation);
			byDefault.set(key, entry);
		}
		const served = ENDPOINTS.filter((e) => e.model === model).length;
		for (const { falDefault, operations } of byDefault.values()) {
			// A field on every endpoint of its model groups with any other such model.
			const all = operations.length === served;
			const key = JSON.stringify([falDefault, all ? 'all' : operations]);
			const group = groups.get(key) ?? { falDefault, models: [], operations: [] };
			group.models.push(model);
			group.operations = OPERATIONS.filter(
				(op) => group.operations.includes(op) || operations.includes(op),
			);
			groups.set(key, group);
		}
	}
	return mergeGroups(name, [...groups.values()]);
}

/**
 * Merges groups of the same default where the merged group shows the field on no endpoint that
 * does not take it with that default (the [dev] and LoRA Edit's Resolution Mode).
 */
function mergeGroups(name: FieldName, groups: DisplayGroup[]): DisplayGroup[] {
	const fits = (models: Model[], operations: Operation[], falDefault: FalDefault) =>
		models.every((model) =>
			operations.every((operation) => {
				const endpoint = ENDPOINTS.find((e) => e.model === model && e.operation === operation);
				return !endpoint || (name in endpoint.fields && endpoint.fields[name] === falDefault);
			}),
		);
	const merged: DisplayGroup[] = [];
	for (const group of groups) {
		const into = merged.find((other) => {
			if (other.falDefault !== group.falDefault) return false;
			const models = [...other.models, ...group.models];
			return fits(
				models,
				[...new Set([...other.operations, ...group.operations])],
				group.falDefault,
			);
		});
		if (!into) merged.push({ ...group });
		else {
			into.models = MODELS.filter((m) => into.models.includes(m) || group.models.includes(m));
			into.operations = OPERATIONS.filter(
				(op) => into.operations.includes(op) || group.operations.includes(op),
			);
		}
	}
	return merged;
}

const sideDefault: number = IMAGE_SIDE.default;

type Show = NonNullable<NonNullable<INodeProperties['displayOptions']>['show']>;

function propertiesOf(
	name: FieldName,
	field: FieldSpec,
	falDefault: FalDefault,
	show: Show,
): INodeProperties[] {
	const base = {
		displayName: field.label,
		name,
		description: field.describe(falDefault === null ? undefined : String(falDefault)),
		displayOptions: { show },
	};
	const { type } = field;
	const unset = falDefault ?? '';
	switch (type.kind) {
		case 'number':
			return [
				{
					...base,
					type: 'number',
					typeOptions: {
						minValue: type.min,
						maxValue: type.max,
						numberPrecision: type.integer ? 0 : (type.precision ?? 2),
					},
					default: falDefault ?? type.min,
				},
			];
		case 'options':
			return [
				{
					...base,
					type: 'options',
					options: [
						...(falDefault === null && type.unsetChoice
							? [{ name: type.unsetChoice, value: '' }]
							: []),
						...choicesOf(field, type.values),
					],
					default: unset,
				},
			];
		case 'boolean':
			return [{ ...base, type: 'boolean', default: falDefault ?? false }];
		case 'seed':
			return [
				{
					...base,
					type: 'number',
					typeOptions: { minValue: LIMITS.seed.random, numberPrecision: 0 },
					default: -1,
				},
			];
		case 'imageSize':
			return [
				{ ...base, type: 'options', options: choicesOf(field, []), default: unset },
				...(['Width', 'Height'] as const).map(
					(side): INodeProperties => ({
						displayName: `Image ${side}`,
						name: `image${side}`,
						type: 'number',
						typeOptions: { minValue: IMAGE_SIDE.min, maxValue: IMAGE_SIDE.max },
						default: sideDefault,
						description:
							`${side} in pixels of a Custom Image Size, up to ${IMAGE_SIDE.max} (multiples of ` +
							`16 work best)`,
						displayOptions: { show: { ...show, imageSize: ['custom'] } },
					}),
				),
			];
		case 'loras':
			return [
				{
					...base,
					type: 'fixedCollection',
					typeOptions: { multipleValues: true, sortable: true },
					placeholder: 'Add LoRA',
					default: {},
					options: [{ name: 'lora', displayName: 'LoRA', values: loraValues }],
				},
			];
	}
}

function choicesOf(field: FieldSpec, values: readonly string[]): INodePropertyOptions[] {
	return field.choices
		? field.choices.map((choice) => ({ ...choice }))
		: values.map((value) => ({ name: value, value }));
}

const loraValues: INodeProperties[] = [
	{
		displayName: 'Path',
		name: 'path',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'e.g. https://huggingface.co/owner/repo/resolve/main/style.safetensors',
		description:
			'URL or path of the LoRA .safetensors file, or a Hugging Face model name that resolves ' +
			'to one',
	},
	{
		displayName: 'Scale',
		name: 'scale',
		type: 'number',
		typeOptions: { minValue: LORA_SCALE.min, maxValue: LORA_SCALE.max, numberPrecision: 2 },
		default: 1,
		description:
			`How strongly the LoRA applies, from ${LORA_SCALE.min} to ${LORA_SCALE.max} (fal's ` +
			`default: ${LORA_SCALE.default})`,
	},
	{
		displayName: 'Force',
		name: 'force',
		type: 'boolean',
		default: false,
		description: "Whether to force the LoRA's embedding to be used",
	},
];
