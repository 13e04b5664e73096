/**
 * fal's webhook signature, checked with Node's built-in crypto (Ed25519) and nothing else. A
 * delivery carries four headers; the signed message is
 * `request_id \n user_id \n timestamp \n sha256_hex(raw body)`, and any of fal's published keys
 * (a JWKS of Ed25519 keys) may have signed it. The body is the exact bytes received: JSON parsed
 * and serialised again would not hash the same.
 */
import { createHash, createPublicKey, verify } from 'crypto';
import type { KeyObject } from 'crypto';

/** The four headers, lower-case as Node gives them. */
export const SIGNATURE_HEADERS = {
	requestId: 'x-fal-webhook-request-id',
	userId: 'x-fal-webhook-user-id',
	timestamp: 'x-fal-webhook-timestamp',
	signature: 'x-fal-webhook-signature',
} as const;

/** How far a delivery's timestamp may be from this server's clock, either way. */
export const MAX_CLOCK_SKEW_S = 300;

export interface SignedDelivery {
	requestId: string;
	userId: string;
	/** The header as sent: the signed message holds these characters, not a number re-printed. */
	timestamp: string;
	signature: Buffer;
	rawBody: Buffer;
}

/** Why a delivery was refused, in words fit for n8n's log (never the body). */
export interface Refusal {
	refused: string;
}

export function isRefusal(value: unknown): value is Refusal {
	return typeof (value as Refusal | undefined)?.refused === 'string';
}

/** The four headers and the raw body, or why they cannot be checked. */
export function readSignedDelivery(
	headers: Record<string, unknown>,
	rawBody: unknown,
): SignedDelivery | Refusal {
	const value = (name: string): string | undefined => {
		const raw = headers[name];
		const text = Array.isArray(raw) ? raw[0] : raw;
		return typeof text === 'string' && text.trim() !== '' ? text.trim() : undefined;
	};
	const missing = Object.values(SIGNATURE_HEADERS).filter((name) => value(name) === undefined);
	if (missing.length > 0) return { refused: `missing header ${missing.join(', ')}` };
	const signature = value(SIGNATURE_HEADERS.signature) ?? '';
	if (!/^[0-9a-f]{128}$/i.test(signature))
		return { refused: `${SIGNATURE_HEADERS.signature} is not a hex Ed25519 signature` };
	const timestamp = value(SIGNATURE_HEADERS.timestamp) ?? '';
	if (!/^\d{1,12}$/.test(timestamp))
		return { refused: `${SIGNATURE_HEADERS.timestamp} is not a unix time in seconds` };
	if (!Buffer.isBuffer(rawBody))
		return { refused: 'the raw request body is not available to check the signature against' };
	return {
		requestId: value(SIGNATURE_HEADERS.requestId) ?? '',
		userId: value(SIGNATURE_HEADERS.userId) ?? '',
		timestamp,
		signature: Buffer.from(signature, 'hex'),
		rawBody,
	};
}

/** Why the timestamp is out of bounds (±5 minutes of `nowMs`), or undefined when it is fine. */
export function timestampProblem(delivery: SignedDelivery, nowMs: number): string | undefined {
	const skew = Math.round(nowMs / 1000) - Number(delivery.timestamp);
	if (Math.abs(skew) <= MAX_CLOCK_SKEW_S) return undefined;
	return skew > 0
		? `timestamp is ${skew} s old (more than ${MAX_CLOCK_SKEW_S} s)`
		: `timestamp is ${-skew} s in the future (more than ${MAX_CLOCK_SKEW_S} s)`;
}

/** The bytes fal signs. */
export function signedMessage(
	delivery: Pick<SignedDelivery, 'requestId' | 'userId' | 'timestamp' | 'rawBody'>,
): Buffer {
	const bodyHash = createHash('sha256').update(delivery.rawBody).digest('hex');
	return Buffer.from(
		`${delivery.requestId}\n${delivery.userId}\n${delivery.timestamp}\n${bodyHash}`,
		'utf8',
	);
}

/** The Ed25519 keys of a JWKS document (`{keys: [{kty: 'OKP', crv: 'Ed25519', x}]}`). */
export function publicKeysOf(jwks: unknown): KeyObject[] {
	const keys = (jwks as { keys?: unknown } | null | undefined)?.keys;
	if (!Array.isArray(keys)) return [];
	return keys.flatMap((key: unknown) => {
		const { kty, crv, x } = (key ?? {}) as Record<string, unknown>;
		if (kty !== 'OKP' || crv !== 'Ed25519' || typeof x !== 'string') return [];
		try {
			return [createPublicKey({ key: { kty, crv, x }, format: 'jwk' })];
		} catch {
			// A malformed entry is no key; the others still count.
			return [];
		}
	});
}

/** Whether one of the keys signed the delivery. */
export function signedByAny(delivery: SignedDelivery, keys: KeyObject[]): boolean {
	const message = signedMessage(delivery);
	return keys.some((key) => {
		try {
			return verify(null, message, key, delivery.signature);
		} catch {
			return false;
		}
	});
}
