/**
 * fal's own reason in an error body: its `detail` as text, and a 422's list of fields as lines.
 */

import type { IDataObject } from 'n8n-workflow';

import { FIELD_LABELS } from './fields';
import { plainText } from './answer';

/** `detail` of a fal error body, as text. */
export function detailText(body: unknown): string | undefined {
	if (typeof body === 'string') return plainText(body) || undefined;
	if (!body || typeof body !== 'object') return undefined;
	const { detail, error, message } = body as IDataObject;
	if (typeof detail === 'string') return detail;
	if (Array.isArray(detail)) return validationProblems(body).join('; ') || undefined;
	if (typeof error === 'string') return error;
	if (typeof message === 'string') return message;
	return undefined;
}

/** fal's 422 `detail` list as "Guidance Scale (guidance_scale): Input should be ..." lines. */
export function validationProblems(body: unknown): string[] {
	const detail = (body as IDataObject | undefined)?.detail;
	if (!Array.isArray(detail)) return [];
	return detail.map((entry) => {
		const { loc, msg } = (entry ?? {}) as { loc?: unknown; msg?: unknown };
		const path = Array.isArray(loc) ? loc.filter((part) => part !== 'body').map(String) : [];
		const field = path[0];
		const label =
			field && FIELD_LABELS[field]
				? `${FIELD_LABELS[field]} (${path.join('.')})`
				: path.join('.') || 'input';
		return `${label}: ${typeof msg === 'string' ? msg : 'invalid'}`;
	});
}

/**
 * The gist of a body read whole, when it is text (JSON, HTML, XML, plain): fal's `detail`, a page's
 * title, the text.
 */
export function bodyGist(bytes: Buffer, contentType: string | undefined): string | undefined {
	if (!/json|text|html|xml/i.test(contentType ?? '')) return undefined;
	const text = bytes.toString('utf8');
	try {
		return detailText(JSON.parse(text)) ?? detailText(text);
	} catch {
		return detailText(text);
	}
}
