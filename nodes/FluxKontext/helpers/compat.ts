import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError, sleep } from 'n8n-workflow';

/**
 * The oldest n8n this node runs correctly on, and why (the README's "Supported n8n versions" says
 * the same): n8n-workflow's `sleep(ms, signal)` honours an abort signal only from 2.34.0 (before,
 * Stop and timeouts could not interrupt a wait); the credential test's `ignoreHttpStatusErrors: {
 * ignore, except }` needs 2.9+ (before, a wrong key passed the test); `getExecutionCancelSignal()`
 * is older than both.
 */
export const LOWEST_SUPPORTED_N8N = '2.34.0';

/** What the running n8n lacks of what the node relies on; empty when nothing. */
export async function missingCoreFeatures(
	ctx: Pick<IExecuteFunctions, 'getExecutionCancelSignal'>,
	sleepFn: (ms: number, signal?: AbortSignal) => Promise<void> = sleep,
): Promise<string[]> {
	const missing: string[] = [];
	if (typeof ctx.getExecutionCancelSignal !== 'function')
		missing.push('the execution cancel signal');
	// A sleep that honours its signal rejects at once on an aborted one; an older sleep ignores it
	// and resolves.
	const aborted = new AbortController();
	aborted.abort();
	if (
		await sleepFn(0, aborted.signal).then(
			() => true,
			() => false,
		)
	)
		missing.push('waits that Stop can interrupt');
	return missing;
}

/**
 * Fails the execution with a clear message on an n8n core too old for the node (instead of
 * misbehaving).
 */
export async function assertSupportedCore(ctx: IExecuteFunctions): Promise<void> {
	const missing = await missingCoreFeatures(ctx);
	if (missing.length === 0) return;
	throw new NodeOperationError(
		ctx.getNode(),
		`FLUX Kontext needs n8n ${LOWEST_SUPPORTED_N8N} or newer: this n8n lacks ` +
			`${missing.join(' and ')}`,
		{
			description:
				`Update n8n to ${LOWEST_SUPPORTED_N8N} or later (Settings > About n8n shows ` +
				`the version in use).`,
		},
	);
}
