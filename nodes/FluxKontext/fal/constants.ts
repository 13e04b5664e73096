/**
 * Facts about fal's FLUX.1 Kontext models that the node's fields, validation and requests share.
 */

/**
 * fal app id of the [pro] and [max] endpoints, the Request resource's default (endpoints.ts has
 * every endpoint's): status, result and cancel URLs use only the app id, never the sub-path.
 */
export const FAL_APP = 'fal-ai/flux-pro';

export const DEFAULT_BASE_URL = 'https://queue.fal.run';

/**
 * fal's Platform API (prices), used when the Base URL is fal's own host and the credential names no
 * other.
 */
export const DEFAULT_PLATFORM_URL = 'https://api.fal.ai';

export const ASPECT_RATIOS = [
	'21:9',
	'16:9',
	'4:3',
	'3:2',
	'1:1',
	'2:3',
	'3:4',
	'9:16',
	'9:21',
] as const;
export const OUTPUT_FORMATS = ['jpeg', 'png'] as const;
export const SAFETY_TOLERANCES = ['1', '2', '3', '4', '5', '6'] as const;

/** Image types fal accepts as input (seed 000), by MIME type. */
export const ACCEPTED_IMAGE_TYPES: Record<string, string> = {
	'image/jpeg': 'jpg',
	'image/jpg': 'jpg',
	'image/png': 'png',
	'image/webp': 'webp',
	'image/gif': 'gif',
	'image/avif': 'avif',
};

export const LIMITS = {
	guidanceScale: { min: 1, max: 20 },
	numImages: { min: 1, max: 4 },
	numInferenceSteps: { min: 10, max: 50 },
	strength: { min: 0.01, max: 1 },
	/** `random` (the Seed field's default) sends no seed: fal picks one and returns it. */
	seed: { min: 0, max: Number.MAX_SAFE_INTEGER, random: -1 },
	maxConcurrency: { min: 1, max: 50, default: 10 },
	/**
	 * Seconds to wait for a job, by default. Kontext jobs take seconds; queues can take minutes. At
	 * most 24 days: timers hold 2^31 - 1 ms (24.8 days); a longer one would fire at once.
	 */
	timeout: { min: 1, max: 2_073_600, default: 600 },
	/**
	 * fal's multi endpoints take several images; fal documents no upper bound, so we keep a sane one.
	 */
	images: { max: 10 },
} as const;

export const CREDENTIAL_NAME = 'fluxKontextApi';

/** fal's optional request headers ("Platform Headers"), by what they do. */
export const FAL_HEADERS = {
	/**
	 * Seconds within which the job must start; past it fal answers 504 with the type header below,
	 * unbilled.
	 */
	startTimeout: 'X-Fal-Request-Timeout',
	startTimeoutType: 'X-Fal-Request-Timeout-Type',
	storeIo: 'X-Fal-Store-IO',
	mediaLifecycle: 'X-Fal-Object-Lifecycle-Preference',
	priority: 'X-Fal-Queue-Priority',
	/** fal's spelling (its "Platform Headers" page): no rerouting to an equivalent endpoint. */
	disableFallback: 'x-app-fal-disable-fallback',
} as const;

export const QUEUE_PRIORITIES = ['normal', 'low'] as const;
