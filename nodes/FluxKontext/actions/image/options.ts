/**
 * The Options collection of the image operations: fal's fields, the waiting controls, fal's request
 * headers and the money controls, one entry each, sorted by display name as n8n's editor expects.
 */
import type { INodeProperties } from 'n8n-workflow';

import { QUEUE_PRIORITIES } from '../../fal/constants';
import {
	binaryPropertyOutputOption,
	downloadImagesOption,
	maxConcurrencyOption,
	onTimeoutOption,
	optionsCollection,
	splitImagesOption,
	timeoutOption,
} from '../shared';
import { modelFieldProperties } from './modelFields';

const show = { resource: ['image'] };

export const IMAGE_UPLOAD_MODES = ['auto', 'always', 'never'] as const;

/** Option of the `options` collection, for Edit and Inpaint: how input images travel to fal. */
const imageUploadOption: INodeProperties = {
	displayName: 'Image Upload',
	name: 'imageUpload',
	type: 'options',
	displayOptions: { show: { '/operation': ['edit', 'inpaint'] } },
	options: [
		{
			name: 'Auto',
			value: 'auto',
			description:
				"Binary images go to fal's storage when the credential has one (fal's own Base URL, or a " +
				'Storage URL), else inline; data URLs over 10 MB are uploaded too',
		},
		{
			name: 'Always Upload',
			value: 'always',
			description:
				'Upload every binary image and data URL; refuse when the credential has no storage',
		},
		{
			name: 'Never (Inline)',
			value: 'never',
			description: 'Send images inline as data URLs in the request, up to 10 MB each',
		},
	],
	default: 'auto',
	description:
		'How input images reach fal. Uploading sends a file URL instead of the bytes in the request: ' +
		'no size limit and far less memory.',
};

/**
 * Fields of the `options` collection: fal's model fields (from the endpoint table, each shown for
 * the models that take it) and the node's own controls, sorted by display name as n8n's editor
 * expects.
 */
export const optionsProperty: INodeProperties = optionsCollection(
	show,
	byDisplayName([
		...modelFieldProperties(),
		{
			displayName: 'Allow Fallback Endpoints',
			name: 'allowFallbacks',
			type: 'boolean',
			default: true,
			description:
				'Whether fal may run the job on an equivalent endpoint, possibly at another price ' +
				"(fal's default). Off sends x-app-fal-disable-fallback.",
		},
		downloadImagesOption,
		imageUploadOption,
		maxConcurrencyOption,
		{
			displayName: 'Max Queue Length',
			name: 'maxQueueLength',
			type: 'number',
			typeOptions: { minValue: 0, numberPrecision: 0 },
			default: 10,
			description:
				"Fail the item at once, not submitted and not billed, when fal's queue for the " +
				'endpoint is longer than this (sent as fal_max_queue_length), instead of waiting in it',
		},
		{
			displayName: 'Max Cost (USD)',
			name: 'maxCost',
			type: 'number',
			typeOptions: { minValue: 0, numberPrecision: 2 },
			default: 1,
			description:
				'Budget for this execution: when the estimated cost of all items (images x price per ' +
				'image, or per megapixel for LoRA models) is higher, the node refuses before ' +
				"submitting anything. The price comes from fal's pricing API or the credential's Price " +
				'per Image; without either, the node refuses too rather than spend blind.',
		},
		{
			displayName: 'Media Expiry (Seconds)',
			name: 'mediaExpiry',
			type: 'number',
			typeOptions: { minValue: 1, numberPrecision: 0 },
			default: 3600,
			description:
				'How long fal keeps the generated image files on its CDN (sent as ' +
				'X-Fal-Object-Lifecycle-Preference). Download Images keeps your copy.',
		},
		onTimeoutOption,
		binaryPropertyOutputOption,
		splitImagesOption,
		{
			displayName: 'Queue Priority',
			name: 'priority',
			type: 'options',
			options: QUEUE_PRIORITIES.map((priority) => ({
				name: priority === 'low' ? 'Low' : 'Normal',
				value: priority,
				description:
					priority === 'low'
						? 'Behind every normal request to the same endpoint, from any fal user'
						: 'The default at fal',
			})),
			default: 'normal',
			description:
				"Sent as X-Fal-Queue-Priority. On fal's shared models, Low waits behind everyone else's " +
				'requests.',
		},
		{
			displayName: 'Start Timeout (Seconds)',
			name: 'startTimeout',
			type: 'number',
			typeOptions: { minValue: 1.1, numberPrecision: 1 },
			default: 60,
			description:
				'If the job has not started within this time, fal drops it unbilled (sent as ' +
				'X-Fal-Request-Timeout; more than 1 second). Once started it runs to the end. If Timeout ' +
				'is shorter, the node may stop waiting while fal still starts, and bills, the job.',
		},
		{
			displayName: 'Store Payloads',
			name: 'storePayloads',
			type: 'boolean',
			default: true,
			description:
				"Whether fal keeps the request's input and output in its history (fal's default). Off " +
				"sends X-Fal-Store-IO: 0; the image files stay on fal's CDN (see Media Expiry).",
		},
		timeoutOption,
		{
			displayName: 'Webhook URL',
			name: 'webhookUrl',
			type: 'string',
			default: '',
			placeholder: 'e.g. the Production URL of a FLUX Kontext Trigger',
			description:
				'URL that fal POSTs the result to when the job ends (sent as fal_webhook). With Wait ' +
				'for Completion off, paste the Production URL of a FLUX Kontext Trigger: it checks ' +
				"fal's signature and starts one execution per finished job, images included. Or, " +
				'with a Wait node set to "On Webhook Call", use {{ $execution.resumeUrl }}.',
		},
	]),
);

/** Sorted by display name (a stable sort: the copies of one field keep their order). */
function byDisplayName(properties: INodeProperties[]): INodeProperties[] {
	return [...properties].sort((a, b) => a.displayName.localeCompare(b.displayName));
}
