import type { IDataObject, INode } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { ACCEPTED_IMAGE_TYPES, LIMITS } from '../fal/constants';
import { parseHttpUrl } from '../fal/urls';

/**
 * Checks that every value reaching fal is one fal accepts, before any request is made (fal bills
 * 422s). Values can arrive through expressions, which bypass the editor's min/max and option lists,
 * so every field is checked here whatever the UI allows. Each error names the field, the item and
 * the fix.
 */
export class InputChecker {
	constructor(
		private readonly node: INode,
		readonly itemIndex: number,
	) {}

	fail(field: string, problem: string, fix: string): never {
		throw new NodeOperationError(this.node, `${field}: ${problem}`, {
			itemIndex: this.itemIndex,
			description: `${fix} (item ${this.itemIndex + 1})`,
		});
	}

	/**
	 * Text; a number or boolean from an expression (`={{ 42 }}`) becomes its text. Only empty or
	 * blank is refused.
	 */
	prompt(value: unknown): string {
		const text = typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
		if (text === undefined || text === null || (typeof text === 'string' && text.trim() === '')) {
			this.fail(
				'Prompt',
				'is empty',
				'Describe the image to create, or the change to make to the input image',
			);
		}
		if (typeof text !== 'string') {
			this.fail(
				'Prompt',
				`is not text (${Array.isArray(text) ? 'a list' : 'an object'})`,
				'In an expression, pick the field that holds the text, e.g. {{ $json.prompt }}',
			);
		}
		return text;
	}

	/**
	 * An http(s) URL or a data URL of an accepted image type. Whitespace inside a data URL's base64
	 * (encoders wrap it at 76 columns) is removed; whitespace inside an http(s) URL is refused.
	 */
	imageUrl(value: unknown, field = 'Image URL'): string {
		let text = typeof value === 'string' ? value.trim() : '';
		if (text === '')
			this.fail(field, 'is empty', 'Give a public http(s) URL of the image, or a data URL');
		if (/^data:/i.test(text)) {
			text = text.replace(/\s+/g, '');
			const mime = /^data:([^;,]+)[;,]/i.exec(text)?.[1]?.toLowerCase();
			if (!mime || !ACCEPTED_IMAGE_TYPES[mime]) {
				this.fail(
					field,
					`is a data URL of type "${mime ?? 'unknown'}"`,
					`Use an image of type ${ACCEPTED_TYPES_TEXT}`,
				);
			}
			const payload = /;base64,(.*)$/is.exec(text)?.[1];
			if (payload === undefined) {
				this.fail(
					field,
					'is a data URL that is not base64-encoded',
					'Use a data URL of the form data:image/png;base64,...',
				);
			}
			if (payload.length < 16 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(payload)) {
				this.fail(
					field,
					'is a data URL without valid image data',
					'Use a data URL of the form data:image/png;base64,... holding the whole image',
				);
			}
			return text;
		}
		if (!parseHttpUrl(text)) {
			this.fail(
				field,
				`"${shorten(text)}" is not an http(s) URL or a data URL`,
				'Give a public http(s) URL of the image, or a data URL',
			);
		}
		if (/\s/.test(text)) {
			this.fail(
				field,
				`"${shorten(text)}" contains a space`,
				'Write a space inside a URL as %20; separate several URLs with new lines or commas',
			);
		}
		return text;
	}

	number(
		field: string,
		value: unknown,
		{ min, max, integer }: { min?: number; max?: number; integer?: boolean },
	): number {
		const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
		if (typeof n !== 'number' || !Number.isFinite(n)) {
			this.fail(field, `"${shorten(String(value))}" is not a number`, rangeText(min, max, integer));
		}
		if (integer && !Number.isInteger(n))
			this.fail(field, `${n} is not a whole number`, rangeText(min, max, integer));
		if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
			this.fail(field, `${n} is out of range`, rangeText(min, max, integer));
		}
		return n;
	}

	oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
		const text = typeof value === 'number' ? String(value) : value;
		if (typeof text !== 'string' || !(allowed as readonly string[]).includes(text)) {
			this.fail(
				field,
				`"${shorten(String(value))}" is not allowed`,
				`Use one of: ${allowed.join(', ')}`,
			);
		}
		return text as T;
	}

	boolean(field: string, value: unknown): boolean {
		if (typeof value !== 'boolean')
			this.fail(field, `"${shorten(String(value))}" is not true or false`, 'Use true or false');
		return value;
	}

	httpUrl(field: string, value: unknown): string {
		const text = typeof value === 'string' ? value.trim() : '';
		if (!parseHttpUrl(text))
			this.fail(
				field,
				`"${shorten(text)}" is not an http(s) URL`,
				'Use a full URL starting with https://',
			);
		return text;
	}
}

/**
 * The image URLs in an Image URL text: one per line, or separated by commas or spaces. A comma or
 * space counts only where a new URL (http:, https:, data:) follows, so a comma inside a URL
 * (`w_400,h_300` in image CDN paths) stays in it; a line break inside a data URL (encoders wrap
 * base64 at 76 columns) is part of it too.
 */
export function splitImageUrls(text: string): string[] {
	return (
		text
			.split(/[\s,]+(?=(?:https?:|data:))/i)
			.flatMap((part) => (/^\s*data:/i.test(part) ? [part] : part.split(/[\r\n]+/)))
			.map((part) => part.trim())
			// A data URL may end in its own comma (an empty payload, refused later with its own words).
			.map((part) => (/^data:/i.test(part) ? part : part.replace(/^,+|,+$/g, '').trim()))
			.filter(Boolean)
	);
}

/**
 * Whether the user set an option (an added option left empty, or an expression that yields nothing,
 * is unset).
 */
export function isSet(options: IDataObject, key: string): boolean {
	return options[key] !== undefined && options[key] !== null && options[key] !== '';
}

/**
 * The waiting and output controls from the `options` collection, with defaults applied and checked.
 */
export interface RunControls {
	timeoutMs: number;
	onTimeout: 'fail' | 'outputHandle' | 'cancel';
	downloadImages: boolean;
	binaryPropertyOutput: string;
	/** Split Into Items: one output item per image (helpers/image-items.ts). */
	splitImages: boolean;
	webhookUrl?: string;
}

export function runControls(check: InputChecker, options: IDataObject): RunControls {
	const timeout = options.timeout ?? LIMITS.timeout.default;
	const binaryPropertyOutput = options.binaryPropertyOutput ?? 'data';
	if (typeof binaryPropertyOutput !== 'string' || !/^[A-Za-z0-9_-]+$/.test(binaryPropertyOutput)) {
		check.fail(
			'Put Output Images In Field',
			`"${String(binaryPropertyOutput)}" is not a field name`,
			'Use letters, digits, _ or -, e.g. data',
		);
	}
	return {
		timeoutMs: check.number('Timeout', timeout, LIMITS.timeout) * 1000,
		onTimeout: check.oneOf('On Timeout', options.onTimeout ?? 'fail', [
			'fail',
			'outputHandle',
			'cancel',
		] as const),
		downloadImages:
			options.downloadImages === undefined
				? true
				: check.boolean('Download Images', options.downloadImages),
		binaryPropertyOutput,
		splitImages:
			options.splitImages === undefined
				? false
				: check.boolean('Split Into Items', options.splitImages),
		webhookUrl: options.webhookUrl ? check.httpUrl('Webhook URL', options.webhookUrl) : undefined,
	};
}

/**
 * The image type of a buffer from its first bytes, for binary data whose MIME type is missing or
 * generic.
 */
export function sniffImageType(bytes: Uint8Array): string | undefined {
	const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
	if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
	if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
	if (starts(0x47, 0x49, 0x46, 0x38)) return 'image/gif';
	const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
	if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
	if (ascii(4, 8) === 'ftyp' && /^avi[fs]$/.test(ascii(8, 12))) return 'image/avif';
	return undefined;
}

export const ACCEPTED_TYPES_TEXT = 'JPEG, PNG, WebP, GIF or AVIF';

function rangeText(min?: number, max?: number, integer?: boolean): string {
	const kind = integer ? 'a whole number' : 'a number';
	if (min !== undefined && max !== undefined) return `Use ${kind} from ${min} to ${max}`;
	if (min !== undefined) return `Use ${kind} of at least ${min}`;
	return `Use ${kind}`;
}

/** A text cut to 60 characters for a message. */
export function shorten(text: string): string {
	return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
