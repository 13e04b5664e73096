/**
 * The fake fal's webhook signatures, as fal signs (shared reference fal-queue-protocol.md, "Webhook
 * signatures"): an Ed25519 key made at start, its public half served as a JWKS on the fake's REST
 * host (`FakeFal.jwksUrl`, like https://rest.alpha.fal.ai/.well-known/jwks.json), and the four
 * `X-Fal-Webhook-*` headers over `request_id \n user_id \n timestamp \n sha256_hex(body)`.
 *
 * Also what an unfriendly world sends a trigger: deliveries signed by a key fal never published
 * (forged), signed 6 minutes ago (stale), sent again byte for byte (replayed), altered after signing,
 * or not signed at all; and a JWKS host that rotates its key, answers HTML, or is down.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import type * as http from 'node:http';
import type { KeyObject } from 'node:crypto';

import { request as undiciRequest } from 'undici';

export const JWKS_PATH = '/.well-known/jwks.json';
export const WEBHOOK_USER_ID = 'fake-fal-user';

interface SigningKey {
	kid: string;
	privateKey: KeyObject;
	jwk: Record<string, unknown>;
}

/** What a delivery sent (kept so that a test can send it again, byte for byte). */
export interface SentDelivery {
	url: string;
	rawBody: string;
	headers: Record<string, string>;
}

export interface PostAnswer {
	status: number;
	body: string;
}

let keyCounter = 0;

function makeKey(): SigningKey {
	const { privateKey, publicKey } = generateKeyPairSync('ed25519');
	const kid = `fake-fal-${++keyCounter}`;
	return {
		kid,
		privateKey,
		jwk: { ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'EdDSA' },
	};
}

export class WebhookSigner {
	/** The key deliveries are signed with. */
	private current: SigningKey = makeKey();
	/** The keys the JWKS lists. */
	private published: SigningKey[] = [this.current];
	private readonly startKey = this.current;
	/** A key fal never published: what a forger signs with. */
	private readonly forgerKey = makeKey();

	/** How many times the JWKS was read. */
	jwksReads = 0;
	/** How the JWKS host answers: 'ok', 'html' (a proxy's error page, 200), 'down' (503). */
	jwksAnswer: 'ok' | 'html' | 'down' = 'ok';
	/**
	 * Deliver results as fal does when they are too large to inline: `payload: null` with
	 * `payload_error`. GUESS: the wording of `payload_error`.
	 */
	withholdPayload = false;

	/** Back to the key made at start, every answer normal. */
	reset(): void {
		this.current = this.startKey;
		this.published = [this.startKey];
		this.jwksReads = 0;
		this.jwksAnswer = 'ok';
		this.withholdPayload = false;
	}

	/**
	 * A new signing key, as fal rotates: the JWKS lists it (and the old one too with `keepOld`), and
	 * deliveries are signed with it from now on.
	 */
	rotate(options: { keepOld?: boolean } = {}): void {
		const next = makeKey();
		this.published = options.keepOld ? [...this.published, next] : [next];
		this.current = next;
	}

	get jwks(): { keys: Array<Record<string, unknown>> } {
		return { keys: this.published.map((key) => key.jwk) };
	}

	/** Answers GET {rest}/.well-known/jwks.json. */
	serveJwks(res: http.ServerResponse): void {
		this.jwksReads++;
		if (this.jwksAnswer === 'down') {
			res.writeHead(503, { 'content-type': 'application/json' });
			return void res.end('{"detail":"Service Unavailable"}');
		}
		if (this.jwksAnswer === 'html') {
			res.writeHead(200, { 'content-type': 'text/html' });
			return void res.end('<html><body>Please enable cookies.</body></html>');
		}
		res.writeHead(200, { 'content-type': 'application/json' });
		res.end(JSON.stringify(this.jwks));
	}

	/** The four headers for a body, signed now (or `ageS` seconds ago) with fal's current key. */
	headersFor(
		requestId: string,
		rawBody: string,
		options: { ageS?: number; key?: 'current' | 'forger'; userId?: string } = {},
	): Record<string, string> {
		const timestamp = String(Math.floor(Date.now() / 1000) - (options.ageS ?? 0));
		const userId = options.userId ?? WEBHOOK_USER_ID;
		const bodyHash = createHash('sha256').update(rawBody, 'utf8').digest('hex');
		const message = Buffer.from(`${requestId}\n${userId}\n${timestamp}\n${bodyHash}`, 'utf8');
		const key = options.key === 'forger' ? this.forgerKey : this.current;
		return {
			'x-fal-webhook-request-id': requestId,
			'x-fal-webhook-user-id': userId,
			'x-fal-webhook-timestamp': timestamp,
			'x-fal-webhook-signature': sign(null, message, key.privateKey).toString('hex'),
		};
	}

	/** The body fal POSTs for a job's outcome. */
	deliveryBody(
		requestId: string,
		outcome: { status: number; body: unknown },
	): Record<string, unknown> {
		const ok = outcome.status >= 200 && outcome.status < 300;
		const base = { request_id: requestId, gateway_request_id: requestId };
		if (!ok)
			return {
				...base,
				status: 'ERROR',
				error: `Invalid status code: ${outcome.status}`,
				payload: outcome.body,
			};
		if (this.withholdPayload)
			return {
				...base,
				status: 'OK',
				payload: null,
				payload_error: 'Payload is too large to be sent in the webhook',
			};
		return { ...base, status: 'OK', payload: outcome.body };
	}

	// -------------------------------------------------------------------------------------------
	// What a trigger must refuse (or must not run twice)
	// -------------------------------------------------------------------------------------------

	/** A delivery signed as fal signs it, now. */
	async sendSigned(url: string, body: Record<string, unknown>): Promise<PostAnswer> {
		const rawBody = JSON.stringify(body);
		return await post(url, rawBody, this.headersFor(String(body.request_id), rawBody));
	}

	/** Signed by a key that is not in fal's JWKS. */
	async sendForged(url: string, body: Record<string, unknown>): Promise<PostAnswer> {
		const rawBody = JSON.stringify(body);
		return await post(
			url,
			rawBody,
			this.headersFor(String(body.request_id), rawBody, { key: 'forger' }),
		);
	}

	/** Signed with fal's key, but `ageS` seconds ago (default 6 minutes). */
	async sendStale(url: string, body: Record<string, unknown>, ageS = 360): Promise<PostAnswer> {
		const rawBody = JSON.stringify(body);
		return await post(url, rawBody, this.headersFor(String(body.request_id), rawBody, { ageS }));
	}

	/** No signature headers at all, as a plain webhook sender (or a gateway) posts. */
	async sendUnsigned(url: string, body: Record<string, unknown>): Promise<PostAnswer> {
		return await post(url, JSON.stringify(body), {});
	}

	/** A delivery sent before, again, byte for byte (fal's retry, or a replay attack). */
	async replay(sent: SentDelivery): Promise<PostAnswer> {
		return await post(sent.url, sent.rawBody, sent.headers);
	}

	/** A delivery sent before, with its body changed after signing (`edit` gets the raw text). */
	async sendTampered(sent: SentDelivery, edit: (raw: string) => string): Promise<PostAnswer> {
		return await post(sent.url, edit(sent.rawBody), sent.headers);
	}
}

/** One POST, JSON, the given headers; the answer's status and text. */
export async function post(
	url: string,
	rawBody: string,
	headers: Record<string, string>,
): Promise<PostAnswer> {
	const response = await undiciRequest(url, {
		method: 'POST',
		reset: true,
		headers: { 'content-type': 'application/json', ...headers },
		body: rawBody,
	});
	return { status: response.statusCode, body: await response.body.text() };
}
