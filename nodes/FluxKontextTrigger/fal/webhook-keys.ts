/**
 * fal's public keys, read from the JWKS URL through n8n's HTTP helper (given as `fetchJson`) and
 * kept in this process's memory: read once, read again after an hour, and read again at once when
 * no key verifies a delivery (fal rotated its key). A forged delivery cannot make the trigger
 * hammer the JWKS host: after a re-read that brought no key that helps, the next one waits a
 * minute.
 */
import type { KeyObject } from 'crypto';

import type { SignedDelivery } from './webhook-signature';
import { publicKeysOf, signedByAny, timestampProblem } from './webhook-signature';

export const DEFAULT_JWKS_URL = 'https://rest.alpha.fal.ai/.well-known/jwks.json';

/** How long keys are used before they are read again, whatever happens. */
export const JWKS_MAX_AGE_MS = 60 * 60 * 1000;
/** After a re-read that did not help, how long until the next one. */
export const JWKS_REFRESH_COOLDOWN_MS = 60 * 1000;
/** A JWKS host slower than this fails the read (fal wants its answer fast). */
export const JWKS_TIMEOUT_MS = 5000;

export type FetchJson = (url: string) => Promise<unknown>;

interface KeySet {
	keys: KeyObject[];
	readAt: number;
	/** When a re-read last brought no key that verified the delivery that asked for it. */
	fruitlessAt?: number;
}

const keySets = new Map<string, KeySet>();
const reading = new Map<string, Promise<KeySet>>();

/** The outcome: verified, or refused with the HTTP status to answer and why. */
export type Verdict = { verified: true } | { verified: false; status: 401 | 503; reason: string };

/**
 * Checks a delivery's timestamp and signature against the keys at `jwksUrl`. 401 for a delivery
 * that fails a check; 503 when no keys could be read at all (fal retries later).
 */
export async function verifyDelivery(
	delivery: SignedDelivery,
	jwksUrl: string,
	fetchJson: FetchJson,
	nowMs: number = Date.now(),
): Promise<Verdict> {
	const stale = timestampProblem(delivery, nowMs);
	if (stale) return { verified: false, status: 401, reason: stale };

	let keySet = keySets.get(jwksUrl);
	let freshlyRead = false;
	if (!keySet || nowMs - keySet.readAt > JWKS_MAX_AGE_MS) {
		try {
			keySet = await readKeys(jwksUrl, fetchJson, nowMs);
			freshlyRead = true;
		} catch (error) {
			if (!keySet)
				return {
					verified: false,
					status: 503,
					reason: `fal's public keys could not be read from ${jwksUrl}: ${words(error)}`,
				};
			// Older keys still check what they can.
		}
	}
	if (signedByAny(delivery, keySet.keys)) return { verified: true };
	const noMatch = `no key at ${jwksUrl} verifies the signature`;
	if (freshlyRead) return { verified: false, status: 401, reason: noMatch };
	if (keySet.fruitlessAt !== undefined && nowMs - keySet.fruitlessAt < JWKS_REFRESH_COOLDOWN_MS)
		return { verified: false, status: 401, reason: noMatch };

	try {
		keySet = await readKeys(jwksUrl, fetchJson, nowMs);
	} catch (error) {
		keySet.fruitlessAt = nowMs;
		return { verified: false, status: 401, reason: `${noMatch} (re-read failed: ${words(error)})` };
	}
	if (signedByAny(delivery, keySet.keys)) return { verified: true };
	keySet.fruitlessAt = nowMs;
	return { verified: false, status: 401, reason: `${noMatch}, also after reading the keys again` };
}

/** Reads the keys, one read per URL at a time (concurrent deliveries share it). */
async function readKeys(jwksUrl: string, fetchJson: FetchJson, nowMs: number): Promise<KeySet> {
	let pending = reading.get(jwksUrl);
	if (!pending) {
		pending = (async () => {
			const keys = publicKeysOf(await fetchJson(jwksUrl));
			if (keys.length === 0) throw new Error('the answer holds no Ed25519 key');
			const keySet: KeySet = { keys, readAt: nowMs };
			keySets.set(jwksUrl, keySet);
			return keySet;
		})();
		reading.set(jwksUrl, pending);
		void pending.then(
			() => reading.delete(jwksUrl),
			() => reading.delete(jwksUrl),
		);
	}
	return await pending;
}

function words(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}

/** Forgets every key read (for tests of a fresh process). */
export function forgetKeys(): void {
	keySets.clear();
}
