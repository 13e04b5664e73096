import type { IDataObject } from 'n8n-workflow';

import { FAL_HEADERS, QUEUE_PRIORITIES } from '../fal/constants';
import type { InputChecker } from './validation';
import { isSet } from './validation';

/**
 * fal's optional request headers from the `options` collection, checked: only the options the user
 * set, so that an unset option leaves fal's own default in force. Sent with the submit.
 */
export function requestHeaders(check: InputChecker, options: IDataObject): Record<string, string> {
	const headers: Record<string, string> = {};
	const set = (key: string) => isSet(options, key);
	if (set('startTimeout')) {
		const seconds = check.number('Start Timeout', options.startTimeout, {});
		// fal's clients refuse 1 s and less.
		if (seconds <= 1)
			check.fail('Start Timeout', `${seconds} is too short`, 'Use more than 1 second');
		headers[FAL_HEADERS.startTimeout] = String(seconds);
	}
	if (set('storePayloads') && !check.boolean('Store Payloads', options.storePayloads))
		headers[FAL_HEADERS.storeIo] = '0';
	if (set('mediaExpiry')) {
		const seconds = check.number('Media Expiry', options.mediaExpiry, { min: 1, integer: true });
		headers[FAL_HEADERS.mediaLifecycle] = JSON.stringify({ expiration_duration_seconds: seconds });
	}
	if (set('allowFallbacks') && !check.boolean('Allow Fallback Endpoints', options.allowFallbacks))
		headers[FAL_HEADERS.disableFallback] = 'true';
	if (set('priority'))
		headers[FAL_HEADERS.priority] = check.oneOf(
			'Queue Priority',
			options.priority,
			QUEUE_PRIORITIES,
		);
	return headers;
}

/** Max Queue Length, checked (a whole number, 0 or more); undefined when not set. */
export function maxQueueLength(check: InputChecker, options: IDataObject): number | undefined {
	if (!isSet(options, 'maxQueueLength')) return undefined;
	return check.number('Max Queue Length', options.maxQueueLength, { min: 0, integer: true });
}
