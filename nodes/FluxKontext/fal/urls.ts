import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { DEFAULT_BASE_URL, FAL_APP } from './constants';
import { APP_IDS } from './endpoints';

/** Parses an absolute http(s) URL (or one relative to `base`), or returns undefined. */
export function parseHttpUrl(value: string, base?: string): URL | undefined {
	try {
		const url = new URL(value, base);
		return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
	} catch {
		return undefined;
	}
}

/**
 * The credential as the node and the credential's own `authenticate` read it: in one place, the
 * same way.
 */
export interface FalCredential {
	/** Trimmed once here: a pasted token often carries a trailing newline or spaces. */
	token: string;
	/** Normalized; the default when empty. */
	baseUrl: string;
	/** Why the Base URL cannot be used (checked before any request), or undefined. */
	baseUrlProblem?: string;
}

export function readCredential(data: ICredentialDataDecryptedObject): FalCredential {
	const token = typeof data.apiKey === 'string' ? data.apiKey.trim() : '';
	const raw =
		typeof data.baseUrl === 'string' && data.baseUrl.trim()
			? data.baseUrl.trim()
			: DEFAULT_BASE_URL;
	return { token, baseUrl: normalizeBaseUrl(raw), baseUrlProblem: baseUrlProblem(raw) };
}

/**
 * Why a Base URL cannot be used: not http(s); a user name or password (it would be sent as Basic
 * auth instead of the token, and echoed into every URL the node outputs); a query string or a
 * fragment (every URL built on it would be broken).
 */
export function baseUrlProblem(value: string): string | undefined {
	const url = parseHttpUrl(value);
	if (!url) return 'is not an http(s) URL';
	if (url.username || url.password || /^[a-z]+:\/\/[^/]*@/i.test(value))
		return 'contains a user name or password';
	if (value.includes('?')) return 'has a query string (?...)';
	if (value.includes('#')) return 'has a fragment (#...)';
	return undefined;
}

/**
 * A Base URL fit to show in a message: a password, a query or a fragment (where keys get pasted)
 * shown as ***.
 */
export function maskedUrl(value: string): string {
	return value
		.replace(/^([a-z]+:\/\/[^/:@]*):[^/@]*@/i, '$1:***@')
		.replace(/([?#])[^#]*/g, '$1***');
}

/**
 * The configured base URL without trailing slashes (a gateway may mount fal's paths under a
 * prefix).
 */
export function normalizeBaseUrl(baseUrl: string): string {
	return baseUrl.trim().replace(/\/+$/, '');
}

/** fal's own hosts: fal.run, fal.ai and their subdomains (a gateway is any other host). */
export function isFalHost(url: string): boolean {
	const host = parseHttpUrl(url.trim())?.hostname.toLowerCase() ?? '';
	return /(^|\.)fal\.(run|ai)$/.test(host);
}

/**
 * Where one of fal's other services is reached, from a credential field: the field's URL when set;
 * empty means fal's own service (`falDefault`) when the Base URL is fal's own host, and none for a
 * gateway, whose token must never reach fal's hosts. Undefined when no such service applies; a set
 * field that is not an http(s) URL is returned as is, for the caller to refuse.
 */
export function serviceUrlFor(
	configured: unknown,
	baseUrl: string,
	falDefault: string,
): string | undefined {
	const text = typeof configured === 'string' ? configured.trim() : '';
	if (text) return normalizeBaseUrl(text);
	return isFalHost(baseUrl) ? falDefault : undefined;
}

export function sameOrigin(a: string, b: string): boolean {
	const ua = parseHttpUrl(a);
	const ub = parseHttpUrl(b);
	return !!ua && !!ub && ua.origin === ub.origin;
}

/**
 * Moves a URL that fal (or a gateway passing fal's answer through) handed back onto the configured
 * base URL. Gateways return `https://queue.fal.run/...` and expect the client to call their own
 * host instead; the token must never follow the URL a response names to another host.
 */
export function rebase(url: string, baseUrl: string): string {
	const base = normalizeBaseUrl(baseUrl);
	if (url.startsWith(base + '/')) return url;
	const parsed = parseHttpUrl(url);
	if (!parsed) return url;
	const basePath = parseHttpUrl(base)?.pathname.replace(/\/+$/, '') ?? '';
	// A URL on another origin may already carry the gateway's prefix; never add it twice.
	const path =
		basePath && parsed.pathname.startsWith(basePath + '/')
			? parsed.pathname.slice(basePath.length)
			: parsed.pathname;
	return `${base}${path}${parsed.search}`;
}

/**
 * A URL the server handed back, one path segment further: `segment` goes at the end of the path,
 * before the query (and fragment), so `.../status?shard=7` becomes `.../status/stream?shard=7`,
 * never `.../status?shard=7/stream`. A trailing slash is not doubled.
 */
export function withPathSegment(url: string, segment: string): string {
	const cut = url.search(/[?#]/);
	const path = cut < 0 ? url : url.slice(0, cut);
	const rest = cut < 0 ? '' : url.slice(cut);
	return `${path.replace(/\/+$/, '')}/${segment}${rest}`;
}

export interface JobUrls {
	status_url: string;
	response_url: string;
	cancel_url: string;
}

/**
 * The three URLs of a request, built from its id and its endpoint's app id (used when no submit
 * answer is at hand: the Request resource).
 */
export function urlsForRequest(baseUrl: string, requestId: string, appId = FAL_APP): JobUrls {
	const id = encodeURIComponent(requestId);
	const response = `${normalizeBaseUrl(baseUrl)}/${appId}/requests/${id}`;
	return {
		response_url: response,
		status_url: `${response}/status`,
		cancel_url: `${response}/cancel`,
	};
}

/**
 * The URLs of a submitted job: fal's own, rebased onto the base URL; built from the id where one is
 * missing.
 */
export function urlsFromSubmit(
	baseUrl: string,
	requestId: string,
	answer: Partial<Record<keyof JobUrls, unknown>>,
	appId = FAL_APP,
): JobUrls {
	const built = urlsForRequest(baseUrl, requestId, appId);
	const pick = (key: keyof JobUrls) => {
		const value = answer[key];
		return typeof value === 'string' && parseHttpUrl(value) ? rebase(value, baseUrl) : built[key];
	};
	return {
		status_url: pick('status_url'),
		response_url: pick('response_url'),
		cancel_url: pick('cancel_url'),
	};
}

/**
 * The app id in one of fal's queue URLs (`.../fal-ai/flux-kontext-lora/requests/{id}/status`),
 * when it is one of the node's apps; undefined for anything else.
 */
export function parseAppId(value: unknown): string | undefined {
	if (typeof value !== 'string') return undefined;
	const app = /\/([^/]+\/[^/]+)\/requests\/[0-9a-f-]{36}(?:[/?#]|$)/i.exec(value.trim())?.[1];
	return app && APP_IDS.includes(app) ? app : undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A request id as fal issues them (a UUID), or extracted from one of its queue URLs
 * (`.../requests/{id}[/status]`), so that a pasted status URL works too. Undefined when it is
 * neither.
 */
export function parseRequestId(value: unknown): string | undefined {
	if (typeof value !== 'string') return undefined;
	const text = value.trim();
	if (UUID.test(text)) return text.toLowerCase();
	const fromUrl = /\/requests\/([0-9a-f-]{36})(?:[/?#]|$)/i.exec(text)?.[1];
	return fromUrl && UUID.test(fromUrl) ? fromUrl.toLowerCase() : undefined;
}
