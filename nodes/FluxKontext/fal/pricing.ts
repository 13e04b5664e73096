/** fal's pricing API's answer, read: what each endpoint costs, per image or per megapixel. */
import type { IDataObject } from 'n8n-workflow';

/** How fal bills an endpoint, as far as the node estimates: per image, or per megapixel. */
export type PriceUnit = 'image' | 'megapixel';

/**
 * `{prices:[{endpoint_id, unit_price, unit, currency}]}` as endpoint → USD per image or per
 * megapixel; other units and currencies are left out.
 */
export function pricesFromAnswer(body: unknown): Array<[string, number, PriceUnit]> {
	const list = (body as IDataObject | undefined)?.prices;
	if (!Array.isArray(list)) return [];
	return list.flatMap((entry) => {
		const { endpoint_id, unit_price, unit, currency } = (entry ?? {}) as IDataObject;
		const priceUnit = unitOf(unit);
		const usable =
			typeof endpoint_id === 'string' &&
			typeof unit_price === 'number' &&
			Number.isFinite(unit_price) &&
			unit_price >= 0 &&
			priceUnit !== undefined &&
			currency === 'USD';
		return usable ? [[endpoint_id, unit_price, priceUnit] as [string, number, PriceUnit]] : [];
	});
}

/** The pricing API's unit: `image`, or a megapixel however spelled (`megapixels`, `MP`). */
function unitOf(unit: unknown): PriceUnit | undefined {
	if (typeof unit !== 'string') return undefined;
	const text = unit.trim().toLowerCase();
	if (text === 'image' || text === 'images') return 'image';
	return /^(megapixels?|mp)$/.test(text) ? 'megapixel' : undefined;
}
