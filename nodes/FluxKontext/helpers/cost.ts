import type { IDataObject, IExecuteFunctions, INode, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { Operation } from '../fal/endpoints';
import { detailText } from '../fal/detail';
import type { PriceUnit } from '../fal/pricing';
import { pricesFromAnswer } from '../fal/pricing';
import type { FalClient } from '../transport';
import type { PricedJob } from './pricedJob';
import { pricedJob } from './pricedJob';
import { InputChecker, isSet } from './validation';

/**
 * What a run will cost before it spends anything: each item's images x its endpoint's price per
 * image (or x each image's megapixels, for an endpoint fal prices per megapixel), the price read
 * once per execution from fal's Platform API (or the credential's Price per Image), and the Max
 * Cost guard that refuses the whole run before any item submits.
 */

export type PriceSource = 'fal-pricing-api' | 'credential';

/**
 * The `cost_estimate` of an output item (node-contract.md). A price per megapixel adds `unit`,
 * `megapixels` (of each image) and, where the output size is not known before the job, `assumed`.
 */
export interface CostEstimate extends IDataObject {
	amount: number;
	currency: 'USD';
	unit_price: number;
	images: number;
	source: PriceSource;
	unit?: 'megapixel';
	megapixels?: number;
	assumed?: string;
}

interface Price {
	unitPrice: number;
	unit: PriceUnit;
	source: PriceSource;
}

/** The image operations, which submit paid jobs; the others cost nothing. */
const PAID_OPERATIONS: Record<string, Operation> = {
	edit: 'edit',
	textToImage: 'textToImage',
	inpaint: 'inpaint',
};

/** Why a run refused to start, for every item alike: nothing is submitted. */
interface Refusal {
	message: string;
	description: string;
}

/**
 * The estimates of one execution's items, and the budget verdict every item checks before it
 * submits.
 */
export class ExecutionCost {
	constructor(
		private readonly node: INode,
		private readonly estimates: Array<CostEstimate | undefined>,
		private readonly refusal?: Refusal,
	) {}

	/** Throws the Max Cost refusal (the same for every item: a refused run submits nothing). */
	admit(itemIndex: number): void {
		if (this.refusal)
			throw new NodeOperationError(this.node, this.refusal.message, {
				description: this.refusal.description,
				itemIndex,
			});
	}

	/** A finished or handed-off item with its `cost_estimate`, when a price is known. */
	annotate(output: INodeExecutionData, itemIndex: number): INodeExecutionData {
		const estimate = this.estimates[itemIndex];
		return estimate ? { ...output, json: { ...output.json, cost_estimate: estimate } } : output;
	}
}

/**
 * What an estimate needs of the execution: its context, its client, and the signal that Stop and
 * the halt abort (the price request ends with it).
 */
export interface CostContext {
	readonly ctx: IExecuteFunctions;
	readonly client: FalClient;
	readonly interrupt: AbortSignal;
}

/**
 * Estimates every item of the execution before any of them runs, and decides the Max Cost guard.
 * Makes at most one request: the prices of the endpoints the items use, from fal's Platform API,
 * when one applies.
 */
export async function estimateExecution(
	execution: CostContext,
	itemCount: number,
): Promise<ExecutionCost> {
	const { ctx } = execution;
	const node = ctx.getNode();
	const operation =
		ctx.getNodeParameter('resource', 0) === 'image'
			? PAID_OPERATIONS[ctx.getNodeParameter('operation', 0) as string]
			: undefined;
	if (!operation) return new ExecutionCost(node, []);
	const jobs = Array.from({ length: itemCount }, (_, itemIndex) =>
		pricedJob(ctx, itemIndex, operation),
	);
	const endpoints = [...new Set(jobs.flatMap((job) => (job ? [job.endpoint] : [])))];
	const { prices, why } = await lookUpPrices(execution, endpoints);
	const estimates = jobs.map((job) => {
		const price = job && prices.get(job.endpoint);
		return job && price ? estimateOf(job, price) : undefined;
	});
	return new ExecutionCost(node, estimates, budgetRefusal(ctx, jobs, estimates, why));
}

/**
 * The price per image of each endpoint: fal's Platform API where it answers, else the credential's
 * Price per Image. `why` says why some endpoint has no price.
 */
async function lookUpPrices(
	execution: CostContext,
	endpoints: string[],
): Promise<{ prices: Map<string, Price>; why?: string }> {
	const { ctx, client } = execution;
	const prices = new Map<string, Price>();
	if (!endpoints.length) return { prices };
	let why: string;
	try {
		// Stop ends the request at once (the pool then starts nothing).
		const answer = await client.prices(endpoints, { itemIndex: 0, signal: execution.interrupt });
		if (!answer) {
			why =
				"the Base URL is not fal's own host and the credential has no Platform URL, so fal's " +
				'pricing API is not asked';
		} else if (answer.statusCode >= 200 && answer.statusCode < 300) {
			for (const [endpoint, unitPrice, unit] of pricesFromAnswer(answer.body)) {
				if (endpoints.includes(endpoint))
					prices.set(endpoint, { unitPrice, unit, source: 'fal-pricing-api' });
			}
			why =
				`fal's pricing API gave no price per image or megapixel in USD for ` +
				`${endpoints.filter((e) => !prices.has(e)).join(', ')}`;
		} else {
			const detail = detailText(answer.body);
			why =
				`fal's pricing API answered ` +
				`${answer.statusCode}${detail ? ` (${client.redact(detail.slice(0, 200))})` : ''}`;
			if (answer.statusCode === 401 || answer.statusCode === 403)
				why += '; reading prices may need an Admin API key';
		}
	} catch (error) {
		why =
			`fal's pricing API could not be asked: ` +
			`${client.redact(error instanceof Error ? error.message : String(error))}`;
	}
	if (prices.size === endpoints.length) return { prices };
	ctx.logger.debug(`FLUX Kontext: no price from fal's pricing API: ${why}`);
	const fromCredential = credentialPrice(client.credentialField('pricePerImage'));
	if (fromCredential === undefined)
		return { prices, why: `${why}, and the credential has no Price per Image` };
	for (const endpoint of endpoints)
		if (!prices.has(endpoint))
			prices.set(endpoint, { unitPrice: fromCredential, unit: 'image', source: 'credential' });
	return { prices };
}

/** The credential's Price per Image, when it is a usable number. */
function credentialPrice(value: unknown): number | undefined {
	const price = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
	return typeof price === 'number' && Number.isFinite(price) && price >= 0 ? price : undefined;
}

function estimateOf(job: PricedJob, price: Price): CostEstimate {
	const perImage = price.unit === 'megapixel' ? job.megapixels : 1;
	return {
		amount: roundUsd(job.images * perImage * price.unitPrice),
		currency: 'USD',
		unit_price: price.unitPrice,
		images: job.images,
		source: price.source,
		...(price.unit === 'megapixel'
			? {
					unit: 'megapixel' as const,
					megapixels: roundUsd(job.megapixels),
					...(job.assumed ? { assumed: job.assumed } : {}),
				}
			: {}),
	};
}

/**
 * The Max Cost verdict for the whole execution (read from the first item, like every node-wide
 * setting): a refusal when the estimated total exceeds it, or when some item that would submit has
 * no estimate.
 */
function budgetRefusal(
	ctx: IExecuteFunctions,
	jobs: Array<PricedJob | undefined>,
	estimates: Array<CostEstimate | undefined>,
	why: string | undefined,
): Refusal | undefined {
	const options = ctx.getNodeParameter('options', 0, {}) as IDataObject;
	if (!isSet(options, 'maxCost')) return undefined;
	const value = options.maxCost;
	let maxCost: number;
	try {
		maxCost = new InputChecker(ctx.getNode(), 0).number('Max Cost', value, { min: 0 });
	} catch (error) {
		return {
			message: (error as NodeOperationError).message,
			description: String((error as NodeOperationError).description),
		};
	}
	const limit = formatUsd(maxCost);
	if (jobs.some((job, i) => job && !estimates[i])) {
		return {
			message:
				`Max Cost: the cost of this run cannot be estimated, so nothing was submitted ` +
				`(limit ${limit})`,
			description:
				`No price is known: ${why ?? 'unknown reason'}. Set Price per Image in the ` +
				`credential, or remove Max Cost to run without a budget.`,
		};
	}
	const known = estimates.filter((estimate): estimate is CostEstimate => estimate !== undefined);
	const total = roundUsd(known.reduce((sum, estimate) => sum + estimate.amount, 0));
	if (total <= maxCost) return undefined;
	const images = known.reduce((sum, estimate) => sum + estimate.images, 0);
	const unitPrices = [
		...new Set(
			known.map(
				(estimate) =>
					`${formatUsd(estimate.unit_price)} per ` +
					`${estimate.unit === 'megapixel' ? 'megapixel' : 'image'}`,
			),
		),
	];
	const assumed = [...new Set(known.flatMap((estimate) => estimate.assumed ?? []))];
	const sources = [
		...new Set(
			known.map((estimate) =>
				estimate.source === 'credential' ? "the credential's Price per Image" : "fal's pricing API",
			),
		),
	];
	return {
		message:
			`Max Cost: this run would cost about ${formatUsd(total)}, more than the limit of ` +
			`${limit}; nothing was submitted`,
		description:
			`${known.length} item(s), ${images} image(s) at ${unitPrices.join(' or ')} ` +
			`(from ${sources.join(' and ')})` +
			`${assumed.length ? `, assuming ${assumed.join('; ')}` : ''}. ` +
			'Lower Number of Images, split the input into smaller runs, or raise Max Cost.',
	};
}

/** Amounts to a millionth of a dollar: 3 x 0.04 is 0.12, not 0.12000000000000001. */
function roundUsd(amount: number): number {
	return Math.round(amount * 1e6) / 1e6;
}

/** $0.48, $0.035, $12.00 */
export function formatUsd(amount: number): string {
	const text = amount.toFixed(6).replace(/0+$/, '');
	const [whole, cents = ''] = text.split('.');
	return `$${whole}.${cents.padEnd(2, '0')}`;
}
