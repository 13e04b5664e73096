/**
 * Tiny node types the engine harness puts around the node under test.
 *
 * - `n8n-nodes-base.manualTrigger`: behaves like n8n's own Manual Trigger (a `trigger` that emits one
 *   empty item when the user clicks "Execute workflow").
 * - `test.items`: an items source that outputs the items given in its `items` parameter (a JSON
 *   string), turning each binary (base64 + mimeType + fileName) into real n8n binary data with
 *   `this.helpers.prepareBinaryData`, so downstream nodes read it the way they would in n8n.
 *
 * Only `import type` from n8n-workflow here: the runtime copy is the one engine.ts requires.
 */
import type {
	IBinaryData,
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
	ITriggerFunctions,
	ITriggerResponse,
} from 'n8n-workflow';
import { Readable } from 'node:stream';

export const MANUAL_TRIGGER_TYPE = 'n8n-nodes-base.manualTrigger';
export const ITEMS_SOURCE_TYPE = 'test.items';

/**
 * One item as the items source takes it: binary data as base64, or `generateBytes`: a file of that many
 * bytes (a PNG signature, then pseudo-random bytes) streamed into n8n's binary store, never held whole,
 * as a Read File or HTTP Request node stores a big download.
 */
export interface ItemsSourceItem {
	json?: IDataObject;
	binary?: Record<
		string,
		| { data: string; mimeType: string; fileName?: string }
		| { generateBytes: number; mimeType: string; fileName?: string }
	>;
}

/** Called (when set) once the items source has stored all its items: the bench takes its memory baseline there. */
export const itemsSourceHooks: { done?: () => void } = {};

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** `size` bytes starting with a PNG signature, in 1 MiB chunks; the same bytes for the same seed. */
export function* generatedFileChunks(size: number, seed = 1): Generator<Buffer> {
	const CHUNK = 1 << 20;
	let state = seed >>> 0 || 1;
	for (let offset = 0; offset < size; offset += CHUNK) {
		const chunk = Buffer.allocUnsafe(Math.min(CHUNK, size - offset));
		for (let i = 0; i + 4 <= chunk.length; i += 4) {
			// xorshift32: cheap, incompressible enough, reproducible.
			state ^= state << 13;
			state ^= state >>> 17;
			state ^= state << 5;
			chunk.writeUInt32LE(state >>> 0, i);
		}
		chunk.fill(7, chunk.length - (chunk.length % 4));
		if (offset === 0) Buffer.from(PNG_SIGNATURE).copy(chunk, 0, 0, Math.min(8, chunk.length));
		yield chunk;
	}
}

export class ManualTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Manual Trigger',
		name: MANUAL_TRIGGER_TYPE,
		group: ['trigger'],
		version: 1,
		description: 'Runs the flow on clicking a button in n8n',
		eventTriggerDescription: '',
		maxNodes: 1,
		defaults: { name: 'When clicking "Execute workflow"' },
		inputs: [],
		outputs: ['main'],
		properties: [],
	};

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const manualTriggerFunction = async () => {
			this.emit([this.helpers.returnJsonArray([{}])]);
		};
		return { manualTriggerFunction };
	}
}

export class ItemsSource implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Test Items',
		name: ITEMS_SOURCE_TYPE,
		group: ['transform'],
		version: 1,
		description: 'Outputs the items given in its parameters (test harness)',
		defaults: { name: 'Items' },
		inputs: ['main'],
		outputs: ['main'],
		properties: [
			{
				displayName: 'Items (JSON)',
				name: 'items',
				type: 'string',
				default: '[]',
				description:
					'JSON array of { json, binary: { [name]: { data: base64, mimeType, fileName } } }',
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const raw = this.getNodeParameter('items', 0) as string;
		const items = JSON.parse(raw) as ItemsSourceItem[];
		const out: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			const item = items[i];
			const entry: INodeExecutionData = { json: item.json ?? {}, pairedItem: { item: 0 } };
			if (item.binary) {
				const binary: Record<string, IBinaryData> = {};
				for (const [name, b] of Object.entries(item.binary)) {
					const content =
						'generateBytes' in b
							? Readable.from(generatedFileChunks(b.generateBytes, i + 1))
							: Buffer.from(b.data, 'base64');
					binary[name] = await this.helpers.prepareBinaryData(content, b.fileName, b.mimeType);
				}
				entry.binary = binary;
			}
			out.push(entry);
		}
		itemsSourceHooks.done?.();
		return [out];
	}
}
