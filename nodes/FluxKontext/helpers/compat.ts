import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

/**
 * The oldest n8n this node runs correctly on, and why (the README's "Supported n8n versions" says
 * the same). The floor is set by what the package reads when n8n loads it: `NodeConnectionTypes`,
 * which n8n-workflow exports from 1.83 (n8n 1.85); older n8n cannot load the node at all. Above it,
 * what differs between versions is detected, never read off a version number:
 * - waits: `sleep(ms, signal)` (2.34+), `sleepWithAbort` (n8n 1.101 to 2.33), or a plain `sleep`
 *   raced against the signal (older): transport/sleep.ts. Stop and timeouts end every wait on all.
 * - the credential test: 401 and 403 through `ignoreHttpStatusErrors: { ignore, except }` on n8n
 *   2.x, through fal's 401 body on 1.x, where `except` is unknown (credentials/).
 * - the execution cancel signal, checked below: present on every n8n above the floor, so a core
 *   without it is not one this node knows.
 */
export const LOWEST_SUPPORTED_N8N = '1.85.4';

/** What the running n8n lacks of what the node relies on; empty when nothing. */
export function missingCoreFeatures(
	ctx: Partial<Pick<IExecuteFunctions, 'getExecutionCancelSignal'>>,
): string[] {
	const missing: string[] = [];
	if (typeof ctx.getExecutionCancelSignal !== 'function')
		missing.push('the execution cancel signal (Stop could not end its waits)');
	return missing;
}

/**
 * Fails the execution with a clear message on an n8n core too old for the node (instead of
 * misbehaving).
 */
export function assertSupportedCore(ctx: IExecuteFunctions): void {
	const missing = missingCoreFeatures(ctx);
	if (missing.length === 0) return;
	throw new NodeOperationError(
		ctx.getNode(),
		`FLUX Kontext needs n8n ${LOWEST_SUPPORTED_N8N} or newer: ` +
			`this n8n lacks ${missing.join(' and ')}`,
		{
			description:
				`Update n8n to ${LOWEST_SUPPORTED_N8N} or later ` +
				'(Settings > About n8n shows the version in use).',
		},
	);
}
