/**
 * Keeping the token out of everything a user or a log can see.
 */

import type { IDataObject, JsonObject } from 'n8n-workflow';

/** Replaces every secret in a text (tokens must never reach output, messages or logs). */
export function redact(text: string, secrets: string[]): string {
	let out = text;
	for (const secret of secrets) {
		if (secret && secret.length >= 4) out = out.split(secret).join('***');
	}
	return out;
}

/**
 * A JSON value with every secret replaced, however deep it sits (error payloads are stored with
 * executions).
 */
export function redactDeep(value: IDataObject, secrets: string[]): JsonObject {
	return JSON.parse(
		redact(
			JSON.stringify(value),
			secrets.map((secret) => JSON.stringify(secret).slice(1, -1)),
		),
	) as JsonObject;
}
