import type { IDataObject } from 'n8n-workflow';

import { LIMITS } from '../fal/constants';
import type { EndpointSpec } from '../fal/endpoints';
import type { FieldName, FieldSpec } from '../fal/fields';
import { FIELDS, IMAGE_SIDE, IMAGE_SIZE_PRESETS, LORA_SCALE, LORAS_MAX } from '../fal/fields';
import type { InputChecker } from './validation';
import { isSet } from './validation';

/**
 * The model input from the node's `options` collection for one endpoint: fal's field names, only
 * the fields that endpoint takes (an option left over from another model is never sent) and only
 * those the user set, each checked against its range (expressions bypass the editor's).
 */
export function modelInput(
	check: InputChecker,
	options: IDataObject,
	endpoint: EndpointSpec,
): IDataObject {
	const input: IDataObject = {};
	for (const name of Object.keys(endpoint.fields) as FieldName[]) {
		const value = fieldValue(check, options, name, FIELDS[name]);
		if (value !== undefined) input[FIELDS[name].fal] = value;
	}
	return input;
}

function fieldValue(
	check: InputChecker,
	options: IDataObject,
	name: FieldName,
	field: FieldSpec,
): IDataObject[keyof IDataObject] | undefined {
	if (!isSet(options, name)) return undefined;
	const value = options[name];
	const { type, label } = field;
	switch (type.kind) {
		case 'number':
			return check.number(label, value, type);
		case 'options':
			// A number from an expression (`={{ 2 }}`) is taken as its text: fal types these as strings.
			return check.oneOf(label, value, type.values);
		case 'boolean':
			return check.boolean(label, value);
		case 'seed':
			return Number(value) === LIMITS.seed.random
				? undefined
				: check.number(label, value, { ...LIMITS.seed, integer: true });
		case 'imageSize':
			return imageSize(check, options, label);
		case 'loras':
			return loras(check, value);
	}
}

/** A preset name as is, or `custom` as fal's `{width, height}` (fal's 512 for a side not set). */
function imageSize(check: InputChecker, options: IDataObject, label: string): IDataObject | string {
	const presets = Object.keys(IMAGE_SIZE_PRESETS);
	const value = check.oneOf(label, options.imageSize, [...presets, 'custom']);
	if (value !== 'custom') return value;
	const side = (key: string, sideLabel: string) =>
		isSet(options, key)
			? check.number(sideLabel, options[key], { ...IMAGE_SIDE, integer: true })
			: IMAGE_SIDE.default;
	return { width: side('imageWidth', 'Image Width'), height: side('imageHeight', 'Image Height') };
}

/**
 * The LoRA list, in order, as fal's `[{path, scale, force}]`: the fixed collection's entries
 * (`{lora: [...]}`), or an array from an expression. An empty list sends nothing.
 */
function loras(check: InputChecker, value: unknown): IDataObject[] | undefined {
	const entries = Array.isArray(value)
		? value
		: value && typeof value === 'object' && Array.isArray((value as IDataObject).lora)
			? ((value as IDataObject).lora as unknown[])
			: undefined;
	if (!entries)
		return check.fail(
			'LoRAs',
			'is not a list of LoRAs',
			'Add LoRAs with Add LoRA, or give an array of { path, scale } from an expression',
		);
	if (!entries.length) return undefined;
	if (entries.length > LORAS_MAX)
		check.fail('LoRAs', `${entries.length} given`, `Give at most ${LORAS_MAX} LoRAs`);
	return entries.map((entry, n) => {
		const lora = (entry && typeof entry === 'object' ? entry : {}) as IDataObject;
		const label = `LoRA ${n + 1}`;
		const path = typeof lora.path === 'string' ? lora.path.trim() : '';
		if (!path)
			check.fail(
				`${label} Path`,
				'is empty',
				'Give the URL or path of a .safetensors file, or a Hugging Face model name',
			);
		const weight: IDataObject = { path };
		if (isSet(lora, 'scale')) weight.scale = check.number(`${label} Scale`, lora.scale, LORA_SCALE);
		if (isSet(lora, 'force') && check.boolean(`${label} Force`, lora.force)) weight.force = true;
		return weight;
	});
}
