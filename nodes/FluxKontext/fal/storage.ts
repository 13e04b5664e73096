/**
 * fal's storage: where input files go so that a job gets a URL instead of inline bytes (fal-js
 * libs/client/src/storage.ts), the limits around it, and how its failures read.
 */
import type { INode, JsonObject } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';
import type { FalAnswer } from './answer';
import { safeHost } from './answer';
import { detailText } from './detail';
import { redact, redactDeep } from './secrets';
import { errorCode } from './socket-errors';

/**
 * fal's REST host, which serves the storage API (same `Key` token as the queue); the Storage URL
 * when empty and the Base URL is fal's (serviceUrlFor).
 */
export const FAL_STORAGE_URL = 'https://rest.fal.ai';

/** fal-js asks for this storage type on every initiate. */
export const STORAGE_TYPE = 'fal-cdn-v3';

/** fal-js uploads files larger than this in parts. */
export const MULTIPART_THRESHOLD_BYTES = 90 * 1024 * 1024;
/** Size of each part of a multipart upload (the last one may be shorter). */
export const PART_BYTES = 10 * 1024 * 1024;

/**
 * The largest image sent inline as a data URL. A fal maintainer wrote that data URLs fail above
 * about 10 MB (github fal-ai/fal PR #178; "someone reported 3MB"); the base64 text is a third
 * larger.
 */
export const INLINE_LIMIT_BYTES = 10 * 1024 * 1024;

/** The steps of an upload, as a user reads them. */
export type UploadStep = 'initiate' | 'upload' | 'part' | 'complete';

const STEP_TEXT: Record<UploadStep, string> = {
	initiate: 'starting the upload',
	upload: 'sending the bytes',
	part: 'sending a part',
	complete: 'completing the multipart upload',
};

/**
 * An upload that failed: which file, which step, which host, what it answered (or the socket
 * failure), and that no job was submitted.
 */
export function uploadError(
	node: INode,
	context: {
		step: UploadStep;
		url: string;
		file: string;
		itemIndex: number;
		secrets: string[];
		part?: number;
		stopped?: boolean;
	},
	failure: { answer: FalAnswer } | { error: unknown },
): NodeApiError {
	const host = safeHost(context.url, 'the storage host');
	const step = context.step === 'part' ? `sending part ${context.part}` : STEP_TEXT[context.step];
	let what: string;
	let hint: string;
	let httpCode: string | undefined;
	let payload: JsonObject;
	if ('answer' in failure) {
		const { statusCode: status, body } = failure.answer;
		const detail = detailText(body);
		what = `${host} answered ${status}${detail ? `: ${detail.slice(0, 200)}` : ''}`;
		httpCode = String(status);
		payload = redactDeep(
			{
				httpCode: status,
				body:
					typeof body === 'string'
						? body.slice(0, 2000)
						: body && typeof body === 'object' && !('pipe' in body)
							? (body as JsonObject)
							: null,
			},
			context.secrets,
		);
		if (context.step === 'initiate' && (status === 401 || status === 403)) {
			hint =
				'The storage host refused the token. Check the API key, and the Storage URL in the ' +
				"credential (a gateway's token is not valid at fal's own storage).";
		} else if (context.step === 'initiate' && (status === 404 || status === 405)) {
			hint =
				'The storage host has no upload API there. Check the Storage URL in the credential, or ' +
				'set the Image Upload option to Never (images up to 10 MB go inline).';
		} else if (status === 403) {
			hint = 'The pre-signed upload URL was refused (it may have expired). Run the item again.';
		} else if (status >= 500 || status === 429) {
			hint = 'The node retried with backoff and gave up. Try again later.';
		} else {
			hint = 'Check the Storage URL in the credential.';
		}
	} else if (context.stopped) {
		what = 'the execution was stopped';
		payload = { stopped: true };
		hint = 'The upload was abandoned.';
	} else {
		// Socket failures arrive already worded by the transport ("Could not reach host: connection
		// refused").
		const reason = failure.error instanceof Error ? failure.error.message : String(failure.error);
		what = reason;
		payload = redactDeep(
			{ socketError: errorCode(failure.error) ?? null, reason },
			context.secrets,
		);
		hint =
			`The node retried with backoff. Check the Storage URL in the credential and the ` +
			`network between n8n and ${host}.`;
	}
	return new NodeApiError(node, payload, {
		message: redact(
			`Uploading ${context.file} to storage failed while ${step}: ${what}`,
			context.secrets,
		),
		description: redact(
			`${hint} Nothing was submitted to fal for this item, so nothing was billed.`,
			context.secrets,
		),
		...(httpCode ? { httpCode } : {}),
		itemIndex: context.itemIndex,
	});
}
