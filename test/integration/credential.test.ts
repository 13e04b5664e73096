/**
 * Issue 2 item 1: the credential. Its connection test runs the way n8n's credential tester runs it (RoutingNode);
 * its auth header comes from its own `authenticate` block, evaluated by n8n's expression engine.
 */
import { Workflow } from 'n8n-workflow';

import {
	credentialType,
	initEngine,
	loadPackage,
	makeNodeTypes,
	TestCredentialsHelper,
} from '../support/engine';
import { testCredential } from '../support/credential-tester';
import { runWorkflow } from '../support/engine';
import { credentialsFor, editParams, requestsOf, useFakeFal, VALID_TOKEN } from './setup';

const server = useFakeFal();

describe('credential test', () => {
	it('accepts a valid token without starting a job, and tells a rejected one apart', async () => {
		const { fal } = server;
		await expect(testCredential(credentialsFor(fal))).resolves.toEqual({
			status: 'OK',
			message: 'Connection successful!',
		});
		expect(requestsOf(fal, 'submit')).toHaveLength(0);
		expect(fal.requests[0].path).toBe(
			'/fal-ai/flux-pro/requests/00000000-0000-4000-8000-000000000000/status',
		);
		await expect(testCredential(credentialsFor(fal, { apiKey: 'wrong' }))).resolves.toEqual({
			status: 'Error',
			message: 'The token was rejected (401). Check the API key and the Auth Scheme.',
		});
		fal.inject({
			kind: 'status',
			status: 403,
			body: { detail: 'User is locked. Reason: Exhausted balance.' },
		});
		await expect(testCredential(credentialsFor(fal))).resolves.toMatchObject({
			status: 'Error',
			message: expect.stringMatching(/403/),
		});
		expect(requestsOf(fal, 'submit')).toHaveLength(0);
	});

	it("tells them apart where n8n 1.x ignores every status (fal's 401 body)", async () => {
		const { fal } = server;
		const asN8n1 = { asN8n1: true };
		await expect(testCredential(credentialsFor(fal), asN8n1)).resolves.toEqual({
			status: 'OK',
			message: 'Connection successful!',
		});
		await expect(testCredential(credentialsFor(fal, { apiKey: 'wrong' }), asN8n1)).resolves.toEqual(
			{
				status: 'Error',
				message: 'The token was rejected (401). Check the API key and the Auth Scheme.',
			},
		);
		// What the body rule leaves out: a 401 that is not fal's (a gateway's) passes there, as does
		// a 403 (its body names the reason, not a fixed text). On n8n 2.x both fail (test above).
		fal.inject({ kind: 'status', status: 401, body: { error: 'invalid token' } });
		await expect(testCredential(credentialsFor(fal), asN8n1)).resolves.toMatchObject({
			status: 'OK',
		});
		expect(requestsOf(fal, 'submit')).toHaveLength(0);
	});

	it('works with a base URL given with a trailing slash', async () => {
		const { fal } = server;
		await expect(
			testCredential(credentialsFor(fal, { baseUrl: `${fal.url}/` })),
		).resolves.toMatchObject({ status: 'OK' });
		expect(fal.requests[0].path).toBe(
			'/fal-ai/flux-pro/requests/00000000-0000-4000-8000-000000000000/status',
		);
	});

	it('fails when nothing answers at the base URL', async () => {
		const result = await testCredential({ apiKey: VALID_TOKEN, baseUrl: 'http://127.0.0.1:9' });
		// n8n's declarative credential test reports a socket failure by its code alone (it cannot name the
		// host); the code still tells "nothing answers" from a refused token or a wrong path.
		expect(result).toEqual({ status: 'Error', message: 'ECONNREFUSED' });
	});
});

describe('auth scheme', () => {
	/** The Authorization header the credential's own authenticate block gives for some credential data. */
	async function header(data: Record<string, unknown>): Promise<unknown> {
		await initEngine();
		const pkg = await loadPackage();
		const type = await credentialType();
		const helper = new TestCredentialsHelper(pkg.credentialTypes);
		const node = {
			id: '1',
			name: 'FLUX Kontext',
			type: 'n8n-nodes-flux-kontext.fluxKontext',
			typeVersion: 1,
			position: [0, 0] as [number, number],
			parameters: {},
		};
		const workflow = new Workflow({
			nodes: [node],
			connections: {},
			active: false,
			nodeTypes: makeNodeTypes(pkg),
		});
		const options = await helper.authenticate(
			{ apiKey: 'sk-1', ...data },
			type.name,
			{ url: '/' },
			workflow,
			node,
		);
		return options.headers?.Authorization;
	}

	it.each([
		[{ baseUrl: 'https://queue.fal.run', authScheme: 'auto' }, 'Key sk-1'],
		[{ baseUrl: 'https://queue.fal.run/', authScheme: 'auto' }, 'Key sk-1'],
		[{ baseUrl: 'https://fal.run', authScheme: 'auto' }, 'Key sk-1'],
		[{ baseUrl: 'https://rest.alpha.fal.ai', authScheme: 'auto' }, 'Key sk-1'],
		[{ authScheme: 'auto' }, 'Key sk-1'],
		[{}, 'Key sk-1'],
		[{ baseUrl: 'https://www.kkiai.com', authScheme: 'auto' }, 'Bearer sk-1'],
		[{ baseUrl: 'https://fal.run.evil.example', authScheme: 'auto' }, 'Bearer sk-1'],
		[{ baseUrl: 'https://notfal.run', authScheme: 'auto' }, 'Bearer sk-1'],
		[{ baseUrl: 'https://queue.fal.run', authScheme: 'bearer' }, 'Bearer sk-1'],
		[{ baseUrl: 'https://gw.example.com', authScheme: 'key' }, 'Key sk-1'],
	])('%j → %s', async (data, expected) => {
		await expect(header(data)).resolves.toBe(expected);
	});

	it('the header reaches the server as computed, in a real run', async () => {
		const { fal } = server;
		await runWorkflow({
			parameters: editParams({ waitForCompletion: false }),
			credentials: credentialsFor(fal, { authScheme: 'key' }),
		});
		expect(requestsOf(fal, 'submit')[0].headers.authorization).toBe(`Key ${VALID_TOKEN}`);
		fal.reset();
		// Auto toward a host that is not fal's: a gateway, which takes Bearer only.
		fal.options.authScheme = 'bearer';
		await runWorkflow({
			parameters: editParams({ waitForCompletion: false }),
			credentials: credentialsFor(fal, { authScheme: 'auto' }),
		});
		expect(requestsOf(fal, 'submit')[0].headers.authorization).toBe(`Bearer ${VALID_TOKEN}`);
	});

	it('refuses a base URL that is not http(s), before any request', async () => {
		const run = await runWorkflow({
			parameters: editParams(),
			credentials: { apiKey: VALID_TOKEN, baseUrl: 'ftp://files.example.com' },
		});
		expect(run.error?.message).toBe('Base URL: "ftp://files.example.com" is not an http(s) URL');
	});
});
