/**
 * `npm run screenshots` (not part of CI): the e2e n8n (regular mode, the packed package, the fake fal), its
 * editor in Debian's headless Chromium, and PNGs of what a user sees into docs/: the node's panel for Edit,
 * Text to Image and Get Result, and one example workflow on the canvas. Needs root (as the e2e run) and
 * Debian's chromium (installed with apt-get when missing).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { chromium, type Page } from 'playwright-core';

import { FakeFal } from '../../test/support/fake-fal';
import { NODE_TYPE, PACKAGE_NAME } from '../lib/repo';
import { installN8n, NEWEST_N8N, OWNER, Rest, startInstance } from './lib/n8n';
import { runToEnd, stopAll, stopAllOnExit } from './lib/processes';
import {
	e2eCredentials,
	examples,
	packPackage,
	REPO,
	withId,
	workflowIds,
	type WorkflowFile,
} from './lib/workflows';

const DOCS = path.join(REPO, 'docs');
const CHROMIUM = '/usr/bin/chromium';

/** One workflow holding the three operations to show, as a user would set them up. */
const panels: WorkflowFile = {
	name: "FLUX Kontext: the node's operations",
	nodes: [
		{
			name: 'When clicking ‘Execute workflow’',
			type: 'n8n-nodes-base.manualTrigger',
			parameters: {},
		},
		{
			name: 'Edit an image',
			type: NODE_TYPE,
			parameters: {
				resource: 'image',
				operation: 'edit',
				prompt: 'Put a donut next to the flour',
				imageSource: 'url',
				imageUrl: '={{ $json.url }}',
				options: { outputFormat: 'png' },
			},
		},
		{
			name: 'Create an image',
			type: NODE_TYPE,
			parameters: {
				resource: 'image',
				operation: 'textToImage',
				prompt: 'A lighthouse at dawn, oil painting',
				options: { aspectRatio: '16:9' },
			},
		},
		{
			name: 'Get the result',
			type: NODE_TYPE,
			parameters: { resource: 'request', operation: 'getResult' },
		},
	].map((node, i) => ({
		...node,
		id: `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
		typeVersion: 1,
		position: [i * 240, 0],
		...(node.type === NODE_TYPE
			? { credentials: { fluxKontextApi: { id: '', name: 'FLUX Kontext account' } } }
			: {}),
	})),
	connections: {
		'When clicking ‘Execute workflow’': {
			main: [[{ node: 'Edit an image', type: 'main', index: 0 }]],
		},
		'Edit an image': { main: [[{ node: 'Create an image', type: 'main', index: 0 }]] },
		'Create an image': { main: [[{ node: 'Get the result', type: 'main', index: 0 }]] },
	},
	settings: { executionOrder: 'v1' },
};

async function settle(page: Page): Promise<void> {
	await page.waitForLoadState('networkidle', { timeout: 30_000 }).catch(() => undefined);
	await page.waitForTimeout(1500);
}

async function main(): Promise<void> {
	stopAllOnExit();
	if (spawnSync('sh', ['-c', `test -x ${CHROMIUM}`]).status !== 0) {
		console.log("installing Debian's chromium");
		runToEnd(
			'sh',
			[
				'-c',
				'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium',
			],
			{ timeoutMs: 900_000 },
		);
	}
	const runRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'flux-kontext-screenshots-'));
	const install = installN8n(REPO, process.env.N8N_E2E_VERSION ?? NEWEST_N8N);
	const fal = await FakeFal.start();
	const workflows = [...Object.entries(examples), ['panels', panels] as const].map(
		([key, workflow]) => withId(key, workflow),
	);
	const n8n = await startInstance({
		install,
		runDir: path.join(runRoot, 'regular'),
		tarball: packPackage(runRoot),
		packageName: PACKAGE_NAME,
		credentials: e2eCredentials(fal.url, 'http://127.0.0.1:9/v1'),
		workflows,
		mode: 'regular',
	});
	const browser = await chromium.launch({
		executablePath: CHROMIUM,
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
	});
	try {
		await new Rest(n8n.url, install).setUpOwnerAndLogIn();
		const page = await browser.newPage({
			viewport: { width: 1440, height: 900 },
			deviceScaleFactor: 1,
		});
		await page.goto(`${n8n.url}/signin`);
		await page
			.locator('input[type=email], input[name=emailOrLdapLoginId], input[name=email]')
			.first()
			.fill(OWNER.email);
		await page.locator('input[type=password]').first().fill(OWNER.password);
		await page.keyboard.press('Enter');
		await page.waitForURL((url) => !url.pathname.startsWith('/signin'), { timeout: 60_000 });
		await settle(page);
		fs.mkdirSync(DOCS, { recursive: true });

		const shots: Array<[string, string, string?]> = [
			['workflow-batch-restyle.png', workflowIds.get('batch-restyle-images')!],
			['panel-edit.png', workflowIds.get('panels')!, '00000000-0000-4000-8000-000000000002'],
			[
				'panel-text-to-image.png',
				workflowIds.get('panels')!,
				'00000000-0000-4000-8000-000000000003',
			],
			['panel-get-result.png', workflowIds.get('panels')!, '00000000-0000-4000-8000-000000000004'],
		];
		for (const [file, workflowId, nodeId] of shots) {
			// /workflow/<id>/<node id> opens the workflow with that node's panel open.
			await page.goto(`${n8n.url}/workflow/${workflowId}${nodeId ? `/${nodeId}` : ''}`);
			await settle(page);
			if (!nodeId) await page.keyboard.press('Shift+1').catch(() => undefined); // zoom to fit
			await page.waitForTimeout(800);
			await page.screenshot({ path: path.join(DOCS, file) });
			console.log(`docs/${file}`);
		}
	} finally {
		await browser.close();
		await n8n.stop();
		await stopAll();
		await fal.stop();
	}
}

main().catch(async (error: Error) => {
	console.error(error);
	await stopAll();
	process.exit(1);
});
