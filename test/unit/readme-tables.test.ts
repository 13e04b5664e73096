/**
 * The README's tables of the Kontext family, checked against the endpoint table
 * (nodes/FluxKontext/fal/endpoints.ts): the model-field table is generated here and must appear in
 * the README exactly (on a mismatch the test prints the table to paste), and every endpoint, model
 * and operation is in the Operations table.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { MODEL_TEXT } from '../../nodes/FluxKontext/actions/image/model';
import type { EndpointSpec } from '../../nodes/FluxKontext/fal/endpoints';
import { ENDPOINTS, MODELS } from '../../nodes/FluxKontext/fal/endpoints';
import type { FieldName, FieldSpec } from '../../nodes/FluxKontext/fal/fields';
import { FIELDS, IMAGE_SIDE, LORA_SCALE } from '../../nodes/FluxKontext/fal/fields';

const README = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');

const OPERATION_NAMES: Record<string, string> = {
	edit: 'Edit',
	textToImage: 'Text to Image',
	inpaint: 'Inpaint',
};

const code = (value: unknown) => `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;

function valuesOf(field: FieldSpec): string {
	const { type } = field;
	switch (type.kind) {
		case 'number':
			return `${type.min} to ${type.max}${type.integer ? ', whole' : ''}`;
		case 'options':
			return type.values.map(code).join(' ');
		case 'boolean':
			return 'boolean';
		case 'seed':
			return "whole number ≥ 0; `-1` (the option's default): random, nothing sent";
		case 'imageSize':
			return `a preset (${(field.choices ?? [])
				.filter((c) => c.value !== 'custom')
				.map((c) => code(c.value))
				.join(
					' ',
				)}) or \`custom\`: \`imageWidth\` x \`imageHeight\`, ${IMAGE_SIDE.min} to ${IMAGE_SIDE.max} (${IMAGE_SIDE.default})`;
		case 'loras':
			return `\`loras.lora[]\` of \`path\`, \`scale\` (${LORA_SCALE.min} to ${LORA_SCALE.max}, ${LORA_SCALE.default}), \`force\``;
	}
}

/** Endpoints with the same fields and defaults share a column. */
function columns(): Array<{ title: string; endpoints: EndpointSpec[] }> {
	const groups = new Map<string, EndpointSpec[]>();
	for (const endpoint of ENDPOINTS) {
		const key = JSON.stringify(endpoint.fields);
		groups.set(key, [...(groups.get(key) ?? []), endpoint]);
	}
	return [...groups.values()].map((endpoints) => {
		const models = MODELS.filter((m) => endpoints.some((e) => e.model === m));
		const operations = [...new Set(endpoints.map((e) => OPERATION_NAMES[e.operation]))];
		return {
			title: `${models.map((m) => MODEL_TEXT[m].short).join(', ')}: ${operations.join(', ')}`,
			endpoints,
		};
	});
}

function modelFieldTable(): string {
	const cols = columns();
	const rows = (Object.keys(FIELDS) as FieldName[]).map((name) => {
		const field = FIELDS[name];
		const cells = cols.map(({ endpoints }) => {
			const spec = endpoints[0];
			if (!(name in spec.fields)) return '—';
			const falDefault = spec.fields[name];
			return falDefault === null ? '✓' : code(falDefault);
		});
		return `| ${field.label} | \`${name}\` | \`${field.fal}\` | ${valuesOf(field)} | ${cells.join(' | ')} |`;
	});
	return [
		`| option | name | fal field | values | ${cols.map((c) => c.title).join(' | ')} |`,
		`| --- | --- | --- | --- |${cols.map(() => ' --- |').join('')}`,
		...rows,
	].join('\n');
}

describe("the README's tables of the Kontext family", () => {
	it('has the model-field table generated from the endpoint table', () => {
		const table = modelFieldTable();
		if (!README.includes(table))
			throw new Error(`README.md lacks this table (paste it under "Model fields"):\n\n${table}\n`);
	});

	it('names every endpoint, model and operation in the Operations table', () => {
		const operations = README.slice(README.indexOf('## Operations'), README.indexOf('### Options'));
		for (const endpoint of ENDPOINTS) {
			expect([endpoint.id, operations.includes(`\`${endpoint.id}\``)]).toEqual([endpoint.id, true]);
			if (endpoint.multiId) expect(operations).toContain(`\`${endpoint.multiId}\``);
		}
		for (const model of MODELS) expect(operations).toContain(`\`${model}\``);
		for (const name of Object.values(OPERATION_NAMES)) expect(operations).toContain(`**${name}**`);
	});
});
