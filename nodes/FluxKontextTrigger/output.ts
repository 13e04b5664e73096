/**
 * The trigger's execution: each verified delivery becomes the item the contract names, in the
 * process that runs the execution. A finished job's item is the action node's (same result fields,
 * same image download with its size cap, type sniffing and no token); a failed job's `error` is
 * worded as the action node words it.
 */
import type { IDataObject, IExecuteFunctions, INode, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { CREDENTIAL_NAME } from '../FluxKontext/fal/constants';
import type { FalAnswer } from '../FluxKontext/fal/answer';
import { errorTypeOf } from '../FluxKontext/fal/answer';
import { falApiError, jobFailedError } from '../FluxKontext/fal/errors';
import { APP_IDS } from '../FluxKontext/fal/endpoints';
import { urlsForRequest } from '../FluxKontext/fal/urls';
import { asNodeError, Execution } from '../FluxKontext/job/execution';
import { itemOfAnswer, itemOfResult } from '../FluxKontext/job/result';
import { splitImageItems } from '../FluxKontext/helpers/image-items';
import { FalClient } from '../FluxKontext/transport';

interface Controls {
	downloadImages: boolean;
	binaryPropertyOutput: string;
	/** Split Into Items: one item per image, as the action node's (helpers/image-items.ts). */
	splitImages: boolean;
}

export async function outputDeliveries(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const hasCredential = this.getNode().credentials?.[CREDENTIAL_NAME] !== undefined;
	const client = await FalClient.connect(this, hasCredential);
	const execution = new Execution(this, client);
	const out: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		const delivery = items[itemIndex].json;
		const requestId = String(delivery.request_id ?? '');
		try {
			const item = await deliveredItem(execution, delivery, itemIndex, hasCredential);
			const { splitImages, binaryPropertyOutput } = controlsOf(this);
			const shaped = splitImages ? splitImageItems(item, binaryPropertyOutput) : [item];
			for (const one of shaped) out.push({ ...one, pairedItem: { item: itemIndex } });
		} catch (error) {
			const failure = asNodeError(this, error, itemIndex);
			if (!this.continueOnFail()) throw failure;
			out.push({
				json: { request_id: requestId, status: delivery.status, error: failure.message },
				pairedItem: { item: itemIndex },
			});
		}
	}
	return [out];
}

function controlsOf(ctx: IExecuteFunctions): Controls {
	const options = ctx.getNodeParameter('options', 0, {}) as IDataObject;
	const prefix =
		typeof options.binaryPropertyOutput === 'string' ? options.binaryPropertyOutput.trim() : '';
	return {
		downloadImages: options.downloadImages !== false,
		binaryPropertyOutput: prefix || 'data',
		splitImages: options.splitImages === true,
	};
}

async function deliveredItem(
	execution: Execution,
	delivery: IDataObject,
	itemIndex: number,
	hasCredential: boolean,
): Promise<INodeExecutionData> {
	const { ctx } = execution;
	const requestId = String(delivery.request_id);
	const controls = controlsOf(ctx);
	if (delivery.status !== 'OK') {
		return { json: { request_id: requestId, ...failedJob(ctx.getNode(), delivery, itemIndex) } };
	}
	const options = { itemIndex, requestId, signal: execution.interrupt };
	const payload = delivery.payload;
	if (payload && typeof payload === 'object' && !Array.isArray(payload)) {
		const item = await itemOfResult(execution, payload as IDataObject, options, controls);
		return { ...item, json: { request_id: requestId, status: 'OK', ...item.json } };
	}
	const why =
		typeof delivery.payload_error === 'string' && delivery.payload_error
			? delivery.payload_error
			: 'no payload';
	if (!hasCredential) {
		throw new NodeOperationError(
			ctx.getNode(),
			`fal's delivery of request ${requestId} holds no result (${why})`,
			{
				itemIndex,
				description:
					'The job finished, but its result was too large to send along. Select a FLUX ' +
					'Kontext credential in this trigger to have it fetched, or fetch it with FLUX ' +
					`Kontext > Request > Get Result and request id ${requestId} (fal keeps results ` +
					'about an hour, large ones about 6 minutes).',
			},
		);
	}
	const item = await resultOfAnyApp(execution, requestId, itemIndex, controls);
	return { ...item, json: { request_id: requestId, status: 'OK', ...item.json } };
}

/**
 * A finished job's result, fetched. The delivery does not name the endpoint that ran, and fal knows
 * a request only under its own app: the family's apps in turn ([pro] and [max] first), while fal
 * answers the result request with 404. Where none knows it (a result fal no longer keeps), the
 * first app's answer.
 */
async function resultOfAnyApp(
	execution: Execution,
	requestId: string,
	itemIndex: number,
	controls: Controls,
): Promise<INodeExecutionData> {
	const { client } = execution;
	const options = { itemIndex, requestId, signal: execution.interrupt };
	let first: FalAnswer | undefined;
	for (const appId of APP_IDS) {
		const { response_url } = urlsForRequest(client.baseUrl, requestId, appId);
		const answer = await client.result(response_url, options);
		if (answer.statusCode !== 404) return await itemOfAnswer(execution, answer, options, controls);
		first ??= answer;
	}
	return await itemOfAnswer(execution, first!, options, controls);
}

/**
 * A failed job: `error` in the action node's words (a 422 names each field), fal's own `detail`
 * and error type beside it.
 */
function failedJob(node: INode, delivery: IDataObject, itemIndex: number): IDataObject {
	const payload = delivery.payload as IDataObject | null | undefined;
	const falError = typeof delivery.error === 'string' ? delivery.error : '';
	const code = Number(/\b([45]\d\d)\b/.exec(falError)?.[1]);
	const answer = { statusCode: code, headers: {}, body: payload ?? { detail: falError } };
	const context = { itemIndex, requestId: String(delivery.request_id), secrets: [] };
	const error = Number.isFinite(code)
		? falApiError(node, answer, { ...context, operation: 'result' })
		: jobFailedError(node, { ...(payload ?? {}), error: falError || 'unknown error' }, context);
	return {
		status: typeof delivery.status === 'string' ? delivery.status : 'ERROR',
		error: error.message,
		detail: payload?.detail ?? null,
		error_type: errorTypeOf(answer) ?? null,
	};
}
