/**
 * `npm run demo`: one Edit and one Text to Image job through n8n-core's real workflow engine, with the
 * node built in dist/, the images written to ./out/.
 *
 * By default it runs against the fake fal queue server bundled with the tests (test/support/fake-fal),
 * started here on 127.0.0.1: no account, no cost, placeholder noise images.
 *
 * With FAL_KEY set it runs against fal (or FLUX_KONTEXT_BASE_URL, a gateway that mirrors fal's queue
 * API; FLUX_KONTEXT_AUTH_SCHEME = auto | key | bearer). That costs money (about $0.04 per image with
 * Kontext [Pro]) and the Edit then starts from fal's public sample image rather than an uploaded one.
 * NOTE: that path has not been exercised here (the project's checks run without network access).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { FakeFal, makePng, VALID_TOKEN } from '../test/support/fake-fal';
import { REPO_ROOT, runNode } from './lib/run';

const SAMPLE_IMAGE_URL = 'https://v3.fal.media/files/rabbit/rmgBxhwGYb2d3pl3x9sKf_output.png';
const OUT_DIR = path.join(REPO_ROOT, 'out');

interface Job {
	label: string;
	slug: string;
	endpoint: string;
	parameters: Record<string, unknown>;
	items?: Parameters<typeof runNode>[0]['items'];
}

const kb = (bytes: number) => (bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`);

async function main(): Promise<number> {
	const realKey = process.env.FAL_KEY?.trim();
	let fal: FakeFal | undefined;
	let credentials: Record<string, unknown>;
	if (realKey) {
		credentials = {
			apiKey: realKey,
			baseUrl: process.env.FLUX_KONTEXT_BASE_URL?.trim() || 'https://queue.fal.run',
			authScheme: process.env.FLUX_KONTEXT_AUTH_SCHEME?.trim() || 'auto',
		};
		console.log(
			`FLUX Kontext demo against ${String(credentials.baseUrl)} (FAL_KEY set: real, billed jobs)`,
		);
	} else {
		fal = await FakeFal.start({ pngBytes: 256 * 256 * 3 });
		credentials = { apiKey: VALID_TOKEN, baseUrl: fal.url, authScheme: 'key' };
		console.log(`FLUX Kontext demo against the bundled fake fal server at ${fal.url}`);
		console.log('(set FAL_KEY to run real jobs at fal.ai instead)');
	}

	const prompt = 'Turn it into a watercolour painting, soft morning light';
	const jobs: Job[] = [
		realKey
			? {
					label: 'Edit',
					slug: 'edit',
					endpoint: 'fal-ai/flux-pro/kontext',
					parameters: {
						resource: 'image',
						operation: 'edit',
						model: 'pro',
						prompt,
						imageSource: 'url',
						imageUrl: SAMPLE_IMAGE_URL,
					},
				}
			: {
					label: 'Edit',
					slug: 'edit',
					endpoint: 'fal-ai/flux-pro/kontext',
					parameters: {
						resource: 'image',
						operation: 'edit',
						model: 'pro',
						prompt,
						imageSource: 'binary',
						binaryPropertyName: 'data',
					},
					items: [
						{
							json: {},
							binary: {
								data: { data: makePng(64, 64, 7), mimeType: 'image/png', fileName: 'input.png' },
							},
						},
					],
				},
		{
			label: 'Text to Image',
			slug: 'text-to-image',
			endpoint: 'fal-ai/flux-pro/kontext/text-to-image',
			parameters: {
				resource: 'image',
				operation: 'textToImage',
				model: 'pro',
				prompt: 'A lighthouse on a cliff at dawn, oil painting',
				options: { numImages: 2, outputFormat: 'png' },
			},
		},
	];

	fs.mkdirSync(OUT_DIR, { recursive: true });
	let failures = 0;
	try {
		for (const job of jobs) {
			const run = await runNode({ parameters: job.parameters, credentials, items: job.items });
			const [item] = run.output();
			const failure =
				run.error?.message ??
				(item?.json?.error as string | undefined) ??
				(item ? undefined : 'no output');
			const seconds = (run.durationMs / 1000).toFixed(2);
			if (failure) {
				failures++;
				console.log(`✗ ${job.label} (${job.endpoint}) failed after ${seconds} s: ${failure}`);
				if (run.error?.description) console.log(`  ${run.error.description}`);
				continue;
			}
			const requestId = String(item.json.request_id);
			// Against the fake, show the endpoint the server actually received the job on.
			const endpoint = fal?.jobs.get(requestId)?.endpoint ?? job.endpoint;
			console.log(`✓ ${job.label} · ${endpoint} · request ${requestId} · ${seconds} s`);
			const binaries = Object.entries(item.binary ?? {});
			if (binaries.length === 0) {
				failures++;
				console.log('  ✗ no images in the output');
			}
			binaries.forEach(([, binary], i) => {
				const ext = binary.fileExtension ?? (binary.mimeType === 'image/png' ? 'png' : 'jpg');
				const file = path.join(
					OUT_DIR,
					`${job.slug}${binaries.length > 1 ? `-${i + 1}` : ''}.${ext}`,
				);
				fs.writeFileSync(file, binary.data);
				console.log(
					`  → ${path.relative(process.cwd(), file)}  ${kb(binary.data.length)}  ${binary.mimeType}`,
				);
			});
		}
	} finally {
		await fal?.stop();
	}
	console.log(
		failures === 0
			? `Done: images in ${OUT_DIR}`
			: `${failures} job(s) failed; anything written is in ${OUT_DIR}`,
	);
	return failures === 0 ? 0 : 1;
}

main().then(
	(code) => process.exit(code),
	(error) => {
		console.error('Demo failed:', error instanceof Error ? error.message : error);
		process.exit(1);
	},
);
