/**
 * A fake fal.ai queue server for tests, the demo and the benchmark.
 *
 * Three real `node:http` listeners on 127.0.0.1:
 *  - `url`         the queue API (https://queue.fal.run): submit, status, status stream, result, cancel;
 *  - `cdnUrl`      a second origin serving the generated image files (like fal's media CDN), without auth,
 *                  which also takes the uploads to the pre-signed URLs and serves the uploaded files;
 *  - `platformUrl` a third origin for fal's Platform API (https://api.fal.ai): prices;
 *  - `storageUrl`  a fourth origin, fal's REST host (https://rest.fal.ai): the storage API, with auth.
 *
 * The protocol it follows is /work/shared/reference/fal-queue-protocol.md. In short:
 *
 *   POST /fal-ai/flux-pro/kontext[/...]            -> 200 {status:'IN_QUEUE', request_id, *_url}
 *   GET  /fal-ai/flux-pro/requests/{id}/status     -> 202 IN_QUEUE | 202 IN_PROGRESS | 200 COMPLETED
 *   GET  /fal-ai/flux-pro/requests/{id}/status/stream -> text/event-stream of the same, ends after COMPLETED
 *   GET  /fal-ai/flux-pro/requests/{id}            -> the model's answer (200 output | 422 | 503 ...)
 *   PUT  /fal-ai/flux-pro/requests/{id}/cancel     -> 202 | 400 | 404
 *   GET  {platformUrl}/v1/models/pricing?endpoint_id=a,b -> 200 {prices:[{endpoint_id, unit_price, unit, currency}]}
 *
 * Submit honours `fal_max_queue_length` (429 at once when the endpoint's queue is longer) and records
 * `x-app-fal-disable-fallback`; results carry `X-Fal-Billable-Units` when `billableUnits` says so.
 * Submit honours `X-Fal-Request-Timeout`: a job still queued when that many seconds have passed is dropped (its
 * result is a 504 with `X-Fal-Request-Timeout-Type: user`). Every request's headers are recorded.
 * Note the request URLs keep only `{owner}/{app}`: the endpoint's sub-path is dropped.
 *
 * Storage (fal-js libs/client/src/storage.ts):
 *
 *   POST {storage}/storage/upload/initiate[-multipart]?storage_type=fal-cdn-v3  {content_type, file_name}
 *                                                -> 200 {upload_url, file_url}   (auth as the queue)
 *   PUT  {cdn}/upload/{id}?signature=...         -> 200, the file's bytes        (no auth: pre-signed)
 *   PUT  {cdn}/upload/{id}/{part}?signature=...  -> 200 {partNumber, etag}       (multipart)
 *   POST {cdn}/upload/{id}/complete?signature=... {parts:[{partNumber, etag}]} -> 200
 *   GET  {cdn}/files/uploads/{id}/{file_name}   -> the uploaded bytes
 *
 * A job "downloads" its image_url / image_urls when submitted, as fal's runner does: data URLs are
 * decoded, files of this fake's CDN are read from its store; what it saw is in `job.inputImages`.
 * Anything marked GUESS below is not confirmed by fal's documentation.
 */
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { randomInt, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Agent, request as undiciRequest } from 'undici';

import { generatedImages, type GeneratedImage } from './generated-images';
import { DEV_PRICES, devDefaults } from './kontext-dev-schema';
import { warmUpPictures } from './pictures';
import { KONTEXT_ENDPOINTS, validateKontextInput } from './schema';
import { JWKS_PATH, WebhookSigner } from './webhook-signer';

export { makePng, TINY_JPEG, crc32 } from './images';
export { KONTEXT_ENDPOINTS, validateKontextInput, type ValidationIssue } from './schema';
export { WebhookSigner, type SentDelivery } from './webhook-signer';

export const VALID_TOKEN = 'test-token';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export interface FakeFalOptions {
	/** Accepted tokens. Default ['test-token']. */
	tokens?: string[];
	/**
	 * The `Authorization` scheme each origin takes: 'key' only `Key <t>`, 'bearer' only `Bearer <t>`, 'any'
	 * both. One scheme for all three authenticated listeners, or per listener. Default: as fal and a gateway
	 * do, one scheme per origin: `Key` on fal's queue, storage and Platform hosts; `Bearer` on the queue
	 * listener when it plays a gateway (`gateway` set). A test that needs another says so.
	 */
	authScheme?: AuthScheme | Partial<Record<AuthListener, AuthScheme>>;
	/**
	 * The queue listener plays a gateway: fal's paths only under `prefix` (e.g. '/gateway'; anything else is
	 * a 404), and the handed-back URLs carrying `query` (e.g. 'shard=7'), which status, stream, result and
	 * cancel then require. Default: none (fal itself, at the root).
	 */
	gateway?: { prefix?: string; query?: string };
	/**
	 * How long a finished job's result (and status) stays fetchable, from its completion: fal keeps results
	 * about 1 hour, but only about 6 minutes when the result is 10 KB or more (inline Sync Mode images).
	 * After that, 404 Request not found. Default: fal's figures.
	 */
	resultExpiry?: { smallMs: number; largeMs: number; largeBytes: number };
	/** Origin written into status_url/response_url/cancel_url of submit & status answers. Default: this server's own url (like fal). Gateways hand back 'https://queue.fal.run'. */
	publicBaseUrl?: string;
	/**
	 * Timing of a job from its input (the JSON body) and its submit order (0-based). `queueMs: Infinity`: the job
	 * stays queued until `release(id)` (a test that must see it queued, whatever the machine's load). Default
	 * () => ({ queueMs: 20, runMs: 50 }).
	 */
	timing?: (input: Record<string, unknown>, index: number) => { queueMs: number; runMs: number };
	/**
	 * Whether GET .../status/stream is offered. 'ok' (default) | '404' | '405' | 'break' (sends the first event then
	 * destroys the socket without COMPLETED) | 'silent' (sends 200 and its headers, then nothing at all, ever).
	 */
	stream?: 'ok' | '404' | '405' | 'break' | 'silent';
	/** ms between `: ping` comments on the stream; 0: no pings (a stream that is quiet between status changes). Default 1000. */
	pingMs?: number;
	/** `Retry-After` header value on 202 status answers (e.g. '0', '3600'), for every job or by its input. Default: none. */
	statusRetryAfter?: string | ((input: Record<string, unknown>) => string);
	/**
	 * Decides from a job's input (and submit order) whether it fails, and how: `terminal` makes the status end with
	 * that status of a gateway's own (FAILED, ERROR...) instead of fal's COMPLETED. Default: none fail (see failNextJobs).
	 */
	failure?: (input: Record<string, unknown>, index: number) => JobFailure | undefined;
	/** ms a submit waits before it is handled (a slow gateway), from the job's input. Default () => 0. */
	submitDelayMs?: (input: Record<string, unknown>) => number;
	/**
	 * Size in bytes of each generated PNG (approximately; incompressible noise, for memory and speed tests).
	 * Default: none, PNGs are pictures like JPEGs (see `pictureSize`).
	 */
	pngBytes?: number;
	/**
	 * Pixels on the long side of the generated pictures (fake-fal/pictures.ts: Text to Image draws the prompt,
	 * Edit recolours and frames its input). Default 32: drawing costs CPU in the process under test, and on a busy
	 * 2-core machine 5 pictures of 128 px added about 0.5 s to a 5-job run (concurrency.test.ts's bound). fal's
	 * Kontext makes about 1024 px, which the demo uses.
	 */
	pictureSize?: number;
	/**
	 * Where a result's image URLs point. 'cdn' (default): the CDN listener, like fal's media CDN. 'redirect': the
	 * queue listener's own `/files/...`, which (with the token) answers 302 to the same file on the CDN, as a
	 * gateway that serves files by redirecting to its CDN does. GUESS: no gateway is known to do this; it is
	 * the shape the node must survive.
	 */
	fileUrls?: 'cdn' | 'redirect';
	/** Reshapes a successful result (also in webhooks), as a misbehaving gateway would: e.g. `images: []`. */
	reshapeResult?: (result: Record<string, unknown>) => Record<string, unknown>;
	/**
	 * `X-Fal-Billable-Units` on a finished job's result (fal sends it where it bills): a value for every job, or by
	 * the job's input (undefined: no header). Default: none.
	 */
	billableUnits?: string | ((input: Record<string, unknown>) => string | undefined);
	/** USD per image that the pricing API answers, by endpoint id. Default: fal's published prices (pro 0.04, max 0.08). */
	prices?: Record<string, number>;
	/** The pricing API's `unit` by endpoint id, where it is not `image` (default: the LoRA endpoints' megapixels). */
	priceUnits?: Record<string, string>;
}

/** A proxy's error page (nginx's, byte for byte), for faults: `{ status: 502, body: BAD_GATEWAY_PAGE, headers: HTML }`. */
export const BAD_GATEWAY_PAGE =
	'<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
export const HTML = { 'content-type': 'text/html' } as const;

/** The options in force: every default filled in except `pngBytes` (undefined = pictures). */
export type ResolvedFakeFalOptions = Required<
	Omit<FakeFalOptions, 'pngBytes' | 'failure' | 'reshapeResult' | 'billableUnits'>
> &
	Pick<FakeFalOptions, 'pngBytes' | 'failure' | 'reshapeResult' | 'billableUnits'>;

export type AuthScheme = 'key' | 'bearer' | 'any';
export type AuthListener = 'queue' | 'storage' | 'platform';

export type RequestKind =
	| 'submit'
	| 'status'
	| 'stream'
	| 'result'
	| 'cancel'
	| 'file'
	| 'pricing'
	| 'initiate'
	| 'upload'
	| 'complete'
	| 'other';

export interface RecordedRequest {
	method: string;
	/** Path without the query string. */
	path: string;
	query: Record<string, string>;
	/** Lower-cased names, as Node gives them. */
	headers: Record<string, string | string[] | undefined>;
	/** Parsed JSON body; the raw text if it was not JSON; undefined if empty or an upload (see `bodyBytes`). */
	body?: unknown;
	/** Bytes of the body as received. */
	bodyBytes: number;
	/** performance.now() when the request arrived. */
	at: number;
	/** performance.now() when its connection or answer closed (the client gave up, or the answer ended). */
	closedAt?: number;
	kind: RequestKind;
}

export interface Fault {
	kind: RequestKind;
	/** How many requests of that kind it answers. Default 1. */
	times?: number;
	/** Default 500. */
	status?: number;
	/**
	 * Sent as JSON; a string is sent as is (text/plain unless `headers` say otherwise), a Buffer as its bytes
	 * (application/octet-stream unless `headers` say otherwise). Default {"detail":"Internal Server Error"}.
	 */
	body?: unknown;
	headers?: Record<string, string>;
	/** Destroy the socket (TCP RST) instead of answering. */
	reset?: boolean;
	/** Never answer: the request stays open (no headers) until the client gives up, reset() or stop(). */
	hang?: boolean;
	/** Send the headers at once, then the body one byte every `trickleMs` ms. */
	trickleMs?: number;
}

export interface JobFailure {
	error: string;
	error_type: string;
	/** HTTP status of the result. */
	status: number;
	/** A gateway's own terminal status for the status answers, instead of fal's COMPLETED with error fields. */
	terminal?: string;
	/** The result's `detail` (e.g. a 422's per-field list); default: `error`. */
	detail?: unknown;
}

export interface Job {
	id: string;
	/** e.g. 'fal-ai/flux-pro/kontext/max' */
	endpoint: string;
	input: Record<string, unknown>;
	submittedAt: number;
	queueMs: number;
	runMs: number;
	/** EXPIRED: dropped because it had not started within its `startTimeoutS`. */
	state: 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED' | 'CANCELLED' | 'EXPIRED';
	completedAt?: number;
	/** First time the result was fetched after completion. */
	resultFetchedAt?: number;
	webhookUrl?: string;
	failure?: JobFailure;
	/** From `X-Fal-Request-Timeout`: seconds within which the job must start. */
	startTimeoutS?: number;
	/** What the runner got for each image_url / image_urls entry, in order. */
	inputImages: InputImage[];
	/** `x-app-fal-disable-fallback` was sent: fal may not reroute the job to an equivalent endpoint. */
	fallbacksDisabled: boolean;
}

/** One input image as fal's runner would fetch it. */
export interface InputImage {
	url: string;
	/** 'data-url', 'uploaded' (a file of this fake's storage), or 'not-fetched' (any other host: no internet here). */
	source: 'data-url' | 'uploaded' | 'not-fetched';
	/** Undefined when not fetched, or when the file does not exist. */
	bytes?: Buffer;
	contentType?: string;
}

/** A file uploaded through the storage API. */
export interface Upload {
	id: string;
	/** What initiate was given. */
	contentType: string;
	fileName: string;
	multipart: boolean;
	uploadUrl: string;
	fileUrl: string;
	/** The PUT's content type (single uploads). */
	putContentType?: string;
	/** The bytes, once the PUT (or the multipart complete) is done. */
	bytes?: Buffer;
	parts: Map<number, Buffer>;
}

export interface WebhookDelivery {
	url: string;
	body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
	/** The exact bytes sent (as text) and the signature headers: what a replay sends again. */
	rawBody: string;
	headers: Record<string, string>;
	/** HTTP status the receiver answered with. */
	status?: number;
	/** Why the delivery failed (connection refused, timeout...). */
	error?: string;
}

// ---------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------

interface LogEntry {
	message: string;
	level: 'INFO';
	source: 'user';
	timestamp: string;
}

/** What GET .../requests/{id} answers once the job is over: the model's own status, headers and body. */
interface Outcome {
	status: number;
	headers: Record<string, string>;
	body: unknown;
	/** Files served by the CDN listener for this job (empty for failures and sync_mode), drawn on first use. */
	files: GeneratedImage[];
}

/** Per-job state the public `Job` does not show. */
interface JobRuntime {
	logs: LogEntry[];
	timers: Set<NodeJS.Timeout>;
	outcome?: Outcome;
	/** The job's images and seed, decided when it starts running (drawn meanwhile, as fal's model would). */
	images?: { seed: number; generated: GeneratedImage[] };
	/** Stream subscribers; `change` is what happened. */
	listeners: Set<(change: 'state' | 'log') => void>;
}

const DEFAULT_OPTIONS: ResolvedFakeFalOptions = {
	tokens: [VALID_TOKEN],
	authScheme: {},
	gateway: {},
	resultExpiry: { smallMs: 3_600_000, largeMs: 360_000, largeBytes: 10_240 },
	publicBaseUrl: '', // filled in with the server's own url
	timing: () => ({ queueMs: 20, runMs: 50 }),
	stream: 'ok',
	pingMs: 1000,
	statusRetryAfter: '',
	failure: () => undefined,
	submitDelayMs: () => 0,
	pngBytes: undefined,
	pictureSize: 32,
	fileUrls: 'cdn',
	reshapeResult: undefined,
	prices: Object.fromEntries(
		Object.keys(KONTEXT_ENDPOINTS).map((endpoint) => [
			endpoint,
			DEV_PRICES[endpoint]?.unit_price ?? (endpoint.includes('/max') ? 0.08 : 0.04),
		]),
	),
	priceUnits: Object.fromEntries(
		Object.entries(DEV_PRICES).map(([endpoint, { unit }]) => [endpoint, unit]),
	),
};

const DEFAULT_FAILURE = {
	error: 'Runner disconnected',
	error_type: 'runner_disconnected',
	status: 503,
};

const DETAIL = {
	unauthorized: { detail: 'No user found for Key ID and Secret' },
	appNotFound: { detail: 'Application not found' },
	requestNotFound: { detail: 'Request not found' },
	notFound: { detail: 'Not Found' },
	methodNotAllowed: { detail: 'Method Not Allowed' },
	inProgress: { detail: 'Request is still in progress' },
	// GUESS: fal's answer for the result of a request cancelled before it ran is undocumented.
	cancelled: { detail: 'Request was cancelled' },
	// GUESS: the body of the 504 for a job whose start deadline passed (its status code and header are documented).
	startTimeout: { detail: 'Request timed out before it started' },
};

/** `/{owner}/{app}/requests/{id}[/status[/stream] | /cancel]`: exactly two segments before `requests`. */
const REQUEST_ROUTE =
	/^\/([^/]+)\/([^/]+)\/requests\/([^/]+)(\/status\/stream|\/status|\/cancel)?\/?$/;

/** Kind of a request from its method and path alone, also for paths no route matches (the sub-path bug). */
function classify(method: string, path: string): RequestKind {
	if (method === 'POST') return 'submit';
	const m = /\/requests\/[^/]+(\/status\/stream|\/status|\/cancel)?\/?$/.exec(path);
	if (!m) return 'other';
	if (method === 'PUT' && m[1] === '/cancel') return 'cancel';
	if (method === 'GET') {
		if (m[1] === '/status/stream') return 'stream';
		if (m[1] === '/status') return 'status';
		if (m[1] === undefined) return 'result';
	}
	return 'other';
}

/** Storage API routes on fal's REST host. */
function classifyStorage(method: string, path: string): RequestKind {
	return method === 'POST' && /^\/storage\/upload\/initiate(-multipart)?$/.test(path)
		? 'initiate'
		: 'other';
}

/** CDN routes: uploads to pre-signed URLs, multipart completion, file downloads. */
function classifyCdn(method: string, path: string): RequestKind {
	if (method === 'PUT' && path.startsWith('/upload/')) return 'upload';
	if (method === 'POST' && /^\/upload\/[^/]+\/complete$/.test(path)) return 'complete';
	return 'file';
}

/** The signature of this fake's pre-signed upload URLs. */
const SIGNATURE = 'fake-signature';

/** `fal-ai/flux-pro/kontext/max` -> `fal-ai/flux-pro` */
const appIdOf = (endpoint: string): string => endpoint.split('/').slice(0, 2).join('/');

function sendJson(
	res: http.ServerResponse,
	status: number,
	body: unknown,
	headers: Record<string, string> = {},
): void {
	const text = JSON.stringify(body);
	res.writeHead(status, {
		'content-type': 'application/json',
		'content-length': String(Buffer.byteLength(text)),
		...headers,
	});
	res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
	return new Promise((resolve) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => resolve(Buffer.concat(chunks)));
		req.on('error', () => resolve(Buffer.concat(chunks)));
	});
}

/** Parses a body as JSON: `{ ok: true, value }`, or `{ ok: false }` with the raw text as value. */
function parseJson(raw: Buffer): { ok: boolean; value: unknown } {
	if (raw.length === 0) return { ok: false, value: undefined };
	const text = raw.toString('utf8');
	try {
		return { ok: true, value: JSON.parse(text) };
	} catch {
		return { ok: false, value: text };
	}
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
	typeof v === 'object' && v !== null && !Array.isArray(v);

function listen(server: http.Server): Promise<string> {
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			server.off('error', reject);
			const address = server.address();
			if (address === null || typeof address === 'string')
				return reject(new Error('no TCP address'));
			resolve(`http://127.0.0.1:${address.port}`);
		});
	});
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

export class FakeFal {
	/** The queue API: 'http://127.0.0.1:PORT'. */
	readonly url: string;
	/** The CDN serving result files: another port, so another origin. */
	readonly cdnUrl: string;
	/** fal's Platform API (prices): a third origin, as api.fal.ai is not the queue's host. */
	readonly platformUrl: string;
	/** Options in force; change them freely between (or during) tests. `reset()` restores the start values. */
	options: ResolvedFakeFalOptions;
	/** Every request to the queue listener, in arrival order (faulted ones included). */
	requests: RecordedRequest[] = [];
	/** Every request to the CDN listener (downloads, and uploads to pre-signed URLs). */
	cdnRequests: RecordedRequest[] = [];
	/** Every request to the Platform API listener. */
	platformRequests: RecordedRequest[] = [];
	/** fal's REST host (storage API): 'http://127.0.0.1:PORT', a third origin. */
	readonly storageUrl: string;
	/** Every request to the storage listener. */
	storageRequests: RecordedRequest[] = [];
	/** fal's public keys for webhook signatures, on the REST host as fal's are. */
	readonly jwksUrl: string;
	/** Uploads by id, in initiate order. */
	uploads = new Map<string, Upload>();
	/** Jobs by request id, in submit order. */
	jobs = new Map<string, Job>();
	/** Webhook deliveries attempted, in the order they finished. */
	webhooks: WebhookDelivery[] = [];
	/** Signs the deliveries and serves the JWKS (webhook-signer.ts). */
	readonly signer = new WebhookSigner();

	private readonly startOptions: ResolvedFakeFalOptions;
	private readonly runtimes = new Map<string, JobRuntime>();
	private readonly faults = new Map<RequestKind, Array<{ fault: Fault; left: number }>>();
	private pendingFailures: Array<NonNullable<Job['failure']>> = [];
	private submitCount = 0;
	/** Bumped by reset(), so work started before it does not leak into the new test's records. */
	private generation = 0;
	private stopped = false;

	/** Every live timer (job lifecycle, pings, stream breaks), so stop() can clear them. */
	private readonly timers = new Set<NodeJS.Timeout>();
	private readonly openStreams = new Set<http.ServerResponse>();
	private readonly sockets = new Set<Socket>();
	private readonly deliveries = new Set<Promise<void>>();
	/** Own dispatcher for webhook deliveries, destroyed by stop(). */
	private readonly webhookAgent = new Agent({
		connect: { timeout: 5000 },
		headersTimeout: 10_000,
		bodyTimeout: 10_000,
	});

	static async start(options: FakeFalOptions = {}): Promise<FakeFal> {
		warmUpPictures();
		const queue = http.createServer();
		const cdn = http.createServer();
		const platform = http.createServer();
		const storage = http.createServer();
		const [url, cdnUrl, platformUrl, storageUrl] = await Promise.all([
			listen(queue),
			listen(cdn),
			listen(platform),
			listen(storage),
		]);
		return new FakeFal(
			{ queue, cdn, platform, storage },
			{ url, cdnUrl, platformUrl, storageUrl },
			options,
		);
	}

	private constructor(
		private readonly servers: Record<Listener, http.Server>,
		urls: { url: string; cdnUrl: string; platformUrl: string; storageUrl: string },
		options: FakeFalOptions,
	) {
		this.url = urls.url;
		this.cdnUrl = urls.cdnUrl;
		this.platformUrl = urls.platformUrl;
		this.storageUrl = urls.storageUrl;
		this.jwksUrl = `${urls.storageUrl}${JWKS_PATH}`;
		const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
		this.startOptions = { ...DEFAULT_OPTIONS, publicBaseUrl: urls.url, ...defined };
		this.options = this.freshOptions();

		for (const [listener, server] of Object.entries(servers) as Array<[Listener, http.Server]>) {
			server.on('connection', (socket: Socket) => {
				this.sockets.add(socket);
				socket.on('close', () => this.sockets.delete(socket));
			});
			server.on('request', (req, res) => void this.handle(req, res, listener));
		}
	}

	// -----------------------------------------------------------------------------------------
	// Test controls
	// -----------------------------------------------------------------------------------------

	/** The start options again, with their own copies of the objects a test may change in place. */
	private freshOptions(): ResolvedFakeFalOptions {
		const start = this.startOptions;
		return {
			...start,
			tokens: [...start.tokens],
			authScheme: typeof start.authScheme === 'string' ? start.authScheme : { ...start.authScheme },
			gateway: { ...start.gateway },
			resultExpiry: { ...start.resultExpiry },
		};
	}

	/** Queue a fault for the next `times` requests of that kind (FIFO per kind). */
	inject(fault: Fault): void {
		const queue = this.faults.get(fault.kind) ?? [];
		queue.push({ fault, left: fault.times ?? 1 });
		this.faults.set(fault.kind, queue);
	}

	/** The next n submitted jobs end COMPLETED with an error (default: runner_disconnected, result 503). */
	failNextJobs(n: number, failure: Partial<JobFailure> = {}): void {
		for (let i = 0; i < n; i++) this.pendingFailures.push({ ...DEFAULT_FAILURE, ...failure });
	}

	/** Starts a queued job now, as if its turn had come (for jobs held with `queueMs: Infinity`); false if it was not queued. */
	release(id: string): boolean {
		const job = this.jobs.get(id);
		if (job?.state !== 'IN_QUEUE') return false;
		this.startRunning(job);
		return true;
	}

	/** Clear records, jobs (and their timers and streams), webhooks and faults; options back to the start values. */
	reset(): void {
		this.generation++;
		for (const rt of this.runtimes.values()) this.clearJobTimers(rt);
		for (const res of this.openStreams) res.destroy();
		this.openStreams.clear();
		this.requests.length = 0;
		this.cdnRequests.length = 0;
		this.platformRequests.length = 0;
		this.storageRequests.length = 0;
		this.uploads.clear();
		this.jobs.clear();
		this.runtimes.clear();
		this.webhooks.length = 0;
		this.signer.reset();
		this.faults.clear();
		this.pendingFailures = [];
		this.submitCount = 0;
		this.options = this.freshOptions();
	}

	/**
	 * Resolves when every webhook delivery has been attempted: those under way, and those of jobs with
	 * `fal_webhook` that are still queued or running (it waits for them to complete).
	 */
	async webhooksSettled(): Promise<void> {
		for (;;) {
			if (this.deliveries.size > 0) {
				await Promise.allSettled([...this.deliveries]);
				continue;
			}
			const waiting = [...this.jobs.values()].some(
				(job) =>
					job.webhookUrl !== undefined && (job.state === 'IN_QUEUE' || job.state === 'IN_PROGRESS'),
			);
			if (!waiting || this.stopped) return;
			await new Promise((resolve) => setTimeout(resolve, 5));
		}
	}

	/** Close both listeners, open streams and keep-alive sockets; clear every timer; abort webhook deliveries. */
	async stop(): Promise<void> {
		if (this.stopped) return;
		this.stopped = true;
		for (const timer of this.timers) clearTimeout(timer);
		this.timers.clear();
		for (const res of this.openStreams) res.destroy();
		this.openStreams.clear();
		const closed = Promise.all(
			Object.values(this.servers).map(
				(server) => new Promise<void>((resolve) => server.close(() => resolve())),
			),
		);
		for (const socket of this.sockets) socket.destroy();
		this.sockets.clear();
		await closed;
		await this.webhookAgent.destroy().catch(() => undefined);
		await Promise.allSettled([...this.deliveries]);
	}

	// -----------------------------------------------------------------------------------------
	// Request entry point: record, fault, then route
	// -----------------------------------------------------------------------------------------

	private async handle(
		req: http.IncomingMessage,
		res: http.ServerResponse,
		listener: Listener,
	): Promise<void> {
		const at = performance.now();
		const raw = await readBody(req);
		const method = req.method ?? 'GET';
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const path = url.pathname;
		// The queue's routes are matched without a gateway's prefix (recorded paths keep it).
		const routed = listener === 'queue' ? this.withoutGatewayPrefix(path) : path;
		const kind: RequestKind = {
			queue: classify,
			platform: () => 'pricing' as const,
			storage: classifyStorage,
			cdn: classifyCdn,
		}[listener](method, routed ?? path);
		// Uploaded bytes are kept by the upload, not parsed as text.
		const json = kind === 'upload' ? { ok: false, value: undefined } : parseJson(raw);
		const record: RecordedRequest = {
			method,
			path,
			query: Object.fromEntries(url.searchParams),
			headers: { ...req.headers },
			body: json.value,
			bodyBytes: raw.length,
			at,
			kind,
		};
		({
			queue: this.requests,
			cdn: this.cdnRequests,
			platform: this.platformRequests,
			storage: this.storageRequests,
		})[listener].push(record);
		res.on('close', () => (record.closedAt = performance.now()));

		try {
			const fault = this.takeFault(kind);
			if (fault) return this.answerFault(res, fault);

			if (kind === 'upload') return this.receiveUpload(req, res, path, url.searchParams, raw);
			if (kind === 'complete') return this.completeMultipart(res, path, url.searchParams, json);
			if (listener === 'cdn') return this.serveFile(req, res, path);
			if (listener === 'storage') {
				if (path === JWKS_PATH && method === 'GET') return this.signer.serveJwks(res);
				if (!this.authorized(req.headers.authorization, 'storage'))
					return sendJson(res, 401, DETAIL.unauthorized);
				if (kind === 'initiate') return this.initiateUpload(res, path, url.searchParams, json);
				return sendJson(res, 404, DETAIL.notFound);
			}

			if (
				!this.authorized(req.headers.authorization, listener === 'platform' ? 'platform' : 'queue')
			)
				return sendJson(res, 401, DETAIL.unauthorized);

			if (listener === 'platform') return this.pricing(res, method, path, url.searchParams);

			// A gateway under a prefix knows nothing outside it.
			if (routed === undefined) return sendJson(res, 404, DETAIL.notFound);
			if (kind === 'submit') {
				const delay = isPlainObject(json.value) ? this.options.submitDelayMs(json.value) : 0;
				if (delay > 0) {
					const generation = this.generation;
					await this.sleep(delay);
					// reset() came meanwhile: this submit belongs to a test that is over.
					if (generation !== this.generation) return void res.destroy();
				}
				return this.submit(res, routed, url.searchParams, json, req.headers);
			}

			if (method === 'GET' && routed.startsWith('/files/')) {
				// fileUrls 'redirect': the gateway's own file URL sends the client on to its CDN.
				res.writeHead(302, { location: `${this.cdnUrl}${path}`, 'content-length': '0' });
				return void res.end();
			}

			const route = REQUEST_ROUTE.exec(routed);
			if (!route || kind === 'other') {
				// This is also where a status URL that kept the endpoint's sub-path ends up
				// (/fal-ai/flux-pro/kontext/requests/{id}/status): fal only routes {owner}/{app}.
				// GUESS: the body of that 404.
				if (method === 'GET' || method === 'PUT') return sendJson(res, 404, DETAIL.notFound);
				return sendJson(res, 405, DETAIL.methodNotAllowed);
			}
			const [, owner, app, id] = route;
			const job = this.jobs.get(id);
			const found =
				job !== undefined && appIdOf(job.endpoint) === `${owner}/${app}` && !this.expired(job)
					? job
					: undefined;
			if (!this.hasGatewayQuery(url.searchParams)) return sendJson(res, 404, DETAIL.notFound);

			switch (kind) {
				case 'status':
					return this.status(res, found, url.searchParams);
				case 'stream':
					return this.stream(res, found, url.searchParams);
				case 'result':
					return this.result(res, found);
				case 'cancel':
					return this.cancel(res, found);
			}
		} catch (error) {
			if (!res.headersSent)
				sendJson(res, 500, { detail: `fake-fal internal error: ${(error as Error).message}` });
			else res.destroy();
		}
	}

	/** A tracked wait (cleared by stop()). */
	private sleep(ms: number): Promise<void> {
		return new Promise((resolve) => {
			const timer = setTimeout(() => {
				this.timers.delete(timer);
				resolve();
			}, ms);
			this.timers.add(timer);
		});
	}

	private takeFault(kind: RequestKind): Fault | undefined {
		const queue = this.faults.get(kind);
		const entry = queue?.[0];
		if (!queue || !entry) return undefined;
		entry.left--;
		if (entry.left <= 0) queue.shift();
		return entry.fault;
	}

	private answerFault(res: http.ServerResponse, fault: Fault): void {
		if (fault.reset) {
			// An RST, so the client sees ECONNRESET rather than a clean close.
			const socket = res.socket;
			if (socket && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
			else res.destroy();
			return;
		}
		if (fault.hang) {
			// Tracked like a stream so that reset() and stop() end it.
			this.openStreams.add(res);
			res.on('close', () => this.openStreams.delete(res));
			return;
		}
		const status = fault.status ?? 500;
		const body = fault.body ?? { detail: 'Internal Server Error' };
		if (fault.trickleMs !== undefined) return this.trickle(res, status, body, fault);
		if (Buffer.isBuffer(body)) {
			res.writeHead(status, {
				'content-type': 'application/octet-stream',
				'content-length': String(body.length),
				...fault.headers,
			});
			res.end(body);
			return;
		}
		if (typeof body === 'string') {
			res.writeHead(status, {
				'content-type': 'text/plain; charset=utf-8',
				'content-length': String(Buffer.byteLength(body)),
				...fault.headers,
			});
			res.end(body);
			return;
		}
		sendJson(res, status, body, fault.headers);
	}

	/** Headers now, then the body a byte at a time: a server (or proxy) that never quite stalls. */
	private trickle(res: http.ServerResponse, status: number, body: unknown, fault: Fault): void {
		const bytes = Buffer.isBuffer(body)
			? body
			: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
		res.writeHead(status, {
			'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
			'content-length': String(bytes.length),
			...fault.headers,
		});
		this.openStreams.add(res);
		let sent = 0;
		const timer = setInterval(() => {
			if (res.destroyed || sent >= bytes.length) {
				clearInterval(timer);
				this.timers.delete(timer);
				if (!res.destroyed) res.end();
				return;
			}
			res.write(bytes.subarray(sent, ++sent));
		}, fault.trickleMs);
		this.timers.add(timer);
		res.on('close', () => {
			clearInterval(timer);
			this.timers.delete(timer);
			this.openStreams.delete(res);
		});
	}

	/** `Authorization: Key <token>` (fal) or `Bearer <token>` (gateways), as that listener's scheme allows. */
	private authorized(header: string | undefined, listener: AuthListener): boolean {
		const m = /^(\S+)\s+(.+)$/.exec(header ?? '');
		if (!m) return false;
		const scheme = m[1].toLowerCase();
		const token = m[2].trim();
		const wanted = this.authSchemeOf(listener);
		const schemeOk = wanted === 'any' ? scheme === 'key' || scheme === 'bearer' : scheme === wanted;
		return schemeOk && this.options.tokens.includes(token);
	}

	/** The scheme a listener takes: as configured, else `Key` (fal), `Bearer` for the queue of a gateway. */
	authSchemeOf(listener: AuthListener): AuthScheme {
		const { authScheme, gateway } = this.options;
		if (typeof authScheme === 'string') return authScheme;
		const isGateway = gateway.prefix !== undefined || gateway.query !== undefined;
		return authScheme[listener] ?? (listener === 'queue' && isGateway ? 'bearer' : 'key');
	}

	// -----------------------------------------------------------------------------------------
	// Playing a gateway: a path prefix, a query on the URLs it hands back
	// -----------------------------------------------------------------------------------------

	/** A queue path without the gateway's prefix; undefined when outside it. The path itself without one. */
	private withoutGatewayPrefix(path: string): string | undefined {
		const prefix = (this.options.gateway.prefix ?? '').replace(/\/+$/, '');
		if (!prefix) return path;
		return path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : undefined;
	}

	/** Whether a request carries every `key=value` of the gateway's query (always, without one). */
	private hasGatewayQuery(query: URLSearchParams): boolean {
		const wanted = new URLSearchParams(this.options.gateway.query ?? '');
		return [...wanted].every(([key, value]) => query.getAll(key).includes(value));
	}

	/** Where the handed-back URLs point: `publicBaseUrl`; on this server's own origin, under the prefix. */
	private publicBase(): string {
		const base = this.options.publicBaseUrl.replace(/\/+$/, '');
		const prefix = (this.options.gateway.prefix ?? '').replace(/\/+$/, '');
		return base === this.url ? `${base}${prefix}` : base;
	}

	// -----------------------------------------------------------------------------------------
	// Result expiry
	// -----------------------------------------------------------------------------------------

	/**
	 * Whether a finished job is forgotten: its result (and status) kept `resultExpiry.smallMs` after completion,
	 * `largeMs` when the result is `largeBytes` or more. GUESS: fal then answers 404 Request not found.
	 */
	private expired(job: Job): boolean {
		const outcome = this.runtimes.get(job.id)?.outcome;
		if (job.completedAt === undefined || !outcome) return false;
		const { smallMs, largeMs, largeBytes } = this.options.resultExpiry;
		const large = Buffer.byteLength(JSON.stringify(outcome.body ?? null)) >= largeBytes;
		return performance.now() - job.completedAt > (large ? largeMs : smallMs);
	}

	// -----------------------------------------------------------------------------------------
	// Submit and the job lifecycle
	// -----------------------------------------------------------------------------------------

	private submit(
		res: http.ServerResponse,
		path: string,
		query: URLSearchParams,
		json: { ok: boolean; value: unknown },
		headers: http.IncomingHttpHeaders,
	): void {
		const endpoint = path.replace(/^\/+|\/+$/g, '');
		if (!(endpoint in KONTEXT_ENDPOINTS)) return sendJson(res, 404, DETAIL.appNotFound);
		if (!json.ok || !isPlainObject(json.value)) {
			return sendJson(res, 400, { detail: 'Request body must be a JSON object' });
		}
		// fal_max_queue_length: refused at once, nothing queued, when the endpoint's queue is longer.
		// GUESS: the body of that 429.
		const maxQueue = query.get('fal_max_queue_length');
		if (maxQueue !== null) {
			const queued = [...this.jobs.values()].filter(
				(other) => other.endpoint === endpoint && other.state === 'IN_QUEUE',
			).length;
			if (queued > Number(maxQueue))
				return sendJson(res, 429, { detail: `Queue length ${queued} exceeds ${maxQueue}` });
		}
		// The input is not validated here: fal validates when the job runs (see outcomeOf).
		const input = json.value;
		const index = this.submitCount++;
		const { queueMs, runMs } = this.options.timing(input, index);
		const failure = this.options.failure?.(input, index);
		const job: Job = {
			id: randomUUID(),
			endpoint,
			input,
			submittedAt: performance.now(),
			queueMs,
			runMs,
			state: 'IN_QUEUE',
			webhookUrl: query.get('fal_webhook') ?? undefined,
			failure: failure ? { ...DEFAULT_FAILURE, ...failure } : this.pendingFailures.shift(),
			startTimeoutS: startTimeoutOf(headers),
			inputImages: this.fetchInputImages(input),
			fallbacksDisabled: headers['x-app-fal-disable-fallback'] !== undefined,
		};
		const queuePosition = this.queuePosition(job);
		this.jobs.set(job.id, job);
		this.runtimes.set(job.id, { logs: [], timers: new Set(), listeners: new Set() });
		if (Number.isFinite(queueMs)) this.after(job, queueMs, () => this.startRunning(job));
		if (job.startTimeoutS !== undefined)
			this.after(job, job.startTimeoutS * 1000, () => this.expire(job));

		const urls = this.urlsOf(job);
		sendJson(res, 200, {
			status: 'IN_QUEUE',
			request_id: job.id,
			response_url: urls.response_url,
			status_url: urls.status_url,
			cancel_url: urls.cancel_url,
			logs: null,
			metrics: {},
			queue_position: queuePosition,
		});
	}

	/** The start deadline passed while the job was still queued: fal drops it, unrun and unbilled. */
	private expire(job: Job): void {
		if (job.state !== 'IN_QUEUE') return;
		this.clearJobTimers(this.runtime(job));
		job.state = 'EXPIRED';
		job.completedAt = performance.now();
		this.runtime(job).outcome = {
			status: 504,
			headers: { 'X-Fal-Request-Timeout-Type': 'user' },
			body: DETAIL.startTimeout,
			files: [],
		};
		this.notify(job, 'state');
	}

	private startRunning(job: Job): void {
		if (job.state !== 'IN_QUEUE') return;
		job.state = 'IN_PROGRESS';
		this.addLog(job, `Starting FLUX.1 Kontext inference (${job.endpoint})`);
		this.notify(job, 'state');
		// Draw the pictures while the job "runs", not when the client downloads them: the work falls where
		// the client only waits, as with fal.
		const images = this.imagesOf(job);
		this.after(job, 0, () => {
			if (job.state === 'IN_PROGRESS') for (const image of images.generated) image.file();
		});
		const n = typeof job.input.num_images === 'number' ? job.input.num_images : 1;
		this.after(job, job.runMs / 2, () => {
			this.addLog(job, `Generating ${n} image(s)`);
			this.notify(job, 'log');
		});
		this.after(job, job.runMs, () => this.complete(job));
	}

	private complete(job: Job): void {
		if (job.state !== 'IN_PROGRESS') return;
		const rt = this.runtime(job);
		job.state = 'COMPLETED';
		job.completedAt = performance.now();
		rt.outcome = this.outcomeOf(job);
		this.notify(job, 'state');
		if (job.webhookUrl !== undefined) this.deliverWebhook(job, job.webhookUrl, rt.outcome);
	}

	/** The images a job makes and its seed (fal picks one when the input has none), decided once. */
	private imagesOf(job: Job): { seed: number; generated: GeneratedImage[] } {
		const rt = this.runtime(job);
		if (!rt.images) {
			const input = { ...devDefaults(job.endpoint), ...job.input };
			const seed = typeof input.seed === 'number' ? input.seed : randomInt(0, 2 ** 32);
			rt.images = {
				seed,
				generated: generatedImages({
					endpoint: job.endpoint,
					input,
					seed,
					inputImage: job.inputImages[0]?.bytes,
					longSide: this.options.pictureSize,
					pngBytes: this.options.pngBytes,
				}),
			};
		}
		return rt.images;
	}

	/** What the model answers: the injected failure, else a 422 for bad input, else the images. */
	private outcomeOf(job: Job): Outcome {
		if (job.failure) {
			const { error, error_type, status } = job.failure;
			return {
				status,
				headers: { 'X-Fal-Error-Type': error_type },
				body: { detail: job.failure.detail ?? error, error_type },
				files: [],
			};
		}
		const issues = validateKontextInput(KONTEXT_ENDPOINTS[job.endpoint], job.input);
		if (issues.length > 0) return { status: 422, headers: {}, body: { detail: issues }, files: [] };
		// GUESS: fal's words when the runner cannot download an input file.
		const missing = job.inputImages.findIndex(
			(image) => image.source === 'uploaded' && !image.bytes,
		);
		if (missing >= 0) {
			const single = ['image_url', 'mask_url', 'reference_image_url'].filter(
				(field) => typeof job.input[field] === 'string',
			);
			const loc = Array.isArray(job.input.image_urls)
				? ['body', 'image_urls', missing]
				: ['body', single[missing]];
			return {
				status: 422,
				headers: {},
				body: {
					detail: [{ loc, msg: 'Failed to download the file', type: 'file_download_error' }],
				},
				files: [],
			};
		}

		const input = { ...devDefaults(job.endpoint), ...job.input };
		const { seed, generated } = this.imagesOf(job);
		const syncMode = input.sync_mode === true;
		const fileOrigin = this.options.fileUrls === 'redirect' ? this.publicBase() : this.cdnUrl;
		// As fal's Kontext results: url, size and type (file_name and file_size are optional in fal's schema).
		const images = generated.map((image, n) => ({
			url: syncMode
				? `data:${image.contentType};base64,${image.file().bytes.toString('base64')}`
				: `${fileOrigin}/files/${job.id}/${n}.${image.extension}`,
			width: image.width,
			height: image.height,
			content_type: image.contentType,
		}));
		const body = {
			images,
			timings: { inference: job.runMs / 1000 },
			seed,
			has_nsfw_concepts: images.map(() => false),
			prompt: input.prompt,
		};
		return {
			status: 200,
			headers: {},
			body: this.options.reshapeResult ? this.options.reshapeResult(body) : body,
			// sync_mode results are not kept in fal's storage: nothing to download.
			files: syncMode ? [] : generated,
		};
	}

	// -----------------------------------------------------------------------------------------
	// Status, stream, result, cancel
	// -----------------------------------------------------------------------------------------

	private status(res: http.ServerResponse, job: Job | undefined, query: URLSearchParams): void {
		if (!job) return sendJson(res, 404, DETAIL.requestNotFound);
		const body = this.statusBody(job, wantsLogs(query));
		const done = body.status !== 'IN_QUEUE' && body.status !== 'IN_PROGRESS';
		const { statusRetryAfter } = this.options;
		const retryAfter =
			typeof statusRetryAfter === 'function' ? statusRetryAfter(job.input) : statusRetryAfter;
		sendJson(res, done ? 200 : 202, body, !done && retryAfter ? { 'retry-after': retryAfter } : {});
	}

	/** Server-sent events: the current status now, then at every change; ends after COMPLETED. */
	private stream(res: http.ServerResponse, job: Job | undefined, query: URLSearchParams): void {
		const mode = this.options.stream;
		if (mode === '404') return sendJson(res, 404, DETAIL.notFound);
		if (mode === '405') return sendJson(res, 405, DETAIL.methodNotAllowed, { allow: 'POST' });
		if (!job) return sendJson(res, 404, DETAIL.requestNotFound);

		const logs = wantsLogs(query);
		const rt = this.runtime(job);
		res.writeHead(200, {
			'content-type': 'text/event-stream',
			'cache-control': 'no-cache',
			connection: 'keep-alive',
		});
		this.openStreams.add(res);

		const write = (text: string, done?: () => void): void => {
			if (!res.writableEnded && !res.destroyed) res.write(text, done);
		};
		const send = (): boolean => {
			const body = this.statusBody(job, logs);
			write(`data: ${JSON.stringify(body)}\n\n`);
			return body.status !== 'IN_QUEUE' && body.status !== 'IN_PROGRESS';
		};
		if (mode === 'silent') {
			// Headers, then nothing: no event, no ping, no end (until the client gives up).
			res.flushHeaders();
			res.on('close', () => this.openStreams.delete(res));
			return;
		}
		const ping =
			this.options.pingMs > 0
				? setInterval(() => write(': ping\n\n'), this.options.pingMs)
				: undefined;
		if (ping) this.timers.add(ping);
		const listener = (change: 'state' | 'log'): void => {
			if (change === 'log' && !logs) return;
			if (send()) res.end();
		};
		res.on('close', () => {
			if (ping) {
				clearInterval(ping);
				this.timers.delete(ping);
			}
			rt.listeners.delete(listener);
			this.openStreams.delete(res);
		});

		if (mode === 'break') {
			// Send one event, then drop the connection as a misbehaving proxy would.
			write(`data: ${JSON.stringify(this.statusBody(job, logs))}\n\n`, () => {
				const timer = setTimeout(() => {
					this.timers.delete(timer);
					res.socket?.destroy();
				}, 20);
				this.timers.add(timer);
			});
			return;
		}
		if (send()) return void res.end();
		rt.listeners.add(listener);
	}

	private result(res: http.ServerResponse, job: Job | undefined): void {
		if (!job) return sendJson(res, 404, DETAIL.requestNotFound);
		if (job.state === 'CANCELLED') return sendJson(res, 400, DETAIL.cancelled);
		const outcome = this.runtime(job).outcome;
		if ((job.state !== 'COMPLETED' && job.state !== 'EXPIRED') || !outcome)
			return sendJson(res, 400, DETAIL.inProgress);
		job.resultFetchedAt ??= performance.now();
		const { billableUnits } = this.options;
		const units = typeof billableUnits === 'function' ? billableUnits(job.input) : billableUnits;
		const billed = outcome.status === 200 && units !== undefined;
		sendJson(res, outcome.status, outcome.body, {
			...outcome.headers,
			...(billed ? { 'X-Fal-Billable-Units': units } : {}),
		});
	}

	private cancel(res: http.ServerResponse, job: Job | undefined): void {
		if (!job) return sendJson(res, 404, { status: 'NOT_FOUND' });
		switch (job.state) {
			case 'IN_QUEUE':
				// A queued job is removed from the queue.
				this.clearJobTimers(this.runtime(job));
				job.state = 'CANCELLED';
				this.notify(job, 'state');
				return sendJson(res, 202, { status: 'CANCELLATION_REQUESTED' });
			case 'IN_PROGRESS':
				// A running job is only signalled; this fake lets it complete, as fal may.
				return sendJson(res, 202, { status: 'CANCELLATION_REQUESTED' });
			default:
				// GUESS for CANCELLED: a cancelled request counts as completed.
				return sendJson(res, 400, { status: 'ALREADY_COMPLETED' });
		}
	}

	/** The status JSON shared by GET .../status and the stream's events. */
	private statusBody(job: Job, withLogs: boolean): Record<string, unknown> & { status: string } {
		const rt = this.runtime(job);
		const urls = this.urlsOf(job);
		switch (job.state) {
			case 'IN_QUEUE':
				return {
					status: 'IN_QUEUE',
					request_id: job.id,
					queue_position: this.queuePosition(job),
					...urls,
				};
			case 'IN_PROGRESS':
				return {
					status: 'IN_PROGRESS',
					request_id: job.id,
					logs: withLogs ? rt.logs : null,
					...urls,
				};
			case 'COMPLETED':
				if (job.failure?.terminal) {
					// A gateway's own terminal status (fal has none): its words in `error`.
					return {
						status: job.failure.terminal,
						request_id: job.id,
						error: job.failure.error,
						...urls,
					};
				}
				return {
					status: 'COMPLETED',
					request_id: job.id,
					logs: withLogs ? rt.logs : null,
					metrics: { inference_time: job.runMs / 1000 },
					...urls,
					// fal has no FAILED status: an infrastructure failure is COMPLETED with error fields.
					// A validation failure (422) only shows when the result is fetched.
					...(job.failure ? { error: job.failure.error, error_type: job.failure.error_type } : {}),
				};
			case 'CANCELLED':
				// GUESS: fal has no CANCELLED status; we report COMPLETED with an error so pollers stop.
				return {
					status: 'COMPLETED',
					request_id: job.id,
					logs: withLogs ? rt.logs : null,
					metrics: {},
					...urls,
					error: DETAIL.cancelled.detail,
					error_type: 'request_cancelled',
				};
			case 'EXPIRED':
				// GUESS: the status of a job dropped at its start deadline is undocumented; like a 422, its failure
				// shows when the result is fetched (504 with X-Fal-Request-Timeout-Type: user).
				return {
					status: 'COMPLETED',
					request_id: job.id,
					logs: withLogs ? rt.logs : null,
					metrics: {},
					...urls,
				};
		}
	}

	/** Only `{owner}/{app}` of the endpoint: fal drops the sub-path. */
	private urlsOf(job: Job): { response_url: string; status_url: string; cancel_url: string } {
		const responseUrl = `${this.publicBase()}/${appIdOf(job.endpoint)}/requests/${job.id}`;
		const query = this.options.gateway.query ? `?${this.options.gateway.query}` : '';
		return {
			response_url: `${responseUrl}${query}`,
			status_url: `${responseUrl}/status${query}`,
			cancel_url: `${responseUrl}/cancel${query}`,
		};
	}

	/** Queued jobs submitted before this one. */
	private queuePosition(job: Job): number {
		let ahead = 0;
		for (const other of this.jobs.values()) {
			if (other === job) break;
			if (other.state === 'IN_QUEUE') ahead++;
		}
		return ahead;
	}

	// -----------------------------------------------------------------------------------------
	// Platform API
	// -----------------------------------------------------------------------------------------

	/**
	 * GET /v1/models/pricing?endpoint_id=a,b: the price per image of each known endpoint. GUESS: an unknown id is
	 * left out of `prices` (fal's page does not say); no paging, as the node asks for a handful of ids.
	 */
	private pricing(
		res: http.ServerResponse,
		method: string,
		path: string,
		query: URLSearchParams,
	): void {
		if (path !== '/v1/models/pricing') return sendJson(res, 404, DETAIL.notFound);
		if (method !== 'GET') return sendJson(res, 405, DETAIL.methodNotAllowed);
		const ids = (query.get('endpoint_id') ?? '')
			.split(',')
			.map((id) => id.trim())
			.filter(Boolean);
		if (ids.length < 1 || ids.length > 50)
			return sendJson(res, 400, { detail: 'endpoint_id: give 1 to 50 ids' });
		const prices = ids
			.filter((id) => this.options.prices[id] !== undefined)
			.map((id) => ({
				endpoint_id: id,
				unit_price: this.options.prices[id],
				unit: this.options.priceUnits[id] ?? 'image',
				currency: 'USD',
			}));
		sendJson(res, 200, { prices, next_cursor: null, has_more: false });
	}

	// -----------------------------------------------------------------------------------------
	// CDN
	// -----------------------------------------------------------------------------------------

	/** GET /files/{request id}/{n}.{png|jpg}: the bytes of a completed job's image; no auth. */
	private serveFile(req: http.IncomingMessage, res: http.ServerResponse, path: string): void {
		const uploaded = this.uploadedFile(`${this.cdnUrl}${path}`);
		if (uploaded?.bytes) {
			res.writeHead(200, {
				'content-type': uploaded.contentType,
				'content-length': String(uploaded.bytes.length),
			});
			return void res.end(req.method === 'HEAD' ? undefined : uploaded.bytes);
		}
		const m = /^\/files\/([^/]+)\/(\d+)\.(png|jpg)$/.exec(path);
		const rt = m ? this.runtimes.get(m[1]) : undefined;
		const image = m && rt?.outcome?.files[Number(m[2])];
		if (!m || !image || image.extension !== m[3]) return sendJson(res, 404, DETAIL.notFound);
		if (req.method !== 'GET' && req.method !== 'HEAD')
			return sendJson(res, 405, DETAIL.methodNotAllowed);
		const file = image.file();
		res.writeHead(200, {
			'content-type': file.contentType,
			'content-length': String(file.bytes.length),
			'cache-control': 'public, max-age=3600',
		});
		res.end(req.method === 'HEAD' ? undefined : file.bytes);
	}

	// -----------------------------------------------------------------------------------------
	// Storage
	// -----------------------------------------------------------------------------------------

	/** POST /storage/upload/initiate[-multipart]?storage_type=fal-cdn-v3 {content_type, file_name}. */
	private initiateUpload(
		res: http.ServerResponse,
		path: string,
		query: URLSearchParams,
		json: { ok: boolean; value: unknown },
	): void {
		// GUESS: fal's answers to a missing storage type and to a body without its two fields.
		if (query.get('storage_type') !== 'fal-cdn-v3')
			return sendJson(res, 400, { detail: 'Unsupported storage_type' });
		const body = json.value;
		if (
			!isPlainObject(body) ||
			typeof body.content_type !== 'string' ||
			typeof body.file_name !== 'string' ||
			!body.file_name
		) {
			return sendJson(res, 422, {
				detail: [{ loc: ['body', 'file_name'], msg: 'Field required', type: 'missing' }],
			});
		}
		const id = randomUUID();
		const upload: Upload = {
			id,
			contentType: body.content_type,
			fileName: body.file_name,
			multipart: path.endsWith('-multipart'),
			// GUESS: the shape of the pre-signed URL (fal's is on another host, with its signature in the query).
			uploadUrl: `${this.cdnUrl}/upload/${id}?signature=${SIGNATURE}`,
			fileUrl: `${this.cdnUrl}/files/uploads/${id}/${encodeURIComponent(body.file_name)}`,
			parts: new Map(),
		};
		this.uploads.set(id, upload);
		sendJson(res, 200, { upload_url: upload.uploadUrl, file_url: upload.fileUrl });
	}

	/** PUT {cdn}/upload/{id}[/{part}]?signature=...: the bytes, without Authorization. */
	private receiveUpload(
		req: http.IncomingMessage,
		res: http.ServerResponse,
		path: string,
		query: URLSearchParams,
		raw: Buffer,
	): void {
		const m = /^\/upload\/([^/]+)(?:\/(\d+))?$/.exec(path);
		const upload = m ? this.uploads.get(m[1]) : undefined;
		// GUESS: a bad signature is a 403 as on fal's object store.
		if (!upload || query.get('signature') !== SIGNATURE)
			return sendJson(res, 403, { detail: 'Invalid or expired upload URL' });
		if (req.headers.authorization !== undefined)
			return sendJson(res, 400, { detail: 'Pre-signed URLs take no Authorization header' });
		const declared = Number(req.headers['content-length']);
		if (!Number.isFinite(declared) || declared !== raw.length)
			return sendJson(res, 400, { detail: 'Content-Length missing or wrong' });
		if (m?.[2] !== undefined) {
			if (!upload.multipart) return sendJson(res, 404, DETAIL.notFound);
			const partNumber = Number(m[2]);
			upload.parts.set(partNumber, raw);
			return sendJson(res, 200, { partNumber, etag: `"etag-${partNumber}-${raw.length}"` });
		}
		if (upload.multipart) return sendJson(res, 404, DETAIL.notFound);
		upload.bytes = raw;
		upload.putContentType =
			typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : undefined;
		res.writeHead(200, { 'content-length': '0' });
		res.end();
	}

	/** POST {cdn}/upload/{id}/complete?signature=... {parts}: joins the parts in the order given. */
	private completeMultipart(
		res: http.ServerResponse,
		path: string,
		query: URLSearchParams,
		json: { ok: boolean; value: unknown },
	): void {
		const m = /^\/upload\/([^/]+)\/complete$/.exec(path);
		const upload = m ? this.uploads.get(m[1]) : undefined;
		if (!upload || !upload.multipart || query.get('signature') !== SIGNATURE)
			return sendJson(res, 403, { detail: 'Invalid or expired upload URL' });
		const parts =
			isPlainObject(json.value) && Array.isArray(json.value.parts)
				? (json.value.parts as Array<{ partNumber?: unknown; etag?: unknown }>)
				: [];
		const buffers: Buffer[] = [];
		for (const [index, part] of parts.entries()) {
			const bytes = upload.parts.get(Number(part.partNumber));
			const expected = bytes && `"etag-${part.partNumber}-${bytes.length}"`;
			if (!bytes || part.etag !== expected || part.partNumber !== index + 1) {
				return sendJson(res, 400, {
					detail: `Part ${String(part.partNumber)} is missing or its etag is wrong`,
				});
			}
			buffers.push(bytes);
		}
		if (buffers.length === 0 || buffers.length !== upload.parts.size)
			return sendJson(res, 400, { detail: 'Parts missing' });
		upload.bytes = Buffer.concat(buffers);
		upload.parts.clear();
		sendJson(res, 200, { file_url: upload.fileUrl });
	}

	/** The upload a file URL of this fake's CDN names, if any. */
	private uploadedFile(url: string): Upload | undefined {
		const m = /\/files\/uploads\/([^/]+)\//.exec(url);
		const upload = m && url.startsWith(`${this.cdnUrl}/`) ? this.uploads.get(m[1]) : undefined;
		return upload;
	}

	/** What fal's runner would download for the job's image inputs (GUESS: fal fetches them as the job is taken). */
	private fetchInputImages(input: Record<string, unknown>): InputImage[] {
		const urls = [
			input.image_url,
			...(Array.isArray(input.image_urls) ? input.image_urls : []),
			input.mask_url,
			input.reference_image_url,
		].filter((u): u is string => typeof u === 'string');
		return urls.map((url): InputImage => {
			if (url.startsWith('data:')) {
				const m = /^data:([^;,]*)(?:;[^,]*)?,(.*)$/s.exec(url);
				return {
					url,
					source: 'data-url',
					contentType: m?.[1],
					bytes: m ? Buffer.from(m[2], 'base64') : undefined,
				};
			}
			const upload = this.uploadedFile(url);
			if (upload)
				return {
					url,
					source: 'uploaded',
					contentType: upload.putContentType ?? upload.contentType,
					bytes: upload.bytes,
				};
			return { url, source: 'not-fetched' };
		});
	}

	// -----------------------------------------------------------------------------------------
	// Webhooks
	// -----------------------------------------------------------------------------------------

	/** One signed POST of the outcome to the job's `fal_webhook` (fal retries; this fake does not). Never throws. */
	private deliverWebhook(job: Job, url: string, outcome: Outcome): void {
		const body = this.signer.deliveryBody(job.id, outcome);
		const rawBody = JSON.stringify(body);
		const headers = this.signer.headersFor(job.id, rawBody);
		const delivery: WebhookDelivery = { url, body, rawBody, headers };
		const generation = this.generation;
		const attempt = (async () => {
			try {
				const response = await undiciRequest(url, {
					method: 'POST',
					dispatcher: this.webhookAgent,
					// No keep-alive: the receiver (often a test's own server) can close without waiting.
					reset: true,
					headers: { 'content-type': 'application/json', ...headers },
					body: rawBody,
				});
				delivery.status = response.statusCode;
				await response.body.dump();
			} catch (error) {
				delivery.error = (error as Error)?.message || String(error);
			}
			if (generation === this.generation) this.webhooks.push(delivery);
		})();
		this.deliveries.add(attempt);
		void attempt.finally(() => this.deliveries.delete(attempt));
	}

	// -----------------------------------------------------------------------------------------
	// Helpers
	// -----------------------------------------------------------------------------------------

	private runtime(job: Job): JobRuntime {
		const rt = this.runtimes.get(job.id);
		if (!rt) throw new Error(`no runtime for job ${job.id}`);
		return rt;
	}

	/** A tracked timer belonging to a job; cleared by cancel, reset and stop. */
	private after(job: Job, ms: number, fn: () => void): void {
		const rt = this.runtime(job);
		const timer = setTimeout(
			() => {
				this.timers.delete(timer);
				rt.timers.delete(timer);
				fn();
			},
			Math.max(0, ms),
		);
		this.timers.add(timer);
		rt.timers.add(timer);
	}

	private clearJobTimers(rt: JobRuntime): void {
		for (const timer of rt.timers) {
			clearTimeout(timer);
			this.timers.delete(timer);
		}
		rt.timers.clear();
	}

	private addLog(job: Job, message: string): void {
		this.runtime(job).logs.push({
			message,
			level: 'INFO',
			source: 'user',
			timestamp: new Date().toISOString(),
		});
	}

	private notify(job: Job, change: 'state' | 'log'): void {
		for (const listener of [...this.runtime(job).listeners]) listener(change);
	}
}

type Listener = 'queue' | 'cdn' | 'platform' | 'storage';

/** `X-Fal-Request-Timeout` in seconds; undefined when absent. GUESS: fal answers 400 for a bad value; here it is ignored. */
function startTimeoutOf(headers: http.IncomingHttpHeaders): number | undefined {
	const value = Number(headers['x-fal-request-timeout']);
	return headers['x-fal-request-timeout'] !== undefined && Number.isFinite(value) && value > 0
		? value
		: undefined;
}

/** `?logs=1` (fal's clients send 1/0; true is accepted too). */
function wantsLogs(query: URLSearchParams): boolean {
	const value = query.get('logs');
	return value === '1' || value === 'true';
}
