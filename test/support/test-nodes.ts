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

export const MANUAL_TRIGGER_TYPE = 'n8n-nodes-base.manualTrigger';
export const ITEMS_SOURCE_TYPE = 'test.items';

/** One item as the items source takes it (binary data as base64). */
export interface ItemsSourceItem {
	json?: IDataObject;
	binary?: Record<string, { data: string; mimeType: string; fileName?: string }>;
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
					binary[name] = await this.helpers.prepareBinaryData(
						Buffer.from(b.data, 'base64'),
						b.fileName,
						b.mimeType,
					);
				}
				entry.binary = binary;
			}
			out.push(entry);
		}
		return [out];
	}
}
