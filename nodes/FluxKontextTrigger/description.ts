import type { INodeProperties } from 'n8n-workflow';

import {
	binaryPropertyOutputOption,
	splitImagesOption,
	downloadImagesOption,
} from '../FluxKontext/actions/shared';
import { DEFAULT_JWKS_URL } from './fal/webhook-keys';

export const properties: INodeProperties[] = [
	{
		displayName:
			'Paste this trigger\'s Production URL (above, under "Webhook URLs") into the Webhook URL ' +
			'option of a FLUX Kontext Edit, Text to Image or Inpaint with Wait for Completion off. ' +
			'Each job then starts one execution here when it ends, with its images; the submitting ' +
			'workflow does not wait.',
		name: 'usageNotice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'Verification',
		name: 'verification',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Fal Signature (Ed25519)',
				value: 'falSignature',
				description:
					"Accept only deliveries signed by fal (Ed25519, checked against fal's public keys); " +
					'anything else is answered 401 and starts nothing',
			},
			{
				name: 'None',
				value: 'none',
				description: 'For gateways that do not sign their deliveries',
			},
		],
		default: 'falSignature',
	},
	{
		displayName:
			'Without verification, anyone who learns this URL can post a "finished job" with any ' +
			'image or text, and this workflow will run with it. Use it only for a gateway that does ' +
			'not sign, and keep the URL secret.',
		name: 'noVerificationNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { verification: ['none'] } },
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			downloadImagesOption,
			{
				displayName: 'Emit',
				name: 'emit',
				type: 'options',
				options: [
					{
						name: 'Finished and Failed Jobs',
						value: 'all',
						description: 'A failed job starts an execution too, with its error',
					},
					{
						name: 'Finished Jobs Only',
						value: 'ok',
						description: 'A failed job is acknowledged and starts nothing',
					},
				],
				default: 'all',
			},
			{
				displayName: 'JWKS URL',
				name: 'jwksUrl',
				type: 'string',
				default: DEFAULT_JWKS_URL,
				description:
					"Where fal's public keys are read (kept for an hour, read again when a " +
					"delivery's key is new)",
				displayOptions: { show: { '/verification': ['falSignature'] } },
			},
			binaryPropertyOutputOption,
			splitImagesOption,
		],
	},
];
