import type { INodeProperties } from 'n8n-workflow';

import * as cancel from './cancel.operation';
import {
	requestIdProperty,
	requestModelProperty,
	requestOptionsProperty,
	waitForResultProperty,
} from './common';
import * as getResult from './getResult.operation';
import * as getStatus from './getStatus.operation';

export { cancel, getResult, getStatus };

export const description: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		displayOptions: { show: { resource: ['request'] } },
		options: [
			{
				name: 'Cancel',
				value: 'cancel',
				action: 'Cancel a request',
				description: 'Cancel a queued job (a running one may still complete)',
			},
			{
				name: 'Get Result',
				value: 'getResult',
				action: 'Get the result of a request',
				description: "Fetch a job's result and images, waiting for it to finish",
			},
			{
				name: 'Get Status',
				value: 'getStatus',
				action: 'Get the status of a request',
				description: 'IN_QUEUE, IN_PROGRESS or COMPLETED, with queue position and logs',
			},
		],
		default: 'getStatus',
	},
	requestIdProperty,
	requestModelProperty,
	waitForResultProperty,
	requestOptionsProperty,
];
