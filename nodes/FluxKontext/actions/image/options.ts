/**
 * The Options collection of the image operations: fal's fields, the waiting controls, fal's request
 * headers and the money controls, one entry each, sorted by display name as n8n's editor expects.
 */
import type { INodeProperties } from 'n8n-workflow';

import { ASPECT_RATIOS, LIMITS, QUEUE_PRIORITIES, SAFETY_TOLERANCES } from '../../fal/constants';
import {
	binaryPropertyOutputOption,
	downloadImagesOption,
	maxConcurrencyOption,
	onTimeoutOption,
	optionsCollection,
	timeoutOption,
} from '../shared';

const show = { resource: ['image'] };

export const IMAGE_UPLOAD_MODES = ['auto', 'always', 'never'] as const;

/** Option of the `options` collection, shown for Edit only: how input images travel to fal. */
const imageUploadOption: INodeProperties = {
	displayName: 'Image Upload',
	name: 'imageUpload',
	type: 'options',
	displayOptions: { show: { '/operation': ['edit'] } },
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

/** Fields of the `options` collection, sorted by display name as n8n's editor expects. */
export const optionsProperty: INodeProperties = optionsCollection(show, [
	{
		displayName: 'Aspect Ratio',
		name: 'aspectRatio',
		type: 'options',
		options: [
			{ name: "Default (Edit: Input's Ratio; Text to Image: 1:1)", value: '' },
			...ASPECT_RATIOS.map((ratio) => ({ name: ratio, value: ratio })),
		],
		default: '',
		description:
			"Width to height of the output. The default sends nothing: fal keeps the input image's " +
			'ratio for Edit and makes 1:1 for Text to Image.',
	},
	downloadImagesOption,
	{
		displayName: 'Enhance Prompt',
		name: 'enhancePrompt',
		type: 'boolean',
		default: false,
		description: "Whether fal should rewrite the prompt for better results (fal's default: off)",
	},
	{
		displayName: 'Guidance Scale',
		name: 'guidanceScale',
		type: 'number',
		typeOptions: {
			minValue: LIMITS.guidanceScale.min,
			maxValue: LIMITS.guidanceScale.max,
			numberPrecision: 1,
		},
		default: 3.5,
		description: "How closely the image follows the prompt, from 1 to 20 (fal's default: 3.5)",
	},
	imageUploadOption,
	maxConcurrencyOption,
	{
		displayName: 'Max Cost (USD)',
		name: 'maxCost',
		type: 'number',
		typeOptions: { minValue: 0, numberPrecision: 2 },
		default: 1,
		description:
			'Budget for this execution: when the estimated cost of all items (images x price per ' +
			'image) is higher, the node refuses before submitting anything. The price comes from ' +
			"fal's pricing API or the credential's Price per Image; without either, the node refuses " +
			'too rather than spend blind.',
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
	{
		displayName: 'Number of Images',
		name: 'numImages',
		type: 'number',
		typeOptions: {
			minValue: LIMITS.numImages.min,
			maxValue: LIMITS.numImages.max,
			numberPrecision: 0,
		},
		default: 1,
		description:
			"How many images to create per item, from 1 to 4 (fal's default: 1). Each is billed.",
	},
	onTimeoutOption,
	{
		displayName: 'Output Format',
		name: 'outputFormat',
		type: 'options',
		options: [
			{ name: 'JPEG', value: 'jpeg' },
			{ name: 'PNG', value: 'png' },
		],
		default: 'jpeg',
		description: "File format of the images (fal's default: JPEG)",
	},
	binaryPropertyOutputOption,
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
		displayName: 'Safety Tolerance',
		name: 'safetyTolerance',
		type: 'options',
		options: SAFETY_TOLERANCES.map((level) => ({
			name: level === '1' ? '1 (Strictest)' : level === '6' ? '6 (Most Permissive)' : level,
			value: level,
		})),
		default: '2',
		description:
			"How permissive fal's safety checker is, from 1 to 6 (fal's default: 2). Sent as text, as " +
			'fal requires.',
	},
	{
		displayName: 'Seed',
		name: 'seed',
		type: 'number',
		typeOptions: { minValue: LIMITS.seed.random, numberPrecision: 0 },
		default: -1,
		description:
			`The same seed, prompt and model give the same image. ${LIMITS.seed.random} ` +
			`(the default): a random seed, chosen by fal and returned in the output.`,
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
	{
		displayName: 'Sync Mode',
		name: 'syncMode',
		type: 'boolean',
		default: false,
		description:
			'Whether fal returns the images inline (as data URIs) instead of as CDN URLs; they are ' +
			"then not kept in fal's history. Not with Wait for Completion off or a Webhook URL: fal " +
			'keeps such large results only minutes.',
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
]);
