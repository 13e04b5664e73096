import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { requestIdOf } from '../fal/error-tags';
import { estimateExecution } from '../helpers/cost';
import { mapWithConcurrency } from '../helpers/pool';
import { asNodeError, Execution } from '../job/execution';
import { jobOf } from '../job/handle';
import { FalClient } from '../transport';
import * as file from './file';
import * as image from './image';
import * as request from './request';
import { maxConcurrency } from './shared';

/** One output item per input item, or several (Split Into Items: one per image). */
type Operation = (
	execution: Execution,
	itemIndex: number,
) => Promise<INodeExecutionData | INodeExecutionData[]>;

const operations: Record<string, Record<string, Operation>> = {
	image: {
		edit: image.edit.execute,
		textToImage: image.textToImage.execute,
		inpaint: image.inpaint.execute,
	},
	request: {
		getStatus: request.getStatus.execute,
		getResult: request.getResult.execute,
		cancel: request.cancel.execute,
	},
	file: { upload: file.upload.execute },
};

/**
 * Runs the chosen operation for every input item, several at a time, and returns one output item
 * per input item (or, with Split Into Items, one per image), in input order, each paired with its
 * input. The job's cost estimate goes on its first item only, so that a sum over items is right.
 * With Continue On Fail a failed item outputs its error (and its job's request_id and URLs when one
 * was submitted); without it, the first failure halts the other items (nothing more is submitted,
 * jobs under way are cancelled) and the node fails with that item's error, accounting for every
 * job the execution submitted.
 */
export async function route(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const resource = this.getNodeParameter('resource', 0) as string;
	const operationName = this.getNodeParameter('operation', 0) as string;
	const operation = operations[resource]?.[operationName];
	if (!operation) {
		throw new NodeOperationError(
			this.getNode(),
			`The operation "${operationName}" of "${resource}" is not supported`,
		);
	}
	const execution = new Execution(this, await FalClient.connect(this));
	const cost = await estimateExecution(execution, items.length);
	const limit = maxConcurrency(this);

	const outputs = await mapWithConcurrency(
		items.length,
		limit,
		async (itemIndex): Promise<INodeExecutionData[] | undefined> => {
			try {
				cost.admit(itemIndex);
				const produced = await operation(execution, itemIndex);
				const [first, ...more] = Array.isArray(produced) ? produced : [produced];
				return [cost.annotate(first, itemIndex), ...more].map((item) => ({
					...item,
					pairedItem: { item: itemIndex },
				}));
			} catch (error) {
				if (this.continueOnFail())
					return [{ json: failureJson(execution, error), pairedItem: { item: itemIndex } }];
				execution.fail(asNodeError(this, error, itemIndex), itemIndex);
				return undefined;
			}
		},
		() => execution.halted,
	);
	execution.reportStop();
	if (execution.failed) throw execution.failure();
	return [outputs.flatMap((items) => items ?? [])];
}

/**
 * The json of a failed item under Continue On Fail: a readable message, and the job it concerns,
 * with the URLs the node used.
 */
function failureJson(execution: Execution, error: unknown): IDataObject {
	const message = error instanceof Error ? error.message : String(error);
	const description = (error as { description?: unknown }).description;
	const job = jobOf(error);
	const requestId = requestIdOf(error);
	return {
		error: execution.client.redact(message),
		...(typeof description === 'string' && description
			? { description: execution.client.redact(description) }
			: {}),
		...(job
			? {
					request_id: job.request_id,
					status_url: job.status_url,
					response_url: job.response_url,
					cancel_url: job.cancel_url,
				}
			: requestId
				? { request_id: requestId }
				: {}),
	};
}
