/**
 * A finished job's result as an output item: fal's JSON plus the request id (and `billed_units`
 * where fal sends them), the images as binary data, or the short answer an AI Agent gets.
 */

import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import type { FalAnswer } from '../fal/answer';
import { headerValue } from '../fal/answer';
import type { CallOptions } from '../transport';
import { anySignal, startDeadline } from '../transport/signals';
import { splitImageItems } from '../helpers/image-items';
import { imagesToBinary, resultImages } from '../helpers/result-images';
import type { RunControls } from '../helpers/validation';
import type { Execution } from './execution';
import { asNodeError } from './execution';
import type { JobHandle } from './handle';
import { tagJob } from './handle';
import { interruptedError, WHY } from './interruptions';

/**
 * Get Result without waiting: the result and images of a job now, within the item's Timeout; Stop
 * and the halt end it at once.
 */
export async function fetchResult(
	execution: Execution,
	handle: JobHandle,
	itemIndex: number,
	controls: RunControls,
): Promise<INodeExecutionData[]> {
	const timeout = startDeadline(controls.timeoutMs, 'Timeout');
	const signal = anySignal(execution.interrupt, timeout.signal);
	try {
		return await resultItems(execution, handle, itemIndex, controls, signal);
	} catch (error) {
		if (!signal.aborted) throw tagJob(asNodeError(execution.ctx, error, itemIndex), handle);
		const reason = execution.interruption();
		const why =
			reason === 'timeout' ? `Timed out after ${controls.timeoutMs / 1000} s` : WHY[reason];
		throw tagJob(
			interruptedError(
				execution,
				`${why} while fetching the result of request ${handle.request_id}`,
				itemIndex,
				'Fetch it again with Get Result (fal keeps results about an hour), or raise the Timeout ' +
					'option.',
			),
			handle,
		);
	} finally {
		timeout.clear();
	}
}

/**
 * Fetches a finished job's result: fal's JSON plus the request id, and the images as binary data;
 * one item, or with Split Into Items one item per image (helpers/image-items.ts). An AI Agent's
 * answer is one item either way.
 */
export async function resultItems(
	execution: Execution,
	handle: JobHandle,
	itemIndex: number,
	controls: Pick<RunControls, 'downloadImages' | 'binaryPropertyOutput' | 'splitImages'>,
	signal?: AbortSignal,
): Promise<INodeExecutionData[]> {
	const item = await resultItem(execution, handle, itemIndex, controls, signal);
	return controls.splitImages && !execution.asTool
		? splitImageItems(item, controls.binaryPropertyOutput)
		: [item];
}

/** The finished job's one item: fal's JSON plus the request id, and the images as binary data. */
export async function resultItem(
	execution: Execution,
	handle: JobHandle,
	itemIndex: number,
	controls: Pick<RunControls, 'downloadImages' | 'binaryPropertyOutput'>,
	signal?: AbortSignal,
): Promise<INodeExecutionData> {
	const requestId = handle.request_id;
	const options = { itemIndex, requestId, signal: signal ?? execution.interrupt };
	const answer = await execution.client.result(handle.response_url, options);
	return await itemOfAnswer(execution, answer, options, controls);
}

/** The item of fal's answer to a result request (an error unless it holds the result). */
export async function itemOfAnswer(
	execution: Execution,
	answer: FalAnswer,
	options: CallOptions & { requestId: string },
	controls: Pick<RunControls, 'downloadImages' | 'binaryPropertyOutput'>,
): Promise<INodeExecutionData> {
	const result = {
		...execution.client.expectJson(answer, 'result', options),
		...billedUnits(answer.headers),
	};
	return await itemOfResult(execution, result, options, controls);
}

/**
 * A finished job's item from its result (fetched, or delivered by fal's webhook to the trigger):
 * fal's JSON plus the request id, and the images as binary data.
 */
export async function itemOfResult(
	execution: Execution,
	result: IDataObject,
	options: CallOptions & { requestId: string },
	controls: Pick<RunControls, 'downloadImages' | 'binaryPropertyOutput'>,
): Promise<INodeExecutionData> {
	const { client, ctx } = execution;
	const { requestId } = options;
	const images = resultImages(client, result, options);
	if (execution.asTool) return { json: toolAnswer(result, images, requestId) };
	const json: IDataObject = { ...result, request_id: requestId };
	if (!controls.downloadImages || images.length === 0) return { json };
	const binary = await imagesToBinary(ctx, client, images, {
		...options,
		prefix: controls.binaryPropertyOutput,
	});
	return { json, binary };
}

/**
 * `billed_units` from fal's `X-Fal-Billable-Units` on the result, a number where it is one; nothing
 * where fal sent nothing.
 */
function billedUnits(headers: Record<string, unknown> | undefined): IDataObject {
	const text = headerValue(headers, 'x-fal-billable-units')?.trim();
	if (!text) return {};
	const units = Number(text);
	return { billed_units: Number.isFinite(units) ? units : text };
}

/**
 * What an AI Agent gets back: the image URLs and sizes, the seed and the prompt, with no binary
 * data and no inline data URIs (sync mode) that would flood the model's context.
 */
function toolAnswer(result: IDataObject, images: IDataObject[], requestId: string): IDataObject {
	return {
		request_id: requestId,
		prompt: result.prompt,
		seed: result.seed,
		images: images.map(({ url, width, height, content_type }) => ({
			url:
				typeof url === 'string' && url.startsWith('data:')
					? `(inline ${String(content_type ?? 'image')}, not shown)`
					: url,
			width,
			height,
			content_type,
		})),
		has_nsfw_concepts: result.has_nsfw_concepts,
	};
}
