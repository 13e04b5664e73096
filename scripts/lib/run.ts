/**
 * The test harness's `runWorkflow` (n8n-core's real WorkflowExecute), pointed at this repository's
 * built package. Compiled, the harness lives in `.build/test/support/`, where its default
 * REPO_ROOT would be `.build/`: the scripts always pass the real root and the node type.
 */
import { performance } from 'node:perf_hooks';

import { runWorkflow, type RunOptions, type RunResult } from '../../test/support/engine';
import { findRepoRoot, NODE_TYPE } from './repo';

export const REPO_ROOT = findRepoRoot();

export function runNode(opts: Omit<RunOptions, 'packageDir' | 'nodeType'>): Promise<RunResult> {
	return runWorkflow({ ...opts, packageDir: REPO_ROOT, nodeType: NODE_TYPE });
}

type ExecutionEndListener = (at: number) => void;
const endListeners = new Set<ExecutionEndListener>();
let hooked = false;

/**
 * Calls `listener` (with performance.now()) when n8n's `WorkflowExecute` settles, i.e. before the
 * harness reads the output back (which copies every binary once more). Returns an unsubscribe.
 */
export function onExecutionEnd(listener: ExecutionEndListener): () => void {
	if (!hooked) {
		hooked = true;
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const { WorkflowExecute } = require('n8n-core') as typeof import('n8n-core');
		const proto = WorkflowExecute.prototype as unknown as Record<
			string,
			(...args: unknown[]) => PromiseLike<unknown>
		>;
		const original = proto.processRunExecutionData;
		proto.processRunExecutionData = function (this: unknown, ...args: unknown[]) {
			const promise = original.apply(this, args);
			const settled = () => {
				const at = performance.now();
				for (const l of [...endListeners]) l(at);
			};
			promise.then(settled, settled);
			return promise;
		};
	}
	endListeners.add(listener);
	return () => endListeners.delete(listener);
}
