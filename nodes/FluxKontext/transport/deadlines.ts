import type { Operation } from '../fal/answer';

/**
 * How long one exchange may take before it counts as a failed attempt (a stall): until the whole
 * answer for JSON calls, until the headers for streams and downloads, whose bodies then have an
 * idle deadline. fal answers these in well under a second; the margins are for gateways and busy
 * networks. The item's Timeout and Stop end every exchange sooner.
 */
export const DEADLINES_MS: Record<Operation, number> = {
	submit: 60_000,
	status: 30_000,
	stream: 30_000,
	result: 60_000,
	cancel: 15_000,
	download: 30_000,
	// Prices are a nicety with a fallback: a Platform API that does not answer soon must not hold up
	// the run.
	pricing: 10_000,
	initiate: 30_000,
	// A PUT's base; it grows with the bytes sent (UPLOAD_MIN_BYTES_PER_S), as a PUT's answer comes
	// after its body.
	upload: 60_000,
};

/**
 * The slowest upload link a PUT is given time for: 256 kB/s (a 90 MB file: 60 s + about 6 minutes).
 */
export const UPLOAD_MIN_BYTES_PER_S = 256_000;

/**
 * Longest silence inside a body: a download between bytes, a status stream between events or pings.
 */
export const IDLE_MS = { download: 30_000, stream: 45_000 } as const;

/**
 * The largest image the node downloads (it is read into memory before n8n stores it): far above any
 * Kontext output.
 */
export const MAX_IMAGE_BYTES = 256_000_000;

/** An upload's deadline: the PUT's base plus the time its bytes take at the slowest link. */
export function uploadDeadlineMs(bytes: number): number {
	const sending =
		Number.isFinite(bytes) && bytes > 0 ? Math.ceil((bytes / UPLOAD_MIN_BYTES_PER_S) * 1000) : 0;
	return DEADLINES_MS.upload + sending;
}
