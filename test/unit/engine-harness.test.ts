/**
 * Proves the engine harness (test/support/engine.ts, credential-tester.ts) against a throwaway
 * community-node package written to a temp dir and a local HTTP server: the package is loaded by
 * n8n-core's PackageDirectoryLoader and run in n8n-core's WorkflowExecute.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

import { credentialType, loadPackage, nodeDescription, runWorkflow } from '../support/engine';
import type { RunOptions } from '../support/engine';
import { testCredential } from '../support/credential-tester';

// ------------------------------------------------------------------ local server
interface Seen {
	method: string;
	url: string;
	headers: http.IncomingHttpHeaders;
	body: string;
}
const seen: Seen[] = [];
let slowAborted = false;
let baseUrl = '';
let server: http.Server;

function startServer(): Promise<void> {
	server = http.createServer((req, res) => {
		let body = '';
		req.on('data', (c) => (body += c));
		req.on('end', () => {
			seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
			const json = (status: number, data: unknown) => {
				res.writeHead(status, { 'content-type': 'application/json' });
				res.end(JSON.stringify(data));
			};
			if (req.url === '/echo') {
				return json(200, { headers: req.headers, body: body ? JSON.parse(body) : null });
			}
			if (req.url === '/slow') {
				const timer = setTimeout(() => json(200, { late: true }), 10_000);
				res.on('close', () => {
					clearTimeout(timer);
					if (!res.writableFinished) slowAborted = true;
				});
				return;
			}
			if (req.url === '/me') {
				const auth = req.headers.authorization;
				if (auth === 'Bearer good') return json(200, { status: 'active' });
				if (auth === 'Bearer disabled') return json(200, { status: 'disabled' });
				if (auth === 'Key teapot') return json(418, { detail: 'teapot' });
				return json(401, { detail: 'Invalid key' });
			}
			json(404, { detail: 'not found' });
		});
	});
	return new Promise((resolve) =>
		server.listen(0, '127.0.0.1', () => {
			baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
			resolve();
		}),
	);
}

// ------------------------------------------------------------------ throwaway package
let pkgDir = '';

const credentialSource = (defaultBaseUrl: string) => `
class XApi {
	constructor() {
		this.name = 'xApi';
		this.displayName = 'X API';
		this.documentationUrl = 'https://example.com/docs';
		this.properties = [
			{ displayName: 'API Key', name: 'apiKey', type: 'string', typeOptions: { password: true }, default: '' },
			{ displayName: 'Base URL', name: 'baseUrl', type: 'string', default: ${JSON.stringify(defaultBaseUrl)} },
			{ displayName: 'Scheme', name: 'scheme', type: 'options', options: [{ name: 'Bearer', value: 'bearer' }, { name: 'Key', value: 'key' }], default: 'bearer' },
		];
		this.authenticate = {
			type: 'generic',
			properties: {
				headers: {
					Authorization: '={{ ($credentials.scheme === "key" ? "Key " : "Bearer ") + $credentials.apiKey }}',
					'X-Harness': 'static',
				},
			},
		};
		this.test = {
			request: { baseURL: '={{ $credentials.baseUrl }}', url: '/me' },
			rules: [
				{ type: 'responseCode', properties: { value: 401, message: 'The API key was rejected' } },
				{ type: 'responseSuccessBody', properties: { key: 'status', value: 'disabled', message: 'This account is disabled' } },
			],
		};
	}
}
module.exports = { XApi };
`;

const nodeSource = `
const { NodeOperationError } = require('n8n-workflow');

class ProbeV1 {
	constructor(base) {
		this.description = { ...base, version: 1, properties: [] };
	}
	async execute() { return [this.getInputData()]; }
}

class ProbeV2 {
	constructor(base) {
		this.description = {
			...base,
			version: 2,
			defaults: { name: 'Probe' },
			inputs: ['main'],
			outputs: ['main'],
			credentials: [{ name: 'xApi', required: true }],
			properties: [
				{ displayName: 'Operation', name: 'operation', type: 'options', noDataExpression: true, default: 'request',
				  options: [
					{ name: 'Request', value: 'request' },
					{ name: 'Binary', value: 'binary' },
					{ name: 'Slow', value: 'slow' },
					{ name: 'Fail', value: 'fail' },
				  ] },
				{ displayName: 'Value', name: 'value', type: 'string', default: '' },
			],
		};
	}
	async execute() {
		const items = this.getInputData();
		const out = [];
		for (let i = 0; i < items.length; i++) {
			try {
				const op = this.getNodeParameter('operation', i);
				const value = this.getNodeParameter('value', i, '');
				const creds = await this.getCredentials('xApi');
				this.logger.info('probe running', { op, value });
				if (op === 'request') {
					const echoed = await this.helpers.httpRequestWithAuthentication.call(this, 'xApi', {
						method: 'POST', url: creds.baseUrl + '/echo', body: { value }, json: true,
					});
					out.push({ json: { value, echoed, baseUrl: creds.baseUrl }, pairedItem: { item: i } });
				} else if (op === 'binary') {
					const meta = this.helpers.assertBinaryData(i, 'data');
					const buf = await this.helpers.getBinaryDataBuffer(i, 'data');
					const reversed = Buffer.from(buf).reverse();
					out.push({
						json: { inLength: buf.length, inMimeType: meta.mimeType, inFileName: meta.fileName, inHex: buf.toString('hex') },
						binary: { data: await this.helpers.prepareBinaryData(reversed, 'out.png', 'image/png') },
						pairedItem: { item: i },
					});
				} else if (op === 'slow') {
					const signal = this.getExecutionCancelSignal();
					try {
						await this.helpers.httpRequestWithAuthentication.call(this, 'xApi', { url: creds.baseUrl + '/slow', json: true });
					} finally {
						this.logger.info('probe slow done, aborted=' + String(signal && signal.aborted));
					}
				} else {
					throw new NodeOperationError(this.getNode(), 'probe failed on purpose', { itemIndex: i, description: 'item ' + i });
				}
			} catch (error) {
				if (this.continueOnFail()) {
					out.push({ json: { error: error.message }, pairedItem: { item: i } });
					continue;
				}
				throw error;
			}
		}
		return [out];
	}
}

class Probe {
	constructor() {
		const base = {
			displayName: 'Probe', name: 'probe', icon: 'file:probe.svg', group: ['transform'],
			description: 'Harness probe', defaults: { name: 'Probe' }, inputs: ['main'], outputs: ['main'],
		};
		this.description = { ...base, defaultVersion: 2 };
		this.currentVersion = 2;
		this.nodeVersions = { 1: new ProbeV1(base), 2: new ProbeV2(base) };
	}
	getNodeType(version) { return this.nodeVersions[version ?? this.currentVersion]; }
}
module.exports = { Probe };
`;

function writeFixturePackage(defaultBaseUrl: string): string {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-harness-fixture-'));
	const write = (rel: string, text: string) => {
		fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
		fs.writeFileSync(path.join(dir, rel), text);
	};
	write(
		'package.json',
		JSON.stringify({
			name: 'n8n-nodes-harness-fixture',
			version: '0.0.1',
			n8n: {
				n8nNodesApiVersion: 1,
				credentials: ['dist/credentials/XApi.credentials.js'],
				nodes: ['dist/nodes/Probe/Probe.node.js'],
			},
		}),
	);
	write('dist/credentials/XApi.credentials.js', credentialSource(defaultBaseUrl));
	write('dist/nodes/Probe/Probe.node.js', nodeSource);
	write('dist/nodes/Probe/probe.svg', '<svg xmlns="http://www.w3.org/2000/svg"/>');
	// Resolve `require('n8n-workflow')` to the one copy in this repo (a symlink keeps one realpath).
	fs.mkdirSync(path.join(dir, 'node_modules'));
	fs.symlinkSync(
		path.resolve(__dirname, '..', '..', 'node_modules', 'n8n-workflow'),
		path.join(dir, 'node_modules', 'n8n-workflow'),
		'dir',
	);
	return dir;
}

const PROBE = 'n8n-nodes-harness-fixture.probe';
const run = (opts: Omit<RunOptions, 'packageDir' | 'nodeType'> & { nodeType?: string }) =>
	runWorkflow({ packageDir: pkgDir, nodeType: PROBE, ...opts });

beforeAll(async () => {
	await startServer();
	pkgDir = writeFixturePackage(baseUrl);
});

afterAll(async () => {
	server.closeAllConnections();
	await new Promise((resolve) => server.close(resolve));
	fs.rmSync(pkgDir, { recursive: true, force: true });
});

beforeEach(() => {
	seen.length = 0;
	slowAborted = false;
});

// ------------------------------------------------------------------ tests
describe('loading through PackageDirectoryLoader', () => {
	it('registers the package node under <package>.<name> and exposes descriptions', async () => {
		const pkg = await loadPackage(pkgDir);
		expect(pkg.packageName).toBe('n8n-nodes-harness-fixture');
		expect(Object.keys(pkg.nodeTypes)).toEqual([PROBE]);
		expect(Object.keys(pkg.credentialTypes)).toEqual(['xApi']);

		const description = await nodeDescription(PROBE, pkgDir);
		expect(description.version).toBe(2);
		expect(description.properties.map((p) => p.name)).toEqual(['operation', 'value']);
		// The loader stamps the package version on community nodes.
		expect(description.communityNodePackageVersion).toBe('0.0.1');

		const cred = await credentialType('xApi', pkgDir);
		expect(cred.name).toBe('xApi');
	});

	it('says to build first when the package’s dist files are missing', async () => {
		const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-harness-empty-'));
		try {
			fs.writeFileSync(
				path.join(empty, 'package.json'),
				JSON.stringify({
					name: 'n8n-nodes-empty',
					version: '0.0.0',
					n8n: { nodes: ['dist/nodes/X/X.node.js'] },
				}),
			);
			await expect(loadPackage(empty)).rejects.toThrow(
				/dist\/nodes\/X\/X\.node\.js missing.*npm run build/,
			);
		} finally {
			fs.rmSync(empty, { recursive: true, force: true });
		}
	});
});

describe('runWorkflow', () => {
	it('sends the header computed by the credential authenticate expression, with defaults applied', async () => {
		const result = await run({
			parameters: { operation: 'request', value: 'hello' },
			credentials: { apiKey: 'sk-123' }, // no baseUrl, no scheme: the type's defaults apply
		});
		expect(result.status).toBe('success');
		expect(seen).toHaveLength(1);
		expect(seen[0].headers.authorization).toBe('Bearer sk-123');
		expect(seen[0].headers['x-harness']).toBe('static');
		expect(JSON.parse(seen[0].body)).toEqual({ value: 'hello' });
		const [item] = result.output();
		expect(item.json.baseUrl).toBe(baseUrl);
		expect(item.json.echoed.body).toEqual({ value: 'hello' });
		expect(item.pairedItem).toEqual({ item: 0 });

		const keyed = await run({
			parameters: { operation: 'request', value: 'k' },
			credentials: { apiKey: 'sk-9', baseUrl, scheme: 'key' },
		});
		expect(keyed.status).toBe('success');
		expect(seen[1].headers.authorization).toBe('Key sk-9');
	});

	it('resolves expressions in parameters through n8n’s expression engine', async () => {
		const result = await run({
			items: [{ json: { x: 'first' } }, { json: { x: 'second' } }],
			parameters: { operation: 'request', value: '={{ $json.x }}-{{ $execution.resumeUrl }}' },
			credentials: { apiKey: 'k', baseUrl },
		});
		expect(result.status).toBe('success');
		const out = result.output();
		expect(out[0].json.value).toMatch(
			/^first-http:\/\/127\.0\.0\.1:5678\/webhook-waiting\/\d+(\?signature=[0-9a-f]+)?$/,
		);
		expect(out[1].json.value).toMatch(
			/^second-http:\/\/127\.0\.0\.1:5678\/webhook-waiting\/\d+(\?signature=[0-9a-f]+)?$/,
		);
		expect(out.map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
	});

	it('round-trips binary input through prepareBinaryData into the node and out', async () => {
		const bytes = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 255]);
		const result = await run({
			items: [
				{
					json: { n: 1 },
					binary: { data: { data: bytes, mimeType: 'image/png', fileName: 'in.png' } },
				},
			],
			parameters: { operation: 'binary' },
			credentials: { apiKey: 'k', baseUrl },
		});
		expect(result.status).toBe('success');
		// The items source produced real n8n binary data.
		const [source] = result.output('Items');
		expect(source.binary!.data.data.equals(bytes)).toBe(true);
		expect(source.binary!.data).toMatchObject({
			mimeType: 'image/png',
			fileName: 'in.png',
			fileExtension: 'png',
		});

		const [item] = result.output();
		expect(item.json).toEqual({
			inLength: bytes.length,
			inMimeType: 'image/png',
			inFileName: 'in.png',
			inHex: bytes.toString('hex'),
		});
		expect(item.binary!.data.data.equals(Buffer.from(bytes).reverse())).toBe(true);
		expect(item.binary!.data).toMatchObject({
			mimeType: 'image/png',
			fileName: 'out.png',
			fileExtension: 'png',
		});
		expect(item.binary!.data.fileSize).toBeDefined();
	});

	it('cancelAfterMs aborts the node’s execution-cancel signal (like pressing Stop)', async () => {
		const result = await run({
			parameters: { operation: 'slow' },
			credentials: { apiKey: 'k', baseUrl },
			cancelAfterMs: 300,
		});
		expect(result.status).toBe('canceled');
		expect(result.durationMs).toBeLessThan(5_000);
		expect(result.logs.some((l) => l.includes('probe slow done, aborted=true'))).toBe(true);
		// The in-flight request was torn down, too.
		await new Promise((r) => setTimeout(r, 50));
		expect(slowAborted).toBe(true);
	});

	it('continueOnFail turns a node error into an output item; without it the run fails', async () => {
		const items = [{ json: { a: 1 } }, { json: { a: 2 } }];
		const failed = await run({
			items,
			parameters: { operation: 'fail' },
			credentials: { apiKey: 'k', baseUrl },
		});
		expect(failed.status).toBe('error');
		expect(failed.error?.message).toBe('probe failed on purpose');
		expect(failed.nodeError()?.message).toBe('probe failed on purpose');
		expect(failed.output()).toEqual([]);

		const continued = await run({
			items,
			parameters: { operation: 'fail' },
			credentials: { apiKey: 'k', baseUrl },
			continueOnFail: true,
		});
		expect(continued.status).toBe('success');
		expect(continued.output().map((i) => [i.json, i.pairedItem])).toEqual([
			[{ error: 'probe failed on purpose' }, { item: 0 }],
			[{ error: 'probe failed on purpose' }, { item: 1 }],
		]);
	});

	it('fails the way n8n does when the node has no credential', async () => {
		const result = await run({ parameters: { operation: 'request' } });
		expect(result.status).toBe('error');
		expect(result.error?.message).toMatch(/credentials/i);
		expect(seen).toHaveLength(0);
	});

	it('chains a second node that reads the first one’s output', async () => {
		const result = await run({
			parameters: { operation: 'request', value: 'one' },
			credentials: { apiKey: 'k', baseUrl },
			then: [
				{ name: 'Second', parameters: { operation: 'request', value: '={{ $json.value }}-two' } },
			],
		});
		expect(result.status).toBe('success');
		expect(result.output('Second').map((i) => i.json.value)).toEqual(['one-two']);
		expect(result.output('Second')[0].pairedItem).toEqual({ item: 0 });
		expect(seen.map((s) => JSON.parse(s.body).value)).toEqual(['one', 'one-two']);
		expect(seen.every((s) => s.headers.authorization === 'Bearer k')).toBe(true);
	});

	it('captures what nodes log through this.logger', async () => {
		const result = await run({
			parameters: { operation: 'request', value: 'logged-value' },
			credentials: { apiKey: 'secret-token', baseUrl },
		});
		expect(result.logs.some((l) => l.includes('probe running') && l.includes('logged-value'))).toBe(
			true,
		);
		expect(result.logs.join('\n')).not.toContain('secret-token');
	});
});

describe('testCredential', () => {
	const opts = () => ({ credentialType: 'xApi', packageDir: pkgDir });

	it('is OK when the test request succeeds, using the credential’s own authenticate block', async () => {
		await expect(testCredential({ apiKey: 'good', baseUrl }, opts())).resolves.toEqual({
			status: 'OK',
			message: 'Connection successful!',
		});
		expect(seen.at(-1)?.headers.authorization).toBe('Bearer good');
	});

	it('maps a 401 to the responseCode rule’s message', async () => {
		await expect(testCredential({ apiKey: 'bad', baseUrl }, opts())).resolves.toEqual({
			status: 'Error',
			message: 'The API key was rejected',
		});
	});

	it('maps other non-2xx statuses to n8n’s generic message', async () => {
		const result = await testCredential({ apiKey: 'teapot', baseUrl, scheme: 'key' }, opts());
		expect(result.status).toBe('Error');
		expect([
			"I'm a Teapot",
			'I’m a Teapot',
			"I'm a teapot",
			'Received HTTP status code: 418',
		]).toContain(result.message);
	});

	it('applies responseSuccessBody rules', async () => {
		await expect(testCredential({ apiKey: 'disabled', baseUrl }, opts())).resolves.toEqual({
			status: 'Error',
			message: 'This account is disabled',
		});
	});

	it('uses the credential type’s defaults for fields the user left out', async () => {
		// baseUrl's default in the fixture is this server.
		await expect(testCredential({ apiKey: 'good' }, opts())).resolves.toMatchObject({
			status: 'OK',
		});
	});
});
