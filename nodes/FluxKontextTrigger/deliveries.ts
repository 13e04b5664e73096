/**
 * Once per job: the request ids this trigger has already started an execution for. Two records,
 * because n8n gives a webhook no lock: the workflow's static data (saved by n8n after each
 * production call, so it holds across restarts, but each call loads its own copy, and two calls at
 * the same moment may each save without the other's id), and this process's memory (exact for
 * calls it handles, lost on restart). A request id stays remembered for a day (fal retries over two
 * hours), the newest 10,000 at most.
 */
import type { IDataObject } from 'n8n-workflow';

export const REMEMBER_MS = 24 * 60 * 60 * 1000;
export const MAX_REMEMBERED = 10_000;

/** Where the static data keeps them: request id → when it was first delivered (ms). */
const STATIC_KEY = 'deliveredRequests';

const inMemory = new Map<string, Map<string, number>>();

/**
 * Whether `requestId` is delivered for the first time to this trigger (`scope`: its workflow and
 * node); records it when so. Synchronous: no other delivery in this process runs in between.
 */
export function firstDelivery(
	staticData: IDataObject,
	scope: string,
	requestId: string,
	nowMs: number = Date.now(),
): boolean {
	const stored = asRecord(staticData[STATIC_KEY]);
	let memory = inMemory.get(scope);
	if (!memory) inMemory.set(scope, (memory = new Map()));
	const seen = (at: number | undefined) => at !== undefined && nowMs - at < REMEMBER_MS;
	if (seen(memory.get(requestId)) || seen(stored[requestId])) return false;

	memory.set(requestId, nowMs);
	prune(memory, nowMs);
	const kept = Object.entries(stored).filter(([, at]) => nowMs - at < REMEMBER_MS);
	// Assigned whole, so that n8n sees the change and saves it.
	staticData[STATIC_KEY] = Object.fromEntries([
		...kept.slice(Math.max(0, kept.length + 1 - MAX_REMEMBERED)),
		[requestId, nowMs],
	]);
	return true;
}

function asRecord(value: unknown): Record<string, number> {
	if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
	return Object.fromEntries(
		Object.entries(value as Record<string, unknown>).filter(
			(entry): entry is [string, number] => typeof entry[1] === 'number',
		),
	);
}

function prune(memory: Map<string, number>, nowMs: number): void {
	for (const [id, at] of memory) {
		if (memory.size <= MAX_REMEMBERED && nowMs - at < REMEMBER_MS) break;
		memory.delete(id);
	}
}
