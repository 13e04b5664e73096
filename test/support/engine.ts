/**
 * Runs a workflow in n8n-core's real `WorkflowExecute`, the way n8n runs a manual execution, with the
 * package loaded from its built `dist/` by n8n-core's `PackageDirectoryLoader`.
 *
 *   manual trigger → (test items source, when `items` are given) → 'FLUX Kontext' → then-nodes
 *
 * What is real here: the loader (description validation included), `Workflow` and its expression
 * engine, `WorkflowExecute` (paired items, continue-on-fail, cancellation), the node execution
 * contexts and their helpers (`httpRequestWithAuthentication` through `@n8n/backend-network`,
 * `prepareBinaryData`/`getBinaryDataBuffer` through `BinaryDataService`), and the credential's own
 * `authenticate` block, applied the way n8n's CLI `CredentialsHelper` applies it.
 * What is stubbed: the database (credentials come from the run options), sub-workflows, task runners.
 *
 * Nothing here is an n8n runtime dependency of the package: it only uses the devDependencies
 * n8n-core / n8n-workflow and the @n8n/* packages they bring.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';

import type * as N8nCore from 'n8n-core';
import type * as N8nWorkflow from 'n8n-workflow';
import type {
	IBinaryData,
	ICredentialDataDecryptedObject,
	ICredentialType,
	ICredentials,
	ICredentialsExpressionResolveValues,
	IDataObject,
	IExecuteData,
	IHttpRequestHelper,
	IHttpRequestOptions,
	INode,
	INodeCredentialsDetails,
	INodeExecutionData,
	INodeParameters,
	INodeProperties,
	INodeType,
	INodeTypeDescription,
	INodeTypes,
	IRequestOptionsSimplified,
	IRun,
	IRunExecutionData,
	IVersionedNodeType,
	IWorkflowExecuteAdditionalData,
	Workflow as WorkflowType,
	WorkflowExecuteMode,
} from 'n8n-workflow';

import { DatabaseStandInManager } from './database-binary-store';
import {
	ITEMS_SOURCE_TYPE,
	ItemsSource,
	MANUAL_TRIGGER_TYPE,
	ManualTrigger,
	type ItemsSourceItem,
} from './test-nodes';

// ---------------------------------------------------------------------------------------------
// Environment first: n8n-core's InstanceSettings writes `<N8N_USER_FOLDER>/.n8n/config`.
// ---------------------------------------------------------------------------------------------
const USER_FOLDER = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-flux-kontext-test-'));
process.env.N8N_USER_FOLDER = USER_FOLDER;
const removeUserFolder = () => {
	try {
		fs.rmSync(USER_FOLDER, { recursive: true, force: true });
	} catch {
		// best effort
	}
};
// Under Jest this module is evaluated once per test file: clean up after the file, without piling
// 'exit' listeners onto the worker process. Elsewhere (scripts), clean up on exit.
try {
	if (typeof afterAll !== 'function') throw new Error('not under Jest');
	afterAll(removeUserFolder);
} catch {
	process.once('exit', removeUserFolder);
}

/* eslint-disable @typescript-eslint/no-require-imports */
const core = require('n8n-core') as typeof N8nCore;
const wf = require('n8n-workflow') as typeof N8nWorkflow;
const { Container } = require('@n8n/di') as typeof import('@n8n/di');
const { Logger } = require('@n8n/backend-common') as typeof import('@n8n/backend-common');
const { SsrfProtectionConfig } = require('@n8n/config') as typeof import('@n8n/config');
const { binaryToBuffer } = require('@n8n/backend-network') as typeof import('@n8n/backend-network');
/* eslint-enable @typescript-eslint/no-require-imports */

/** The repository root: the package whose `dist/` is loaded by default. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const NODE_UNDER_TEST_NAME = 'FLUX Kontext';
export const DEFAULT_NODE_TYPE = 'n8n-nodes-flux-kontext.fluxKontext';
export const DEFAULT_CREDENTIAL_TYPE = 'fluxKontextApi';
export const CREDENTIAL_REF = { id: '1', name: 'FLUX account' };
export const TRIGGER_NODE_NAME = 'When clicking ‘Execute workflow’';
export const ITEMS_NODE_NAME = 'Items';
const BASE_URL = 'http://127.0.0.1:5678';

// ---------------------------------------------------------------------------------------------
// Logging: one Logger in the container, captured (n8n-core hands it to every node as `this.logger`).
// ---------------------------------------------------------------------------------------------
type LogLevel = 'error' | 'warn' | 'info' | 'debug';
let logSink: string[] = [];

class CapturingLogger {
	private write(level: LogLevel, message: string, metadata?: unknown) {
		const meta =
			metadata === undefined ||
			(typeof metadata === 'object' && metadata !== null && Object.keys(metadata).length === 0)
				? ''
				: ' ' + inspect(metadata, { depth: 8, breakLength: Infinity, maxStringLength: Infinity });
		const line = `${level}: ${String(message)}${meta}`;
		logSink.push(line);
		if (process.env.N8N_TEST_LOG) process.stderr.write(line + '\n');
	}
	error(message: string, metadata?: unknown) {
		this.write('error', message, metadata);
	}
	warn(message: string, metadata?: unknown) {
		this.write('warn', message, metadata);
	}
	info(message: string, metadata?: unknown) {
		this.write('info', message, metadata);
	}
	debug(message: string, metadata?: unknown) {
		this.write('debug', message, metadata);
	}
	verbose(message: string, metadata?: unknown) {
		this.write('debug', message, metadata);
	}
	scoped() {
		return this;
	}
}

/** Collects what n8n's Logger gets from now on (until the next call, or the next runWorkflow). */
export function captureLogs(): string[] {
	const logs: string[] = [];
	logSink = logs;
	return logs;
}

// ---------------------------------------------------------------------------------------------
// DI: what n8n-core resolves from the container while a workflow runs.
// ---------------------------------------------------------------------------------------------
let diReady: Promise<void> | undefined;

/** Sets up the container once per module instance (Jest: once per test file). */
export async function initEngine(): Promise<void> {
	diReady ??= (async () => {
		const logger = new CapturingLogger();
		// Every n8n service that takes a Logger gets this one; nodes get it as `this.logger`.
		Container.set(Logger, logger as unknown as InstanceType<typeof Logger>);
		wf.LoggerProxy.init(logger as unknown as N8nWorkflow.Logger);

		// OutboundHttp (httpRequest*) checks SSRF only when enabled; tests talk to 127.0.0.1.
		Container.get(SsrfProtectionConfig).enabled = false;

		// Binary data in n8n's in-memory 'default' mode: prepareBinaryData keeps the bytes inline
		// (base64 in the item), getBinaryDataBuffer reads them back; no files to clean up.
		// N8N_DEFAULT_BINARY_DATA_MODE=filesystem stores by id under the temp user folder instead (n8n 2.x's
		// default in regular mode); =database uses a stand-in for the CLI's database manager (queue mode's default).
		const binaryConfig = Container.get(core.BinaryDataConfig);
		if (!process.env.N8N_DEFAULT_BINARY_DATA_MODE) binaryConfig.mode = 'default';
		binaryConfig.localStoragePath = path.join(USER_FOLDER, 'binaryData');
		const binaryService = Container.get(core.BinaryDataService);
		await binaryService.init();
		if (binaryConfig.mode === 'database') {
			const manager = new DatabaseStandInManager(
				path.join(USER_FOLDER, 'binaryDataTable'),
				binaryToBuffer,
			);
			await manager.init();
			binaryService.setManager('database', manager);
		}
	})();
	return diReady;
}

// ---------------------------------------------------------------------------------------------
// Package loading
// ---------------------------------------------------------------------------------------------
export interface LoadedPackage {
	dir: string;
	packageName: string;
	loader: N8nCore.PackageDirectoryLoader;
	/** Node types by their full name, `<package>.<name>` (as n8n registers them). */
	nodeTypes: Record<string, INodeType | IVersionedNodeType>;
	/** Credential types by name. */
	credentialTypes: Record<string, ICredentialType>;
}

const packages = new Map<string, Promise<LoadedPackage>>();

/** Loads a package with n8n-core's `PackageDirectoryLoader` (its `package.json` `n8n` block). Cached. */
export async function loadPackage(dir: string = REPO_ROOT): Promise<LoadedPackage> {
	const key = path.resolve(dir);
	let loaded = packages.get(key);
	if (!loaded) {
		loaded = (async () => {
			await initEngine();
			assertBuilt(key);
			const loader = new core.PackageDirectoryLoader(key);
			await loader.loadAll();
			const { packageName } = loader;
			const nodeTypes: LoadedPackage['nodeTypes'] = {};
			for (const [name, data] of Object.entries(loader.nodeTypes)) {
				nodeTypes[`${packageName}.${name}`] = data.type;
			}
			const credentialTypes: LoadedPackage['credentialTypes'] = {};
			for (const [name, data] of Object.entries(loader.credentialTypes)) {
				credentialTypes[name] = data.type;
			}
			if (Object.keys(nodeTypes).length === 0) {
				throw new Error(
					`No node types loaded from ${key}: is it built (npm run build) and does package.json list them in "n8n.nodes"?`,
				);
			}
			return { dir: key, packageName, loader, nodeTypes, credentialTypes };
		})();
		packages.set(key, loaded);
		loaded.catch(() => packages.delete(key));
	}
	return await loaded;
}

/** A clear message instead of "Cannot find module" when the package has not been built. */
function assertBuilt(dir: string) {
	const pkgJsonPath = path.join(dir, 'package.json');
	if (!fs.existsSync(pkgJsonPath)) throw new Error(`No package.json in ${dir}`);
	const { n8n } = JSON.parse(fs.readFileSync(pkgJsonPath, 'utf8')) as {
		n8n?: { nodes?: string[]; credentials?: string[] };
	};
	const missing = [...(n8n?.nodes ?? []), ...(n8n?.credentials ?? [])].filter(
		(file) => !fs.existsSync(path.join(dir, file)),
	);
	if (missing.length > 0) {
		throw new Error(
			`${dir}: ${missing.join(', ')} missing. Build the package first (npm run build).`,
		);
	}
}

function latestVersion(type: INodeType | IVersionedNodeType): number {
	if ('nodeVersions' in type) {
		return Math.max(...Object.keys(type.nodeVersions).map(Number));
	}
	const v = type.description.version;
	return Array.isArray(v) ? Math.max(...v) : v;
}

/** The loaded node type's description (latest version), e.g. for description tests. */
export async function nodeDescription(
	nodeType: string = DEFAULT_NODE_TYPE,
	dir: string = REPO_ROOT,
): Promise<INodeTypeDescription> {
	const pkg = await loadPackage(dir);
	const type = pkg.nodeTypes[nodeType];
	if (!type) throw new Error(`Node type ${nodeType} not in ${pkg.packageName}`);
	return wf.NodeHelpers.getVersionedNodeType(type, latestVersion(type)).description;
}

/** The loaded credential type instance. */
export async function credentialType(
	name: string = DEFAULT_CREDENTIAL_TYPE,
	dir: string = REPO_ROOT,
): Promise<ICredentialType> {
	const pkg = await loadPackage(dir);
	const type = pkg.credentialTypes[name];
	if (!type) throw new Error(`Credential type ${name} not in ${pkg.packageName}`);
	return type;
}

// ---------------------------------------------------------------------------------------------
// Node types
// ---------------------------------------------------------------------------------------------
const harnessNodeTypes: Record<string, INodeType> = {
	[MANUAL_TRIGGER_TYPE]: new ManualTrigger(),
	[ITEMS_SOURCE_TYPE]: new ItemsSource(),
};

/** An `INodeTypes` with the manual trigger, the items source and the package's nodes. */
export function makeNodeTypes(
	pkg: LoadedPackage,
	extra: Record<string, INodeType | IVersionedNodeType> = {},
): INodeTypes {
	const all: Record<string, INodeType | IVersionedNodeType> = {
		...harnessNodeTypes,
		...pkg.nodeTypes,
		...extra,
	};
	const getByName = (nodeType: string) => {
		const type = all[nodeType];
		if (!type) throw new Error(`Unrecognized node type: ${nodeType}`);
		return type;
	};
	return {
		getByName,
		getByNameAndVersion: (nodeType: string, version?: number) =>
			wf.NodeHelpers.getVersionedNodeType(getByName(nodeType), version),
		getKnownTypes: () => ({}),
	};
}

// ---------------------------------------------------------------------------------------------
// Credentials helper
// ---------------------------------------------------------------------------------------------
const mockNode: INode = {
	id: 'mock',
	name: '',
	typeVersion: 1,
	type: 'mock',
	position: [0, 0],
	parameters: {},
};
const mockNodeTypes: INodeTypes = {
	getByName: () => ({ description: { properties: [] } }) as unknown as INodeType,
	getByNameAndVersion: () => ({ description: { properties: [] } }) as unknown as INodeType,
	getKnownTypes: () => ({}),
};

/**
 * The credentials part of n8n's CLI `CredentialsHelper`, minus the database: credential data is
 * given per run (by type name) instead of being decrypted from the credentials table.
 */
export class TestCredentialsHelper extends wf.ICredentialsHelper {
	constructor(
		private readonly credentialTypes: Record<string, ICredentialType>,
		/** Stored ("decrypted") credential data by credential type name. */
		readonly store: Record<string, ICredentialDataDecryptedObject> = {},
	) {
		super();
	}

	getCredentialType(name: string): ICredentialType {
		const type = this.credentialTypes[name];
		if (!type) throw new Error(`Unrecognized credential type: ${name}`);
		return type;
	}

	getParentTypes(name: string): string[] {
		const type = this.credentialTypes[name];
		const parents = type?.extends ?? [];
		return parents.flatMap((p) => [p, ...this.getParentTypes(p)]);
	}

	isCredentialUsableByNode(credentialType: string, nodeType: string): boolean {
		const type = this.credentialTypes[credentialType];
		if (!type?.restrictToSupportedNodes) return true;
		return (type.supportedNodes ?? []).some((n) => n === nodeType || nodeType.endsWith(`.${n}`));
	}

	/** Adds the credential's authentication to the request, like n8n's CredentialsHelper.authenticate. */
	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		typeName: string,
		incomingRequestOptions: IHttpRequestOptions | IRequestOptionsSimplified,
		workflow?: WorkflowType,
		node?: INode,
	): Promise<IHttpRequestOptions> {
		const requestOptions = incomingRequestOptions as IHttpRequestOptions;
		const { authenticate } = this.getCredentialType(typeName);
		if (!authenticate) return requestOptions;

		if (typeof authenticate === 'function') {
			return await authenticate(credentials, requestOptions);
		}

		if (typeof authenticate === 'object') {
			if (!workflow || !node) {
				throw new wf.UnexpectedError(
					'Workflow and node are required for declarative credential authentication',
				);
			}
			requestOptions.headers ??= {};
			if (authenticate.type === 'generic') {
				for (const [outerKey, outerValue] of Object.entries(authenticate.properties)) {
					for (const [key, value] of Object.entries(outerValue as IDataObject)) {
						const keyResolved = this.resolveValue(key, credentials, workflow, node);
						const valueResolved = this.resolveValue(value as string, credentials, workflow, node);
						const target = requestOptions as unknown as Record<string, Record<string, unknown>>;
						target[outerKey] ??= {};
						target[outerKey][keyResolved] = valueResolved;
					}
				}
			}
		}
		return requestOptions;
	}

	private resolveValue(
		parameterValue: string,
		credentials: ICredentialDataDecryptedObject,
		workflow: WorkflowType,
		node: INode,
	): string {
		if (!wf.isExpression(parameterValue)) return parameterValue;
		const returnValue = workflow.expression.getSimpleParameterValue(
			node,
			parameterValue,
			'internal',
			{ $credentials: credentials },
			undefined,
			'',
		);
		if (!returnValue) return '';
		return returnValue.toString();
	}

	async preAuthentication(
		_helpers: IHttpRequestHelper,
		_credentials: ICredentialDataDecryptedObject,
		_typeName: string,
		_node: INode,
		_credentialsExpired: boolean,
	): Promise<ICredentialDataDecryptedObject | undefined> {
		return undefined;
	}

	async runPreAuthentication(): Promise<ICredentialDataDecryptedObject | undefined> {
		return undefined;
	}

	async getCredentials(
		nodeCredentials: INodeCredentialsDetails,
		type: string,
	): Promise<ICredentials> {
		const data = this.stored(nodeCredentials, type);
		return {
			id: nodeCredentials.id ?? undefined,
			name: nodeCredentials.name,
			type,
			data: undefined,
			getData: () => ({ ...data }),
			getDataToSave: () => ({
				id: nodeCredentials.id ?? undefined,
				name: nodeCredentials.name,
				type,
				data: '',
			}),
			setData: (d: ICredentialDataDecryptedObject) => {
				this.store[type] = { ...d };
			},
		} as unknown as ICredentials;
	}

	private stored(nodeCredentials: INodeCredentialsDetails, type: string) {
		const data = this.store[type];
		if (data === undefined) {
			// The message n8n gives when the credential a node points at is missing.
			throw new Error(
				`Credential with ID "${nodeCredentials.id ?? ''}" does not exist for type "${type}".`,
			);
		}
		return data;
	}

	async getDecrypted(
		additionalData: IWorkflowExecuteAdditionalData,
		nodeCredentials: INodeCredentialsDetails,
		type: string,
		mode: WorkflowExecuteMode,
		executeData?: IExecuteData,
		raw?: boolean,
		expressionResolveValues?: ICredentialsExpressionResolveValues,
	): Promise<ICredentialDataDecryptedObject> {
		const data = structuredClone(this.stored(nodeCredentials, type));
		if (raw === true) return data;
		return await this.applyDefaultsAndOverwrites(
			additionalData,
			data,
			type,
			mode,
			executeData,
			expressionResolveValues,
		);
	}

	/** Credential property defaults plus expression resolution, as n8n's helper does (no overwrites). */
	async applyDefaultsAndOverwrites(
		additionalData: IWorkflowExecuteAdditionalData,
		decryptedDataOriginal: ICredentialDataDecryptedObject,
		type: string,
		mode: WorkflowExecuteMode,
		executeData?: IExecuteData,
		expressionResolveValues?: ICredentialsExpressionResolveValues,
	): Promise<ICredentialDataDecryptedObject> {
		const properties = this.getCredentialsProperties(type);
		let decryptedData = wf.NodeHelpers.getNodeParameters(
			properties,
			decryptedDataOriginal as INodeParameters,
			true,
			false,
			null,
			null,
		) as ICredentialDataDecryptedObject;
		if (decryptedDataOriginal.oauthTokenData !== undefined) {
			decryptedData.oauthTokenData = decryptedDataOriginal.oauthTokenData;
		}

		const additionalKeys = core.getAdditionalKeys(additionalData, mode, null, {
			isCredential: true,
		});
		if (expressionResolveValues) {
			try {
				decryptedData = expressionResolveValues.workflow.expression.getParameterValue(
					decryptedData as INodeParameters,
					expressionResolveValues.runExecutionData,
					expressionResolveValues.runIndex,
					expressionResolveValues.itemIndex,
					expressionResolveValues.node.name,
					expressionResolveValues.connectionInputData,
					mode,
					additionalKeys,
					executeData,
					false,
					decryptedData,
				) as ICredentialDataDecryptedObject;
			} catch (e) {
				(e as Error).message += ' [Error resolving credentials]';
				throw e;
			}
		} else {
			const workflow = new wf.Workflow({
				nodes: [mockNode],
				connections: {},
				active: false,
				nodeTypes: mockNodeTypes,
			});
			await workflow.expression.withIsolate(async () => {
				decryptedData = workflow.expression.getComplexParameterValue(
					mockNode,
					decryptedData as INodeParameters,
					mode,
					additionalKeys,
					undefined,
					undefined,
					decryptedData,
				) as ICredentialDataDecryptedObject;
			});
		}
		return decryptedData;
	}

	async updateCredentials(
		_nodeCredentials: INodeCredentialsDetails,
		type: string,
		data: ICredentialDataDecryptedObject,
	): Promise<void> {
		this.store[type] = { ...data };
	}

	async updateCredentialsOauthTokenData(
		_nodeCredentials: INodeCredentialsDetails,
		type: string,
		data: ICredentialDataDecryptedObject,
	): Promise<void> {
		this.store[type] = { ...this.store[type], oauthTokenData: data.oauthTokenData };
	}

	getCredentialsProperties(type: string): INodeProperties[] {
		const credentialType = this.getCredentialType(type);
		if (!credentialType.extends?.length) return credentialType.properties;
		const combined: INodeProperties[] = [];
		for (const parent of credentialType.extends) {
			if (this.credentialTypes[parent]) {
				wf.NodeHelpers.mergeNodeProperties(combined, this.getCredentialsProperties(parent));
			}
		}
		wf.NodeHelpers.mergeNodeProperties(combined, credentialType.properties);
		return combined;
	}
}

// ---------------------------------------------------------------------------------------------
// additionalData (what n8n's WorkflowExecuteAdditionalData.getBase provides)
// ---------------------------------------------------------------------------------------------
let executionCounter = 0;

export function makeAdditionalData(opts: {
	credentialsHelper: N8nWorkflow.ICredentialsHelper;
	executionId?: string;
	workflowId?: string;
	hooks?: N8nCore.ExecutionLifecycleHooks;
}): IWorkflowExecuteAdditionalData {
	const notAvailable = (what: string) => async () => {
		throw new Error(`${what} is not available in the test engine`);
	};
	return {
		credentialsHelper: opts.credentialsHelper,
		executeWorkflow: notAvailable('executeWorkflow'),
		getRunExecutionData: async () => undefined,
		getRuntimeCredential: async () => undefined,
		executionId: opts.executionId,
		workflowId: opts.workflowId,
		userId: 'test-user',
		currentNodeExecutionIndex: 0,
		restApiUrl: `${BASE_URL}/rest`,
		instanceBaseUrl: `${BASE_URL}/`,
		formBaseUrl: `${BASE_URL}/form`,
		formWaitingBaseUrl: `${BASE_URL}/form-waiting`,
		formTestBaseUrl: `${BASE_URL}/form-test`,
		webhookBaseUrl: `${BASE_URL}/webhook`,
		webhookWaitingBaseUrl: `${BASE_URL}/webhook-waiting`,
		webhookTestBaseUrl: `${BASE_URL}/webhook-test`,
		mcpBaseUrl: `${BASE_URL}/mcp`,
		mcpTestBaseUrl: `${BASE_URL}/mcp-test`,
		variables: {},
		logAiEvent: () => {},
		startRunnerTask: notAvailable(
			'startRunnerTask',
		) as IWorkflowExecuteAdditionalData['startRunnerTask'],
		externalSecretsProxy: Container.get(core.ExternalSecretsProxy),
		hooks: opts.hooks,
	};
}

// ---------------------------------------------------------------------------------------------
// runWorkflow
// ---------------------------------------------------------------------------------------------
export interface RunOptions {
	/** Parameters of the node under test (the package's `fluxKontext` node). */
	parameters: Record<string, unknown>;
	/** Credential data for `fluxKontextApi` (apiKey, baseUrl, authScheme). Omit to give the node no credential. */
	credentials?: Record<string, unknown>;
	/** Input items for the node under test. Default: one empty item from the manual trigger. */
	items?: Array<{
		json?: Record<string, unknown>;
		/** `data` as bytes or base64, or `generateBytes`: a file of that size streamed into n8n's binary store. */
		binary?: Record<
			string,
			| { data: Buffer | string; mimeType: string; fileName?: string }
			| { generateBytes: number; mimeType: string; fileName?: string }
		>;
	}>;
	/** Node setting "On Error: Continue" (onError 'continueRegularOutput'). */
	continueOnFail?: boolean;
	/** Extra nodes after the node under test, chained linearly. `type` defaults to `nodeType`. */
	then?: Array<{
		name: string;
		type?: string;
		parameters: Record<string, unknown>;
		continueOnFail?: boolean;
	}>;
	/** Cancel the execution after this many ms (like pressing Stop in n8n). */
	cancelAfterMs?: number;
	/** Full node type name; default the package's fluxKontext. */
	nodeType?: string;
	/** Package directory to load (default: the repository root, i.e. its built dist/). */
	packageDir?: string;
	/** Credential type the `credentials` are for; default: the node's first credential (fluxKontextApi). */
	credentialType?: string;
	/** Name of the node under test; default 'FLUX Kontext'. */
	nodeName?: string;
	/** Extra workflow settings (default { executionOrder: 'v1' }, as new workflows in n8n). */
	settings?: N8nWorkflow.IWorkflowSettings;
}

export interface OutputBinary {
	mimeType: string;
	fileName?: string;
	fileExtension?: string;
	fileType?: string;
	fileSize?: string;
	/** The bytes, read back through BinaryDataService. */
	data: Buffer;
	/** The binary data id when stored by reference (not in 'default' mode). */
	id?: string;
}

export interface OutputItem {
	json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
	binary?: Record<string, OutputBinary>;
	pairedItem?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
	error?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface RunError {
	message: string;
	description?: string;
	name?: string;
	[k: string]: unknown;
}

export interface RunResult {
	/** Execution status ('success' | 'error' | 'canceled' ...). */
	status: string;
	/** The workflow-level error if the run failed. */
	error?: RunError;
	/** Output items (output 0 unless given) of a node's last run; default the node under test. */
	output(nodeName?: string, outputIndex?: number): OutputItem[];
	/** The node's own error of its last run, if it failed without continue-on-fail. */
	nodeError(nodeName?: string): RunError | undefined;
	/** Raw IRun (`runData.data.resultData.runData[nodeName]` etc.). */
	runData: any; // eslint-disable-line @typescript-eslint/no-explicit-any
	durationMs: number;
	/** Everything logged through n8n's Logger during the run (nodes' `this.logger` included). */
	logs: string[];
}

function toExecutionItems(items: NonNullable<RunOptions['items']>): ItemsSourceItem[] {
	return items.map((item) => ({
		json: (item.json ?? {}) as IDataObject,
		binary: item.binary
			? Object.fromEntries(
					Object.entries(item.binary).map(([name, b]) => [
						name,
						'generateBytes' in b
							? b
							: {
									data: Buffer.isBuffer(b.data) ? b.data.toString('base64') : b.data,
									mimeType: b.mimeType,
									fileName: b.fileName,
								},
					]),
				)
			: undefined,
	}));
}

function toRunError(error: unknown): RunError | undefined {
	if (error === undefined || error === null) return undefined;
	const e = error as Record<string, unknown> & { message?: string };
	const out: RunError = { ...e, message: String(e.message ?? '') };
	if (out.name === undefined && error instanceof Error) out.name = error.name;
	if (
		out.name === undefined &&
		typeof e.constructor?.name === 'string' &&
		e.constructor.name !== 'Object'
	) {
		out.name = e.constructor.name;
	}
	return out;
}

export async function resolveItems(
	items: INodeExecutionData[] | null | undefined,
): Promise<OutputItem[]> {
	if (!items) return [];
	const service = Container.get(core.BinaryDataService);
	const out: OutputItem[] = [];
	for (const item of items) {
		const { binary: _binary, ...rest } = item;
		const resolved: OutputItem = { ...rest, json: item.json };
		if (item.binary) {
			resolved.binary = {};
			for (const [name, bin] of Object.entries(item.binary) as Array<[string, IBinaryData]>) {
				const { data: _data, ...meta } = bin;
				resolved.binary[name] = { ...meta, data: await service.getAsBuffer(bin) };
			}
		}
		out.push(resolved);
	}
	return out;
}

/** Runs trigger → (items) → node under test → then-nodes in n8n-core's WorkflowExecute. */
export async function runWorkflow(opts: RunOptions): Promise<RunResult> {
	await initEngine();
	const pkg = await loadPackage(opts.packageDir ?? REPO_ROOT);
	const nodeTypes = makeNodeTypes(pkg);
	const mainType =
		opts.nodeType ?? (opts.packageDir ? Object.keys(pkg.nodeTypes)[0] : DEFAULT_NODE_TYPE);
	const mainTypeObj = nodeTypes.getByName(mainType);
	const mainVersion = latestVersion(mainTypeObj);
	const mainDescription = wf.NodeHelpers.getVersionedNodeType(mainTypeObj, mainVersion).description;
	const credTypeName =
		opts.credentialType ?? mainDescription.credentials?.[0]?.name ?? DEFAULT_CREDENTIAL_TYPE;
	const nodeName = opts.nodeName ?? NODE_UNDER_TEST_NAME;

	const credentialsHelper = new TestCredentialsHelper(
		pkg.credentialTypes,
		opts.credentials
			? { [credTypeName]: { ...opts.credentials } as ICredentialDataDecryptedObject }
			: {},
	);

	const credentialsFor = (type: string, version: number): INode['credentials'] => {
		if (!opts.credentials) return undefined;
		const description = nodeTypes.getByNameAndVersion(type, version).description;
		if (!description.credentials?.some((c) => c.name === credTypeName)) return undefined;
		return { [credTypeName]: { ...CREDENTIAL_REF } };
	};

	// Nodes, linearly connected.
	const trigger: INode = {
		id: 'node-trigger',
		name: TRIGGER_NODE_NAME,
		type: MANUAL_TRIGGER_TYPE,
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
	};
	const nodes: INode[] = [trigger];
	if (opts.items) {
		nodes.push({
			id: 'node-items',
			name: ITEMS_NODE_NAME,
			type: ITEMS_SOURCE_TYPE,
			typeVersion: 1,
			position: [200, 0],
			parameters: { items: JSON.stringify(toExecutionItems(opts.items)) },
		});
	}
	const underTest: INode = {
		id: 'node-under-test',
		name: nodeName,
		type: mainType,
		typeVersion: mainVersion,
		position: [400, 0],
		parameters: opts.parameters as INodeParameters,
		credentials: credentialsFor(mainType, mainVersion),
		...(opts.continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
	};
	if (!underTest.credentials) delete underTest.credentials;
	nodes.push(underTest);
	(opts.then ?? []).forEach((t, i) => {
		const type = t.type ?? mainType;
		const version = latestVersion(nodeTypes.getByName(type));
		const node: INode = {
			id: `node-then-${i}`,
			name: t.name,
			type,
			typeVersion: version,
			position: [600 + 200 * i, 0],
			parameters: t.parameters as INodeParameters,
			credentials: credentialsFor(type, version),
			...(t.continueOnFail ? { onError: 'continueRegularOutput' as const } : {}),
		};
		if (!node.credentials) delete node.credentials;
		nodes.push(node);
	});
	const connections: N8nWorkflow.IConnections = {};
	for (let i = 0; i < nodes.length - 1; i++) {
		connections[nodes[i].name] = {
			main: [[{ node: nodes[i + 1].name, type: 'main', index: 0 }]],
		};
	}

	const workflowId = 'test-workflow';
	const workflow = new wf.Workflow({
		id: workflowId,
		name: 'Test workflow',
		nodes,
		connections,
		active: false,
		nodeTypes,
		staticData: {},
		settings: { executionOrder: 'v1', ...(opts.settings ?? {}) },
	});

	const executionId = String(++executionCounter);
	let hookRun: IRun | undefined;
	const hooks = new core.ExecutionLifecycleHooks('manual', executionId, {
		id: workflowId,
		name: workflow.name ?? 'Test workflow',
		active: false,
		activeVersionId: null,
		isArchived: false,
		createdAt: new Date(),
		updatedAt: new Date(),
		nodes,
		connections,
		settings: workflow.settings,
	} as unknown as N8nWorkflow.IWorkflowBase);
	// n8n persists the run its first `workflowExecuteAfter` call gets. On Stop that call comes from
	// the cancel handler (status 'canceled'), whatever the node throws afterwards.
	hooks.addHandler('workflowExecuteAfter', (run) => {
		hookRun ??= run;
	});

	const additionalData = makeAdditionalData({ credentialsHelper, executionId, workflowId, hooks });
	const runExecutionData: IRunExecutionData = wf.createRunExecutionData({
		executionData: {
			nodeExecutionStack: [{ node: trigger, data: { main: [[{ json: {} }]] }, source: null }],
		},
	});

	const logs: string[] = [];
	logSink = logs;
	const started = Date.now();
	let run: IRun | undefined;
	let thrown: unknown;
	let cancelTimer: NodeJS.Timeout | undefined;
	try {
		const execution = new core.WorkflowExecute(additionalData, 'manual', runExecutionData);
		const promise = execution.processRunExecutionData(workflow);
		if (opts.cancelAfterMs !== undefined) {
			cancelTimer = setTimeout(() => promise.cancel(), opts.cancelAfterMs);
		}
		run = await promise;
	} catch (error) {
		// e.g. WorkflowHasIssuesError (a required parameter missing), thrown before the run starts.
		thrown = error;
	} finally {
		if (cancelTimer) clearTimeout(cancelTimer);
	}
	const durationMs = Date.now() - started;
	run ??= hookRun;

	const fullRun: IRun =
		run ??
		({
			data: runExecutionData,
			mode: 'manual',
			startedAt: new Date(started),
			stoppedAt: new Date(),
			status: 'error',
		} as IRun);

	const runDataByNode = fullRun.data.resultData.runData;
	const resolved = new Map<string, OutputItem[][]>();
	for (const [name, tasks] of Object.entries(runDataByNode)) {
		const last = tasks[tasks.length - 1];
		const outputs = last?.data?.main ?? [];
		const perOutput: OutputItem[][] = [];
		for (const items of outputs) perOutput.push(await resolveItems(items));
		resolved.set(name, perOutput);
	}

	const error = toRunError(thrown ?? fullRun.data.resultData.error);
	return {
		status: thrown ? 'error' : (hookRun?.status ?? fullRun.status),
		error,
		output: (name = nodeName, outputIndex = 0) => resolved.get(name)?.[outputIndex] ?? [],
		nodeError: (name = nodeName) => {
			const tasks = runDataByNode[name];
			return toRunError(tasks?.[tasks.length - 1]?.error);
		},
		runData: fullRun,
		durationMs,
		logs,
	};
}
