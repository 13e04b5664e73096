import type {
	IExecuteFunctions,
	IHookFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { CREDENTIAL_NAME } from '../FluxKontext/fal/constants';
import { properties } from './description';
import { outputDeliveries } from './output';
import { receiveDelivery } from './receive';

/**
 * Starts a workflow when a FLUX Kontext job ends: fal POSTs to this trigger's URL (the job's
 * `fal_webhook`). The webhook checks fal's signature and answers at once (receive.ts); the
 * execution then turns the delivery into the finished item, images included (output.ts).
 */
export class FluxKontextTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'FLUX Kontext Trigger',
		name: 'fluxKontextTrigger',
		icon: {
			light: 'file:../FluxKontext/fluxKontext.svg',
			dark: 'file:../FluxKontext/fluxKontext.dark.svg',
		},
		group: ['trigger'],
		version: 1,
		subtitle: '={{ $parameter["verification"] === "none" ? "Not verified" : "Signed by fal" }}',
		description: 'Starts the workflow when a FLUX Kontext job submitted to fal.ai ends',
		defaults: { name: 'FLUX Kontext Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		// Optional: only needed to fetch a result too large for fal to send along.
		credentials: [{ name: CREDENTIAL_NAME, required: false }],
		webhooks: [
			{
				name: 'default',
				httpMethod: 'POST',
				responseMode: 'onReceived',
				path: 'webhook',
			},
		],
		triggerPanel: {
			header: 'Pull in finished FLUX Kontext jobs',
			executionsHelp: {
				inactive:
					'Submit a job (FLUX Kontext, Wait for Completion off) with ' +
					"this trigger's <b>Test URL</b> as its Webhook URL while listening: its delivery " +
					'will show up here.<br /><br />For real runs, publish the workflow and use the ' +
					'<b>Production URL</b>: every finished job then starts one execution.',
				active:
					"Jobs submitted with this trigger's <b>Production URL</b> as their Webhook URL " +
					'start an execution each when they end. Executions are listed under Executions.',
			},
			activationHint:
				'Publish the workflow so that jobs submitted with the Production URL start it.',
		},
		properties,
	};

	// Nothing to register at fal: each job names its webhook when it is submitted.
	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				return true;
			},
			async create(this: IHookFunctions): Promise<boolean> {
				return true;
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return await receiveDelivery.call(this);
	}

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await outputDeliveries.call(this);
	}
}
