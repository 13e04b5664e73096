import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import type { FalClient } from '../transport';
import { anySignal } from '../transport/signals';
import type { ServerTraits } from './follow';
import { Ledger } from './ledger';

/** Why an item's wait ended early. */
export type Interruption = 'stopped' | 'batch' | 'timeout';

/**
 * One run of the node over its input items: the fal client, what was learned about the server, the
 * jobs submitted and their fates, and the one signal that interrupts every item. Items run
 * concurrently; each follows its own job (job/lifecycle.ts).
 */
export class Execution {
	readonly traits: ServerTraits = {};
	readonly ledger = new Ledger();
	/**
	 * Run by an AI Agent (n8n runs a usableAsTool node under the type name `<name>Tool`): answer
	 * compactly.
	 */
	readonly asTool: boolean;
	/**
	 * Aborts on Stop or on the batch halt. Being a signal, it also holds for whoever looks after the
	 * fact: an item that starts, submits or waits after the halt sees it aborted at once.
	 */
	readonly interrupt: AbortSignal;
	private readonly stop: AbortSignal | undefined;
	private readonly halter = new AbortController();

	constructor(
		readonly ctx: IExecuteFunctions,
		readonly client: FalClient,
	) {
		this.asTool = ctx.getNode().type.endsWith('Tool');
		this.stop = ctx.getExecutionCancelSignal();
		this.interrupt = anySignal(this.stop, this.halter.signal);
	}

	/**
	 * True once the execution was stopped or an item failed without Continue On Fail: submit nothing
	 * more.
	 */
	get halted(): boolean {
		return this.interrupt.aborted;
	}

	get stopped(): boolean {
		return !!this.stop?.aborted;
	}

	/** The item failure that halted the execution: the node fails with it. */
	private cause: { error: NodeApiError | NodeOperationError; itemIndex: number } | undefined;

	/**
	 * An item fails without Continue On Fail: the first such failure is the node's, and it halts the
	 * other items (those waiting cancel their jobs, those submitting cancel what they submitted, the
	 * rest never submit). Called as early as the failure is known, before its own cancel goes out, so
	 * that nothing more is submitted meanwhile.
	 */
	fail(error: NodeApiError | NodeOperationError, itemIndex: number): void {
		this.cause ??= { error, itemIndex };
		this.halter.abort(new Error('another item failed'));
	}

	/** Whether an item failed without Continue On Fail. */
	get failed(): boolean {
		return this.cause !== undefined;
	}

	/**
	 * Whether this execution submitted the job (Get Result follows jobs submitted elsewhere: never
	 * cancelled on Stop or the halt).
	 */
	owns(requestId: string): boolean {
		return this.ledger.has(requestId);
	}

	/** Why a signal derived from `interrupt` and an item's Timeout aborted. */
	interruption(): Interruption {
		if (this.stopped) return 'stopped';
		return this.halter.signal.aborted ? 'batch' : 'timeout';
	}

	/**
	 * The error the node fails with: the first item's, its description completed with every job this
	 * execution submitted and what became of it.
	 */
	failure(): NodeApiError | NodeOperationError {
		const { error } = this.cause ?? {
			error: new NodeOperationError(this.ctx.getNode(), 'The execution was stopped'),
		};
		if (this.ledger.size > 0)
			error.description = [error.description, this.accounting()].filter(Boolean).join('\n\n');
		return error;
	}

	/**
	 * After a Stop, n8n shows neither the node's error nor its output: the accounting goes to n8n's
	 * log.
	 */
	reportStop(): void {
		if (this.stopped && this.ledger.size > 0)
			this.ctx.logger.warn(`FLUX Kontext: the execution was stopped. ${this.accounting()}`);
	}

	private accounting(): string {
		return this.client.redact(this.ledger.describe());
	}
}

/** Any error as an n8n error of this item (fal errors are already NodeApiErrors). */
export function asNodeError(
	ctx: IExecuteFunctions,
	error: unknown,
	itemIndex: number,
): NodeOperationError | NodeApiError {
	if (error instanceof NodeOperationError || error instanceof NodeApiError) return error;
	return new NodeOperationError(ctx.getNode(), error instanceof Error ? error : String(error), {
		itemIndex,
	});
}
