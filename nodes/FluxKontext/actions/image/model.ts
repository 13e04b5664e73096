import type { INodeProperties } from 'n8n-workflow';

import type { EndpointSpec, Model, Operation } from '../../fal/endpoints';
import { endpointOf, falModelPage, MODELS, modelsFor, OPERATIONS } from '../../fal/endpoints';
import type { InputChecker } from '../../helpers/validation';

/** The Model field's words for each model: what it is for, so a person or an agent can pick. */
export const MODEL_TEXT: Record<Model, { name: string; short: string; description: string }> = {
	pro: {
		name: 'FLUX.1 Kontext [Pro]',
		short: 'Pro',
		description: 'Fast, good all-round edits and text to image; priced per image',
	},
	max: {
		name: 'FLUX.1 Kontext [Max]',
		short: 'Max',
		description:
			'Best prompt adherence and typography (text in images), at a higher price per image',
	},
	dev: {
		name: 'FLUX.1 Kontext [Dev]',
		short: 'Dev',
		description:
			'Open weights, the cheapest per image, with a speed knob (Acceleration); keeps the ' +
			"input's own resolution. Edit only, one image.",
	},
	lora: {
		name: 'FLUX.1 Kontext [Dev] With LoRAs',
		short: 'LoRA',
		description:
			'Kontext [dev] with your own LoRA weights (a brand, a style, a product); the only model ' +
			'for Inpaint. Priced per megapixel. One input image.',
	},
};

/**
 * The Model field, one per operation: each lists the models whose endpoint serves it (Text to
 * Image has no [dev] endpoint of fal's own, Inpaint only the LoRA one).
 */
export const modelProperties: INodeProperties[] = OPERATIONS.map((operation) => {
	const models = modelsFor(operation);
	const fallback = models.includes('pro') ? 'pro' : models[0];
	return {
		displayName: 'Model',
		name: 'model',
		type: 'options',
		displayOptions: { show: { resource: ['image'], operation: [operation] } },
		options: models.map((model) => ({
			name: MODEL_TEXT[model].name,
			value: model,
			description: MODEL_TEXT[model].description,
		})),
		default: fallback,
		description: `Prices are on fal's model pages: ${models
			.map((model) => `<a href="${falModelPage(model)}">${MODEL_TEXT[model].short}</a>`)
			.join(', ')}`,
	};
});

/**
 * The endpoint of the item's model and operation, or a refusal naming the models that serve the
 * operation (a model left over from another operation, or one from an expression).
 */
export function endpointFor(
	check: InputChecker,
	operation: Operation,
	model: unknown,
): EndpointSpec {
	const models = modelsFor(operation);
	const chosen = check.oneOf('Model', model, MODELS);
	const endpoint = endpointOf(chosen, operation);
	if (!endpoint) {
		const names = models.map((m) => MODEL_TEXT[m].short).join(', ');
		check.fail(
			'Model',
			`${MODEL_TEXT[chosen].short} has no ` +
				`${operation === 'textToImage' ? 'Text to Image' : 'Inpaint'} endpoint at fal`,
			`Use ${names}` +
				(operation === 'textToImage' && chosen === 'dev'
					? ' (LoRA is Kontext [dev] too, and needs no LoRA)'
					: ''),
		);
	}
	return endpoint;
}
