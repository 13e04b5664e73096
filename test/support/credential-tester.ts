/**
 * What n8n's CLI `CredentialsTester.testCredentials` does for a credential with a declarative
 * `test` (ICredentialTestRequest): apply the type's defaults to the data, build a temporary node
 * whose single property routes `test.request`, run it with n8n-core's `RoutingNode` (so the request
 * goes through `httpRequestWithAuthentication` and the credential's own `authenticate` block), then
 * map the outcome with the test's `rules`, with n8n's messages.
 */
import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	INode,
	INodeExecutionData,
	INodeType,
	INodeTypes,
} from 'n8n-workflow';
import type * as N8nCore from 'n8n-core';
import type * as N8nWorkflow from 'n8n-workflow';

import {
	CREDENTIAL_REF,
	DEFAULT_CREDENTIAL_TYPE,
	REPO_ROOT,
	TestCredentialsHelper,
	loadPackage,
	makeAdditionalData,
} from './engine';

/* eslint-disable @typescript-eslint/no-require-imports */
const core = require('n8n-core') as typeof N8nCore;
const wf = require('n8n-workflow') as typeof N8nWorkflow;
/* eslint-enable @typescript-eslint/no-require-imports */

export interface CredentialTestResult {
	status: 'OK' | 'Error';
	message: string;
}

export interface CredentialTestOptions {
	/** Credential type name; default fluxKontextApi. */
	credentialType?: string;
	/** Package directory; default the repository root (its built dist/). */
	packageDir?: string;
	/**
	 * Send the request as n8n 1.x does: its request helper knows `ignoreHttpStatusErrors` only as a
	 * boolean (`if (ignoreHttpStatusErrors) validateStatus = () => true`, n8n-core 1.99), so an
	 * `{ ignore, except }` object ignores every status there. The tester itself is the same in both.
	 */
	asN8n1?: boolean;
}

/** n8n's NoOp node description, the node the CLI borrows for declarative credential tests. */
const noOpDescription = {
	displayName: 'No Operation, do nothing',
	name: 'n8n-nodes-base.noOp',
	icon: 'fa:arrow-right',
	group: ['organization'],
	version: 1,
	description: 'No Operation',
	defaults: { name: 'No Operation, do nothing', color: '#b0b0b0' },
	inputs: ['main'],
	outputs: ['main'],
	properties: [],
} as unknown as INodeType['description'];

/** lodash's `get`, as n8n uses for `responseSuccessBody` rules (paths like `a.b[0].c`). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const get = require('lodash/get') as (obj: unknown, path: string) => unknown;

export async function testCredential(
	data: Record<string, unknown>,
	options: CredentialTestOptions = {},
): Promise<CredentialTestResult> {
	const typeName = options.credentialType ?? DEFAULT_CREDENTIAL_TYPE;
	const pkg = await loadPackage(options.packageDir ?? REPO_ROOT);
	const credentialType = pkg.credentialTypes[typeName];
	if (!credentialType) throw new Error(`Credential type ${typeName} not in ${pkg.packageName}`);
	const testRequest = credentialType.test;
	if (!testRequest) {
		return { status: 'Error', message: 'No testing function found for this credential.' };
	}

	const credentialsHelper = new TestCredentialsHelper(pkg.credentialTypes, {
		[typeName]: { ...data } as ICredentialDataDecryptedObject,
	});
	const credentialsDecrypted: ICredentialsDecrypted = {
		id: CREDENTIAL_REF.id,
		name: CREDENTIAL_REF.name,
		type: typeName,
		data: { ...data } as ICredentialDataDecryptedObject,
	};

	try {
		credentialsDecrypted.data = await credentialsHelper.applyDefaultsAndOverwrites(
			makeAdditionalData({ credentialsHelper }),
			credentialsDecrypted.data!,
			typeName,
			'internal',
		);
	} catch (error) {
		return { status: 'Error', message: String((error as Error).message) };
	}

	const nodeTypeCopy: INodeType = {
		description: {
			...noOpDescription,
			credentials: [{ name: typeName, required: true }],
			properties: [
				{
					displayName: 'Temp',
					name: 'temp',
					type: 'string',
					routing: {
						request: options.asN8n1
							? {
									...testRequest.request,
									ignoreHttpStatusErrors: Boolean(testRequest.request.ignoreHttpStatusErrors),
								}
							: testRequest.request,
					},
					default: '',
				},
			],
		},
	};
	const nodeTypes: INodeTypes = {
		getByName: () => nodeTypeCopy,
		getByNameAndVersion: () => nodeTypeCopy,
		getKnownTypes: () => ({}),
	};

	const node: INode = {
		id: 'temp',
		parameters: {},
		name: 'Temp-Node',
		type: nodeTypeCopy.description.name,
		typeVersion: 1,
		position: [0, 0],
		credentials: { [typeName]: { id: CREDENTIAL_REF.id, name: CREDENTIAL_REF.name } },
	};
	const workflow = new wf.Workflow({ nodes: [node], connections: {}, active: false, nodeTypes });

	const additionalData = makeAdditionalData({ credentialsHelper });
	const executeFunctions = new core.ExecuteContext(
		workflow,
		node,
		additionalData,
		'internal',
		wf.createRunExecutionData({ executionData: null }),
		0,
		[],
		{ main: [[{ json: {} }]] },
		{ node, data: {}, source: null },
		[],
	);
	const routingNode = new core.RoutingNode(executeFunctions, nodeTypeCopy, credentialsDecrypted);

	let response: INodeExecutionData[][] | null | undefined;
	try {
		response = await workflow.expression.withIsolate(async () => await routingNode.runNode());
	} catch (error) {
		const cause = (
			error as { cause?: { response?: { status: number; statusText?: string }; code?: string } }
		).cause;
		if (cause?.response) {
			const statusCode = cause.response.status;
			for (const rule of testRequest.rules ?? []) {
				if (rule.type === 'responseCode' && statusCode === rule.properties.value) {
					return { status: 'Error', message: rule.properties.message };
				}
			}
			if (statusCode < 199 || statusCode > 299) {
				return {
					status: 'Error',
					message: cause.response.statusText || `Received HTTP status code: ${statusCode}`,
				};
			}
		} else if (cause?.code) {
			return { status: 'Error', message: cause.code };
		}
		return { status: 'Error', message: String((error as Error).message) };
	}

	for (const rule of testRequest.rules ?? []) {
		if (rule.type === 'responseSuccessBody') {
			const responseData = response![0][0].json;
			if (get(responseData, rule.properties.key) === rule.properties.value) {
				return { status: 'Error', message: rule.properties.message };
			}
		}
	}
	return { status: 'OK', message: 'Connection successful!' };
}
