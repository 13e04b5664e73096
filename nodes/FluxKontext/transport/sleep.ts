import * as workflow from 'n8n-workflow';

/**
 * The node's one way to wait (poll intervals, retry back-offs, read deadlines), on every n8n it
 * supports. n8n-workflow's timers changed twice, and node code may not set its own:
 * - 2.34 and later: `sleep(ms, signal)` honours the signal; `sleepWithAbort` is gone.
 * - 1.98 (n8n 1.101) to 2.33: `sleepWithAbort(ms, signal)`; `sleep(ms)` has no signal.
 * - 1.97 (n8n 1.100) and older: only `sleep(ms)`.
 * The best one present is used (found by what is exported, not by a version number), and the
 * wait is raced against the signal in any case: it ends at once when the signal aborts, rejecting
 * with the signal's reason whichever primitive ran. With `sleep(ms)` alone the timer itself runs
 * on to its end, harmlessly (its outcome is dropped).
 */

/** A sleep as n8n-workflow exports one; a sleep without a signal parameter ignores it. */
export type SleepPrimitive = (ms: number, signal?: AbortSignal) => Promise<void>;

// Looked up by name: a missing export is undefined here, not a crash when the package loads.
const exported = workflow as unknown as Record<string, unknown>;

/** The primitive this n8n-workflow offers that can take a signal, and its name. */
export const sleepPrimitive: { name: string; sleep: SleepPrimitive } =
	typeof exported.sleepWithAbort === 'function'
		? { name: 'sleepWithAbort', sleep: exported.sleepWithAbort as SleepPrimitive }
		: { name: 'sleep', sleep: workflow.sleep as SleepPrimitive };

/**
 * Waits `ms`, or rejects with `signal.reason` as soon as the signal aborts (at once if it already
 * has). `primitive` is for tests: the node always uses `sleepPrimitive`.
 */
export async function sleepUnlessAborted(
	ms: number,
	signal?: AbortSignal,
	primitive: SleepPrimitive = sleepPrimitive.sleep,
): Promise<void> {
	if (!signal) return await primitive(ms);
	signal.throwIfAborted();
	await new Promise<void>((resolve, reject) => {
		// Listening before the primitive does: this rejection, with the signal's reason, comes first.
		const onAbort = () => reject(signal.reason);
		signal.addEventListener('abort', onAbort, { once: true });
		primitive(ms, signal).then(
			() => {
				signal.removeEventListener('abort', onAbort);
				resolve();
			},
			(error: unknown) => {
				signal.removeEventListener('abort', onAbort);
				reject(signal.aborted ? signal.reason : error);
			},
		);
	});
}
