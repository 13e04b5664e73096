/**
 * fal's webhook signature check (nodes/FluxKontextTrigger/fal/webhook-signature.ts, webhook-keys.ts): the exact bytes, the four
 * headers, ±5 minutes, every key of the JWKS, the key cache and its one re-read. Keys are made here
 * with Node's crypto; the JWKS "host" is a function that counts its calls.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

import {
	JWKS_MAX_AGE_MS,
	JWKS_REFRESH_COOLDOWN_MS,
	forgetKeys,
	verifyDelivery,
} from '../../nodes/FluxKontextTrigger/fal/webhook-keys';
import {
	isRefusal,
	publicKeysOf,
	readSignedDelivery,
	signedMessage,
	type SignedDelivery,
} from '../../nodes/FluxKontextTrigger/fal/webhook-signature';
import {
	firstDelivery,
	MAX_REMEMBERED,
	REMEMBER_MS,
} from '../../nodes/FluxKontextTrigger/deliveries';

const NOW = 1_800_000_000_000;

function keyPair(kid: string): { privateKey: KeyObject; jwk: Record<string, unknown> } {
	const { privateKey, publicKey } = generateKeyPairSync('ed25519');
	return { privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig' } };
}

const BODY = Buffer.from(
	'{"request_id":"req-1","status":"OK","payload":{"images":[{"url":"https://x/y.png"}]}}',
);

function headersFor(
	privateKey: KeyObject,
	body: Buffer = BODY,
	overrides: Record<string, string | undefined> = {},
): Record<string, string> {
	const base = {
		'x-fal-webhook-request-id': 'req-1',
		'x-fal-webhook-user-id': 'user-9',
		'x-fal-webhook-timestamp': String(Math.floor(NOW / 1000)),
	};
	const signature = sign(
		null,
		signedMessage({
			requestId: base['x-fal-webhook-request-id'],
			userId: base['x-fal-webhook-user-id'],
			timestamp: base['x-fal-webhook-timestamp'],
			rawBody: body,
		}),
		privateKey,
	).toString('hex');
	const all: Record<string, string | undefined> = {
		...base,
		'x-fal-webhook-signature': signature,
		...overrides,
	};
	return Object.fromEntries(
		Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined),
	);
}

function delivery(headers: Record<string, string>, body: Buffer = BODY): SignedDelivery {
	const read = readSignedDelivery(headers, body);
	if (isRefusal(read)) throw new Error(read.refused);
	return read;
}

/** A JWKS host: answers what `current` holds, counts reads. */
function jwksHost(initial: Array<Record<string, unknown>>) {
	const host = {
		keys: initial,
		reads: 0,
		fail: false,
		fetch: async (_url: string) => {
			host.reads++;
			if (host.fail) throw new Error('connect ECONNREFUSED');
			return { keys: host.keys };
		},
	};
	return host;
}

let urlCounter = 0;
/** A URL of its own per test: the key cache is per URL and per process. */
const freshUrl = () => `https://keys.example/jwks-${++urlCounter}.json`;

beforeEach(() => forgetKeys());

describe('readSignedDelivery', () => {
	const { privateKey } = keyPair('a');
	it.each([
		'x-fal-webhook-request-id',
		'x-fal-webhook-user-id',
		'x-fal-webhook-timestamp',
		'x-fal-webhook-signature',
	])('refuses a delivery without %s, naming it', (header) => {
		const read = readSignedDelivery(headersFor(privateKey, BODY, { [header]: undefined }), BODY);
		expect(isRefusal(read) && read.refused).toBe(`missing header ${header}`);
	});

	it('refuses a signature that is not 64 bytes of hex, and a timestamp that is not seconds', () => {
		const short = readSignedDelivery(
			headersFor(privateKey, BODY, { 'x-fal-webhook-signature': 'abcd' }),
			BODY,
		);
		expect(isRefusal(short) && short.refused).toMatch(/not a hex Ed25519 signature/);
		const iso = readSignedDelivery(
			headersFor(privateKey, BODY, { 'x-fal-webhook-timestamp': '2026-12-01T10:00:00Z' }),
			BODY,
		);
		expect(isRefusal(iso) && iso.refused).toMatch(/not a unix time/);
	});

	it('refuses when there is no raw body to hash (never a re-serialised one)', () => {
		const read = readSignedDelivery(headersFor(privateKey), JSON.parse(BODY.toString()));
		expect(isRefusal(read) && read.refused).toMatch(/raw request body is not available/);
	});
});

describe('verifyDelivery', () => {
	it('accepts a delivery signed by a key of the JWKS, reading the JWKS once', async () => {
		const a = keyPair('a');
		const host = jwksHost([a.jwk]);
		const url = freshUrl();
		for (let i = 0; i < 3; i++)
			expect(
				await verifyDelivery(delivery(headersFor(a.privateKey)), url, host.fetch, NOW),
			).toEqual({ verified: true });
		expect(host.reads).toBe(1);
	});

	it('tries every key: a JWKS with two keys verifies what either signed', async () => {
		const a = keyPair('a');
		const b = keyPair('b');
		const host = jwksHost([a.jwk, { kty: 'RSA', n: 'x', e: 'AQAB' }, b.jwk]);
		const url = freshUrl();
		expect(await verifyDelivery(delivery(headersFor(b.privateKey)), url, host.fetch, NOW)).toEqual({
			verified: true,
		});
		expect(await verifyDelivery(delivery(headersFor(a.privateKey)), url, host.fetch, NOW)).toEqual({
			verified: true,
		});
	});

	it('refuses a body altered by one byte (the hash of the exact bytes is signed)', async () => {
		const a = keyPair('a');
		const host = jwksHost([a.jwk]);
		const altered = Buffer.from(BODY);
		altered[altered.indexOf('y.png')] = 'z'.charCodeAt(0);
		const verdict = await verifyDelivery(
			delivery(headersFor(a.privateKey), altered),
			freshUrl(),
			host.fetch,
			NOW,
		);
		expect(verdict).toMatchObject({ verified: false, status: 401 });
		// The same JSON with other whitespace is other bytes too.
		const reformatted = Buffer.from(JSON.stringify(JSON.parse(BODY.toString()), null, 1));
		expect(
			await verifyDelivery(
				delivery(headersFor(a.privateKey), reformatted),
				freshUrl(),
				host.fetch,
				NOW,
			),
		).toMatchObject({ verified: false, status: 401 });
	});

	it('refuses a signed header changed afterwards (request id, user id)', async () => {
		const a = keyPair('a');
		const host = jwksHost([a.jwk]);
		const url = freshUrl();
		for (const header of ['x-fal-webhook-request-id', 'x-fal-webhook-user-id']) {
			const headers = { ...headersFor(a.privateKey), [header]: 'someone-else' };
			expect(await verifyDelivery(delivery(headers), url, host.fetch, NOW)).toMatchObject({
				verified: false,
				status: 401,
			});
		}
	});

	it('refuses a timestamp 6 minutes old or 6 minutes ahead, accepts 4 minutes either way', async () => {
		const a = keyPair('a');
		const host = jwksHost([a.jwk]);
		const url = freshUrl();
		const at = (offsetS: number) =>
			headersFor(a.privateKey, BODY, {
				'x-fal-webhook-timestamp': String(Math.floor(NOW / 1000) + offsetS),
			});
		// Signed with the shifted timestamp: only the clock check can refuse these.
		const signedAt = (offsetS: number) => {
			const headers = at(offsetS);
			const signature = sign(
				null,
				signedMessage({
					requestId: 'req-1',
					userId: 'user-9',
					timestamp: headers['x-fal-webhook-timestamp'],
					rawBody: BODY,
				}),
				a.privateKey,
			).toString('hex');
			return delivery({ ...headers, 'x-fal-webhook-signature': signature });
		};
		expect(await verifyDelivery(signedAt(-360), url, host.fetch, NOW)).toEqual({
			verified: false,
			status: 401,
			reason: 'timestamp is 360 s old (more than 300 s)',
		});
		expect(await verifyDelivery(signedAt(360), url, host.fetch, NOW)).toMatchObject({
			verified: false,
			reason: expect.stringMatching(/in the future/),
		});
		expect(await verifyDelivery(signedAt(-240), url, host.fetch, NOW)).toEqual({ verified: true });
		expect(await verifyDelivery(signedAt(240), url, host.fetch, NOW)).toEqual({ verified: true });
	});

	it('reads the JWKS again once when no key verifies (key rotation), and then accepts', async () => {
		const a = keyPair('a');
		const b = keyPair('b');
		const host = jwksHost([a.jwk]);
		const url = freshUrl();
		expect(await verifyDelivery(delivery(headersFor(a.privateKey)), url, host.fetch, NOW)).toEqual({
			verified: true,
		});
		host.keys = [b.jwk];
		expect(
			await verifyDelivery(delivery(headersFor(b.privateKey)), url, host.fetch, NOW + 1000),
		).toEqual({ verified: true });
		expect(host.reads).toBe(2);
		// The old key is gone from the JWKS, so from the cache too.
		expect(
			await verifyDelivery(delivery(headersFor(a.privateKey)), url, host.fetch, NOW + 2000),
		).toMatchObject({ verified: false, status: 401 });
	});

	it('a wrong key: one re-read, then no more re-reads for a minute however many forgeries come', async () => {
		const a = keyPair('a');
		const forger = keyPair('f');
		const host = jwksHost([a.jwk]);
		const url = freshUrl();
		await verifyDelivery(delivery(headersFor(a.privateKey)), url, host.fetch, NOW);
		for (let i = 0; i < 5; i++) {
			expect(
				await verifyDelivery(delivery(headersFor(forger.privateKey)), url, host.fetch, NOW + i),
			).toMatchObject({ verified: false, status: 401, reason: expect.stringMatching(/no key/) });
		}
		expect(host.reads).toBe(2);
		await verifyDelivery(
			delivery(headersFor(forger.privateKey)),
			url,
			host.fetch,
			NOW + JWKS_REFRESH_COOLDOWN_MS + 10,
		);
		expect(host.reads).toBe(3);
	});

	it('reads the keys again after an hour, and keeps the old ones when that read fails', async () => {
		const a = keyPair('a');
		const host = jwksHost([a.jwk]);
		const url = freshUrl();
		await verifyDelivery(delivery(headersFor(a.privateKey)), url, host.fetch, NOW);
		host.fail = true;
		const later = NOW + JWKS_MAX_AGE_MS + 1000;
		const headers = headersFor(a.privateKey, BODY, {});
		const signature = sign(
			null,
			signedMessage({
				requestId: 'req-1',
				userId: 'user-9',
				timestamp: String(Math.floor(later / 1000)),
				rawBody: BODY,
			}),
			a.privateKey,
		).toString('hex');
		const fresh = delivery({
			...headers,
			'x-fal-webhook-timestamp': String(Math.floor(later / 1000)),
			'x-fal-webhook-signature': signature,
		});
		expect(await verifyDelivery(fresh, url, host.fetch, later)).toEqual({ verified: true });
		expect(host.reads).toBe(2);
	});

	it('answers 503 (fal retries later) when the keys cannot be read at all', async () => {
		const a = keyPair('a');
		const host = jwksHost([a.jwk]);
		host.fail = true;
		const url = freshUrl();
		expect(await verifyDelivery(delivery(headersFor(a.privateKey)), url, host.fetch, NOW)).toEqual({
			verified: false,
			status: 503,
			reason: `fal's public keys could not be read from ${url}: connect ECONNREFUSED`,
		});
		const html = async () => '<html>502 Bad Gateway</html>';
		expect(
			await verifyDelivery(delivery(headersFor(a.privateKey)), freshUrl(), html, NOW),
		).toMatchObject({ status: 503, reason: expect.stringMatching(/no Ed25519 key/) });
	});

	it('concurrent deliveries share one JWKS read', async () => {
		const a = keyPair('a');
		const host = jwksHost([a.jwk]);
		const url = freshUrl();
		const verdicts = await Promise.all(
			Array.from(
				{ length: 5 },
				async () => await verifyDelivery(delivery(headersFor(a.privateKey)), url, host.fetch, NOW),
			),
		);
		expect(verdicts.every((v) => v.verified)).toBe(true);
		expect(host.reads).toBe(1);
	});
});

describe('publicKeysOf', () => {
	it('keeps only well-formed Ed25519 keys', () => {
		const a = keyPair('a');
		expect(
			publicKeysOf({
				keys: [a.jwk, { kty: 'OKP', crv: 'X25519', x: a.jwk.x }, { kty: 'OKP', crv: 'Ed25519' }],
			}),
		).toHaveLength(1);
		expect(publicKeysOf({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: '!!' }] })).toHaveLength(0);
		expect(publicKeysOf('not json')).toEqual([]);
	});
});

describe('firstDelivery', () => {
	it('says yes once per request id, and remembers it in the static data', () => {
		const staticData: Record<string, unknown> = {};
		expect(firstDelivery(staticData as never, 'wf:a', 'req-1', NOW)).toBe(true);
		expect(firstDelivery(staticData as never, 'wf:a', 'req-1', NOW + 1)).toBe(false);
		expect(firstDelivery(staticData as never, 'wf:a', 'req-2', NOW + 2)).toBe(true);
		expect(Object.keys(staticData.deliveredRequests as object)).toEqual(['req-1', 'req-2']);
	});

	it('holds across a restart through the static data alone (a new scope has no memory)', () => {
		const saved = JSON.parse(JSON.stringify({ deliveredRequests: { 'req-1': NOW } }));
		expect(firstDelivery(saved, 'wf:restarted', 'req-1', NOW + 1000)).toBe(false);
	});

	it('holds for the process when two calls saved their own copies (the memory)', () => {
		expect(firstDelivery({}, 'wf:race', 'req-1', NOW)).toBe(true);
		expect(firstDelivery({}, 'wf:race', 'req-1', NOW + 1)).toBe(false);
	});

	it('forgets after a day, and keeps the newest entries only', () => {
		const staticData: Record<string, unknown> = {};
		firstDelivery(staticData as never, 'wf:old', 'req-1', NOW);
		expect(firstDelivery(staticData as never, 'wf:old', 'req-1', NOW + REMEMBER_MS + 1)).toBe(true);
		const many = Object.fromEntries(
			Array.from({ length: MAX_REMEMBERED }, (_, i) => [`r${i}`, NOW + i]),
		);
		const big: Record<string, unknown> = { deliveredRequests: many };
		expect(firstDelivery(big as never, 'wf:big', 'newest', NOW + MAX_REMEMBERED)).toBe(true);
		const kept = Object.keys(big.deliveredRequests as object);
		expect(kept).toHaveLength(MAX_REMEMBERED);
		expect(kept[0]).toBe('r1');
		expect(kept.at(-1)).toBe('newest');
	});
});
