/**
 * fal's answers that are not a success, as NodeApiErrors in fal's own words with what to do about
 * them: a failed request, a job that failed at fal, an image that could not be read, a result
 * without images.
 */

import type { IDataObject, INode } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import { DEFAULT_BASE_URL } from './constants';
import { parseRequestId } from './urls';
import type { FalAnswer, Operation } from './answer';
import {
	OPERATION_WORDS,
	errorPayload,
	errorTypeOf,
	headerValue,
	isStartTimeout,
	safeHost,
	shortJson,
} from './answer';
import { detailText, validationProblems } from './detail';
import { redact, redactDeep } from './secrets';
import { mayHaveQueued, tagRequest } from './error-tags';

/**
 * Turns a fal answer that is not a success into a NodeApiError in fal's own words, with what to do
 * about it. `secrets` are scrubbed from everything the user could see.
 */
export function falApiError(
	node: INode,
	answer: FalAnswer,
	context: { operation: Operation; itemIndex: number; requestId?: string; secrets: string[] },
): NodeApiError {
	const { statusCode: status } = answer;
	const detail = detailText(answer.body);
	const errorType = errorTypeOf(answer);
	// A submit whose outcome is unknown (5xx, or 2xx without a job handle) may have queued a job.
	const unknownSubmit =
		context.operation === 'submit' && (status >= 500 || (status >= 200 && status < 300));
	// Such an answer may still name its request (fal's clients read this header too).
	const id =
		context.requestId ??
		(unknownSubmit ? parseRequestId(headerValue(answer.headers, 'x-fal-request-id')) : undefined);
	let message: string;
	let description: string;
	if (status === 401) {
		message = 'fal rejected the token (401 Unauthorized)';
		description =
			'Check the API key in the FLUX Kontext credential. fal.ai itself expects the "Key" scheme, ' +
			'gateways usually "Bearer": leave Auth Scheme on Auto unless your provider says ' +
			'otherwise.';
	} else if (status === 403) {
		message = `fal refused the request (403): ${detail ?? 'forbidden'}`;
		description = /locked|balance/i.test(detail ?? '')
			? "The account behind this token cannot run jobs: top up its balance in fal's dashboard " +
				'(fal.ai/dashboard/billing) or at your gateway, then run again.'
			: 'The token is valid but may not use this model or request. Check its permissions with ' +
				'your provider.';
	} else if (status === 404 && id) {
		message = `Request ${id} was not found (404)`;
		description =
			'The request id is wrong, or its result has expired: fal keeps results for about an hour ' +
			'after completion (about 6 minutes for large results). Submit the job again to get a new ' +
			'one.';
	} else if (status === 404 || status === 405) {
		message = `fal has no such endpoint (${status}): ${detail ?? 'not found'}`;
		description =
			`Check the Base URL in the credential: it must be fal's queue host ` +
			`(${DEFAULT_BASE_URL}) or a gateway that mirrors fal's paths.`;
	} else if (status === 422) {
		const fields = validationProblems(answer.body);
		message = fields.length
			? `fal rejected the input: ${fields.join('; ')}`
			: `fal rejected the input (422): ${detail ?? ''}`;
		description =
			'Fix the named field and run again. Note that fal bills a rejected job like a finished one.';
	} else if (status === 429) {
		message = `fal is rate limiting this account (429): ${detail ?? 'too many requests'}`;
		description =
			`${context.operation === 'submit' ? 'Nothing was queued. ' : ''}The node ` +
			`retried with backoff and gave up. Lower Max Concurrent Requests, or try again later.`;
	} else if (status === 400 && /in progress|not completed|in queue/i.test(detail ?? '')) {
		message = id ? `Request ${id} has not finished yet` : 'The request has not finished yet';
		description =
			'Use Get Status to follow it, or run Get Result again once its status is COMPLETED.';
	} else if (isStartTimeout(answer)) {
		message =
			`The job was not started in time, not billed (${status}): ` +
			`${detail ?? 'start deadline passed'}`;
		description =
			'fal dropped it because it did not start within Start Timeout (X-Fal-Request-Timeout), and ' +
			"did not run or bill it. Raise Start Timeout, or run the item again when fal's queue is " +
			'shorter.';
	} else if (unknownSubmit) {
		const what =
			status >= 500
				? `${errorType ? ` (${errorType})` : ''}: ${detail ?? 'server error'}`
				: ` without a job handle${detail ? `: ${detail}` : ''}`;
		message = `The submit may have queued a job: fal answered ${status}${what}`;
		description = mayHaveQueued(id);
	} else if (status >= 500 && errorType) {
		message = `fal failed to run the job (${status}, ${errorType}): ${detail ?? 'server error'}`;
		description = "The job failed on fal's side (fal does not bill it). Run the item again.";
	} else if (status >= 500) {
		message =
			`fal answered ${status} to ${OPERATION_WORDS[context.operation]}: ` +
			`${detail ?? 'server error'}`;
		const later =
			id && context.operation !== 'cancel'
				? ` The job itself may have finished: fetch it later with Get Result and request id ${id}.`
				: '';
		description =
			'A fault at fal or at a proxy in between; the node retried with backoff and gave up.' + later;
	} else {
		message = `fal answered ${status}: ${detail ?? 'unexpected response'}`;
		description = `During ${context.operation}.`;
	}
	if (id && !description.includes(id)) description += ` Request id: ${id}.`;
	const error = new NodeApiError(node, redactDeep(errorPayload(answer), context.secrets), {
		message: redact(message, context.secrets),
		description: redact(description, context.secrets),
		httpCode: String(status),
		itemIndex: context.itemIndex,
	});
	if (unknownSubmit) Object.assign(error, { mayHaveQueued: true });
	// The job's own stored failure (or fal's start deadline): fal did not run or bill it.
	if (isStartTimeout(answer) || (status >= 500 && errorType && context.operation === 'result'))
		Object.assign(error, { jobFailed: true });
	return tagRequest(error, id);
}

/** A job that fal reports COMPLETED with an `error`: a failure of the item, never a success. */
export function jobFailedError(
	node: INode,
	status: IDataObject,
	context: { itemIndex: number; requestId: string; secrets: string[] },
): NodeApiError {
	const errorType = errorTypeOf({ body: status });
	const text =
		typeof status.error === 'string' ? status.error : (detailText(status) ?? 'unknown error');
	// No `status` key in the payload: NodeApiError would take "COMPLETED" for an HTTP code.
	const payload = redactDeep(
		{ jobStatus: 'COMPLETED', error: text, error_type: errorType ?? null },
		context.secrets,
	);
	const error = new NodeApiError(node, payload, {
		message: redact(
			`The job failed on fal: ${text}${errorType ? ` (${errorType})` : ''}`,
			context.secrets,
		),
		description: redact(
			`fal reported the request as completed with an error. Request id: ${context.requestId}.`,
			context.secrets,
		),
		itemIndex: context.itemIndex,
	});
	return tagRequest(error, context.requestId);
}

/** What went wrong with one image of a finished job's result. */
export interface ImageProblem {
	/** 0-based position in the result's `images`, and how many there are. */
	index: number;
	count: number;
	/** Where the download went; absent when the result gave no usable URL. */
	url?: string;
	/** What happened, in words: "answered 404 (Not Found)", "has no URL (it holds ...)", ... */
	problem: string;
	httpCode?: number;
}

/**
 * One image of a finished job could not be downloaded or read. The job itself succeeded and is
 * billed: the message says so, so that nobody submits (and pays for) the job again to get a file.
 */
export function imageError(
	node: INode,
	image: ImageProblem,
	context: { itemIndex: number; requestId?: string; secrets: string[] },
): NodeApiError {
	const id = context.requestId;
	const which = `Image ${image.index + 1} of ${image.count}`;
	const message = image.url
		? `${which} could not be downloaded from ${safeHost(image.url)}: ${image.problem}`
		: `${which} in the result ${image.problem}`;
	const description =
		`The job itself succeeded${id ? ` (request ${id})` : ''} and is billed: do not submit it ` +
		`again. ${id ? 'Get Result with this request id' : 'Get Result'} outputs its result with ` +
		'every image URL while fal keeps it (about an hour); turn off Download Images to output the ' +
		'URLs without downloading them.';
	const payload = {
		image: image.index + 1,
		host: image.url ? safeHost(image.url) : null,
		problem: image.problem,
		...(image.httpCode ? { httpCode: image.httpCode } : {}),
	};
	const error = new NodeApiError(node, redactDeep(payload, context.secrets), {
		message: redact(message, context.secrets),
		description: redact(description, context.secrets),
		...(image.httpCode ? { httpCode: String(image.httpCode) } : {}),
		itemIndex: context.itemIndex,
	});
	return tagRequest(error, id);
}

/**
 * A finished job whose result holds no images: an error of the item, not a silent success. The job
 * may have been billed, and a downstream node expecting the image would fail later with a less
 * useful message.
 */
export function noImagesError(
	node: INode,
	result: IDataObject,
	context: { itemIndex: number; requestId: string; secrets: string[] },
): NodeApiError {
	const { images } = result;
	const what =
		images === undefined
			? 'has no "images" field'
			: Array.isArray(images)
				? 'has an empty "images" list'
				: `has "images" that is not a list (${shortJson(images)})`;
	const error = new NodeApiError(
		node,
		redactDeep({ jobStatus: 'COMPLETED', result: shortJson(result, 2000) }, context.secrets),
		{
			message: `The job finished without images: its result ${what}`,
			description: redact(
				`fal reported request ${context.requestId} as finished, and may have billed it. The ` +
					`result holds: ${shortJson(result)}. Look at it with Get Result and this request id, ` +
					`or in fal's request list (fal.ai/dashboard) or your gateway's, before running the ` +
					`item again.`,
				context.secrets,
			),
			itemIndex: context.itemIndex,
		},
	);
	return tagRequest(error, context.requestId);
}
