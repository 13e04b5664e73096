/** Shared pieces of the integration tests: a fake fal per test file, credentials pointing at it, and finders. */
import * as path from 'node:path';

import { FakeFal, VALID_TOKEN } from '../support/fake-fal';
import type { FakeFalOptions, RecordedRequest } from '../support/fake-fal';

export { VALID_TOKEN };

/** Starts one fake fal for the file, resets it before each test, stops it after the file. */
export function useFakeFal(options?: FakeFalOptions): { readonly fal: FakeFal } {
	const holder: { fal?: FakeFal } = {};
	beforeAll(async () => {
		holder.fal = await FakeFal.start(options);
	});
	beforeEach(() => holder.fal?.reset());
	afterAll(async () => {
		await holder.fal?.stop();
	});
	return {
		get fal() {
			if (!holder.fal) throw new Error('fake fal not started');
			return holder.fal;
		},
	};
}

export function credentialsFor(
	fal: FakeFal,
	extra: Record<string, unknown> = {},
): Record<string, unknown> {
	return { apiKey: VALID_TOKEN, baseUrl: fal.url, authScheme: 'key', ...extra };
}

/** The queue handle the node outputs for a job, with URLs on the fake's origin (owner/app only, no sub-path). */
export function handleFor(
	fal: FakeFal,
	id: string,
	extra: Record<string, unknown> = {},
): Record<string, unknown> {
	const base = `${fal.url}/fal-ai/flux-pro/requests/${id}`;
	return {
		request_id: id,
		status: 'IN_QUEUE',
		status_url: `${base}/status`,
		response_url: base,
		cancel_url: `${base}/cancel`,
		queue_position: 0,
		...extra,
	};
}

export function requestsOf(fal: FakeFal, kind: RecordedRequest['kind']): RecordedRequest[] {
	return fal.requests.filter((r) => r.kind === kind);
}

/** Parameters of an Edit from a URL, with any overrides. */
export function editParams(overrides: Record<string, unknown> = {}): Record<string, unknown> {
	return {
		resource: 'image',
		operation: 'edit',
		prompt: 'Put a donut next to the flour',
		imageSource: 'url',
		imageUrl: 'https://example.com/kitchen.png',
		...overrides,
	};
}

export function textToImageParams(
	overrides: Record<string, unknown> = {},
): Record<string, unknown> {
	return {
		resource: 'image',
		operation: 'textToImage',
		prompt: 'A lighthouse at dawn, oil painting',
		...overrides,
	};
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
export const isPng = (data: Buffer) => data.subarray(0, 8).equals(PNG_SIGNATURE);
export const isJpeg = (data: Buffer) =>
	data[0] === 0xff &&
	data[1] === 0xd8 &&
	data[data.length - 2] === 0xff &&
	data[data.length - 1] === 0xd9;

/** Waits (bounded) until a condition on the fake server holds, e.g. a cancel that follows a Stop. */
export async function eventually(condition: () => boolean, timeoutMs = 3000): Promise<void> {
	const start = Date.now();
	while (!condition()) {
		if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

/**
 * The built transport's retry policy and per-exchange deadlines, as the node loaded in n8n-core's engine uses them
 * (one module registry per test file). Tests shorten them instead of waiting through real back-off; restored
 * after each test.
 */
export function useTransportSettings(): {
	retry: Record<string, number>;
	deadlines: Record<string, number>;
} {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const { DEFAULT_RETRY } = require(
		path.join(__dirname, '../../dist/nodes/FluxKontext/transport/retry.js'),
	) as { DEFAULT_RETRY: Record<string, number> };
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const { DEADLINES_MS } = require(
		path.join(__dirname, '../../dist/nodes/FluxKontext/transport/deadlines.js'),
	) as { DEADLINES_MS: Record<string, number> };
	const saved = { retry: { ...DEFAULT_RETRY }, deadlines: { ...DEADLINES_MS } };
	afterEach(() => {
		Object.assign(DEFAULT_RETRY, saved.retry);
		Object.assign(DEADLINES_MS, saved.deadlines);
	});
	return { retry: DEFAULT_RETRY, deadlines: DEADLINES_MS };
}

/** Retries without real back-off (a few ms), for tests of what is retried rather than of how long it waits. */
export function useFastRetries(): void {
	const { retry } = useTransportSettings();
	beforeEach(() => Object.assign(retry, { baseMs: 5, maxMs: 20 }));
}
