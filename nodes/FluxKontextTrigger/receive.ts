/**
 * What the trigger does when a POST arrives, before any execution exists: check fal's signature,
 * drop a job already delivered, and answer at once. Images are not fetched here: that happens in
 * the execution (output.ts), so fal gets its answer before any download, and the images are stored
 * by the process that runs the execution (in queue mode a worker: binary data written here would
 * belong to no execution).
 */
import type { IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { firstDelivery } from './deliveries';
import { DEFAULT_JWKS_URL, JWKS_TIMEOUT_MS, verifyDelivery } from './fal/webhook-keys';
import type { Verdict } from './fal/webhook-keys';
import { isRefusal, readSignedDelivery } from './fal/webhook-signature';

/** What the trigger hands its execution: the delivery's fields, unchanged. */
export const DELIVERY_FIELDS = [
	'request_id',
	'gateway_request_id',
	'status',
	'error',
	'payload',
	'payload_error',
] as const;

export async function receiveDelivery(this: IWebhookFunctions): Promise<IWebhookResponseData> {
	const request = this.getRequestObject();
	const response = this.getResponseObject();
	const node = this.getNode();
	const workflow = this.getWorkflow();
	const where = { workflowId: workflow.id, node: node.name };
	const answer = (status: number, body: IDataObject): IWebhookResponseData => {
		response.writeHead(status, { 'Content-Type': 'application/json' });
		response.end(JSON.stringify(body));
		return { noWebhookResponse: true };
	};

	if (this.getNodeParameter('verification', 'falSignature') !== 'none') {
		const jwksUrl =
			String(this.getNodeParameter('options.jwksUrl', DEFAULT_JWKS_URL) ?? '').trim() ||
			DEFAULT_JWKS_URL;
		const delivery = readSignedDelivery(request.headers, request.rawBody);
		const verdict: Verdict = isRefusal(delivery)
			? { verified: false, status: 401, reason: delivery.refused }
			: await verifyDelivery(
					delivery,
					jwksUrl,
					async (url) =>
						await this.helpers.httpRequest({
							method: 'GET',
							url,
							json: true,
							timeout: JWKS_TIMEOUT_MS,
						}),
				);
		if (!verdict.verified) {
			this.logger.warn(
				`FLUX Kontext Trigger: refused a delivery (${verdict.status}): ${verdict.reason}`,
				where,
			);
			return answer(verdict.status, {
				error:
					verdict.status === 401
						? `Not a verified fal delivery: ${verdict.reason}`
						: `Cannot verify deliveries now: ${verdict.reason}`,
			});
		}
	}

	const body = this.getBodyData();
	const requestId = typeof body.request_id === 'string' ? body.request_id.trim() : '';
	if (requestId === '') {
		this.logger.warn('FLUX Kontext Trigger: refused a delivery (400): it has no request_id', where);
		return answer(400, { error: 'Not a fal webhook delivery: it has no request_id' });
	}
	if (!firstDelivery(this.getWorkflowStaticData('node'), `${workflow.id}:${node.id}`, requestId)) {
		this.logger.info(
			`FLUX Kontext Trigger: request ${requestId} was delivered before; no second execution`,
			where,
		);
		return { webhookResponse: { received: true, duplicate: true } };
	}
	if (this.getNodeParameter('options.emit', 'all') === 'ok' && body.status !== 'OK') {
		return { webhookResponse: { received: true, emitted: false } };
	}
	const json: IDataObject = { request_id: requestId };
	for (const field of DELIVERY_FIELDS)
		if (field in body && field !== 'request_id') json[field] = body[field];
	return { workflowData: [[{ json }]] };
}
