/**
 * `npm run demo`: an Edit of a sample photo and a Text to Image through n8n-core's real workflow
 * engine, with the node built in dist/ and Split Into Items on (one output item per image); the
 * input and every output image are written side by side into ./out/.
 *
 * By default it runs against the fake fal queue server bundled with the tests
 * (test/support/fake-fal), started here on 127.0.0.1: no account, no cost. Its images show what
 * happened: the Edit returns the photo recoloured and framed in the prompt's colour, Text to Image
 * a landscape drawn from the prompt, both 1024 px on the long side as fal's Kontext makes them.
 *
 * With FAL_KEY set it runs the same jobs at fal (or FLUX_KONTEXT_BASE_URL, a gateway that mirrors
 * fal's queue API; FLUX_KONTEXT_AUTH_SCHEME = auto | key | bearer). That costs money: 4 images,
 * about $0.16 with Kontext [Pro]. The photo is uploaded to fal's storage (inline for a gateway).
 * NOTE: that path has not been exercised here (the project's checks run without network access).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { FakeFal, VALID_TOKEN } from '../test/support/fake-fal';
import { decodeImage, encodeImage, type Pixels } from '../test/support/fake-fal/pictures';
import type { OutputItem } from '../test/support/engine';
import { REPO_ROOT, runNode } from './lib/run';

const OUT_DIR = path.join(REPO_ROOT, 'out');
const SAMPLE_PHOTO = path.join(REPO_ROOT, 'test', 'fixtures', 'sample-photo.jpg');

interface Job {
	label: string;
	slug: string;
	parameters: Record<string, unknown>;
	items?: Parameters<typeof runNode>[0]['items'];
}

const kb = (bytes: number) => (bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`);
const shown = (file: string) => path.relative(process.cwd(), file) || file;

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
		fal = await FakeFal.start({ pictureSize: 1024 });
		credentials = { apiKey: VALID_TOKEN, baseUrl: fal.url, authScheme: 'key' };
		console.log(`FLUX Kontext demo against the bundled fake fal server at ${fal.url}`);
	}

	const photo = fs.readFileSync(SAMPLE_PHOTO);
	const jobs: Job[] = [
		{
			label: 'Edit',
			slug: 'edit',
			parameters: {
				resource: 'image',
				operation: 'edit',
				model: 'pro',
				prompt: 'Turn it into a golden autumn evening, warm light on the mountains',
				imageSource: 'binary',
				binaryPropertyName: 'data',
				options: { numImages: 2, splitImages: true },
			},
			items: [
				{
					json: {},
					binary: { data: { data: photo, mimeType: 'image/jpeg', fileName: 'sample-photo.jpg' } },
				},
			],
		},
		{
			label: 'Text to Image',
			slug: 'text-to-image',
			parameters: {
				resource: 'image',
				operation: 'textToImage',
				model: 'pro',
				prompt: 'A lighthouse on a cliff at dawn, oil painting',
				options: { numImages: 2, aspectRatio: '16:9', outputFormat: 'png', splitImages: true },
			},
		},
	];

	fs.rmSync(OUT_DIR, { recursive: true, force: true });
	fs.mkdirSync(OUT_DIR, { recursive: true });
	const input = path.join(OUT_DIR, 'edit-0-input.jpg');
	fs.writeFileSync(input, photo);
	console.log(`Input: ${shown(input)}  ${kb(photo.length)}  (${shown(SAMPLE_PHOTO)})`);
	let failures = 0;
	try {
		for (const job of jobs) {
			const run = await runNode({ parameters: job.parameters, credentials, items: job.items });
			const output = run.output();
			const failure =
				run.error?.message ??
				(output.find((item) => item.json?.error)?.json.error as string | undefined) ??
				(output.length ? undefined : 'no output');
			const seconds = (run.durationMs / 1000).toFixed(2);
			if (failure) {
				failures++;
				console.log(`✗ ${job.label} failed after ${seconds} s: ${failure}`);
				if (run.error?.description) console.log(`  ${run.error.description}`);
				continue;
			}
			const requestId = String(output[0].json.request_id);
			// Against the fake, show the endpoint the server actually received the job on.
			const endpoint = fal?.jobs.get(requestId)?.endpoint ?? '';
			console.log(
				`✓ ${job.label}${endpoint ? ` · ${endpoint}` : ''} · request ${requestId} · ${seconds} s · ${output.length} items`,
			);
			const written = output.map((item) => writeImage(job.slug, item));
			if (written.includes(undefined)) failures++;
			if (job.slug === 'edit' && !written.includes(undefined)) {
				const sideBySide = sideBySideOf([photo, ...output.map((item) => item.binary!.data.data)]);
				if (sideBySide) {
					const file = path.join(OUT_DIR, 'edit-side-by-side.jpg');
					fs.writeFileSync(file, sideBySide);
					console.log(`  → ${shown(file)}  ${kb(sideBySide.length)}  input | outputs`);
				}
			}
		}
	} finally {
		await fal?.stop();
	}
	console.log(
		failures === 0
			? `Done: the input and the images are in ${shown(OUT_DIR)}/`
			: `${failures} job(s) failed; anything written is in ${shown(OUT_DIR)}/`,
	);
	if (!realKey) {
		console.log(
			[
				'',
				'The same demo at fal.ai (real FLUX.1 Kontext [Pro] jobs: 4 images, about $0.16):',
				'  FAL_KEY=<your key from fal.ai/dashboard/keys> npm run demo',
				'A gateway that mirrors fal: add FLUX_KONTEXT_BASE_URL=https://your-gateway',
				'(and FLUX_KONTEXT_AUTH_SCHEME=bearer|key if Auto guesses wrong).',
			].join('\n'),
		);
	}
	return failures === 0 ? 0 : 1;
}

/** Writes one output item's image as out/<slug>-<n>.<ext>; undefined when it has none. */
function writeImage(slug: string, item: OutputItem): string | undefined {
	const binary = item.binary?.data;
	const index = Number(item.json.image_index ?? 0) + 1;
	if (!binary) {
		console.log(`  ✗ image ${index}: no binary in the output`);
		return undefined;
	}
	const extension = binary.fileExtension ?? (binary.mimeType === 'image/png' ? 'png' : 'jpg');
	const file = path.join(OUT_DIR, `${slug}-${index}.${extension}`);
	fs.writeFileSync(file, binary.data);
	const size = `${String(item.json.width ?? '?')} x ${String(item.json.height ?? '?')}`;
	console.log(
		`  → ${shown(file)}  ${kb(binary.data.length)}  ${binary.mimeType}  ${size}  (the node named it ${binary.fileName ?? '-'})`,
	);
	return file;
}

/** The images in a row, each scaled to the same height (512 px), as a JPEG; undefined if any is not PNG or JPEG. */
function sideBySideOf(images: Buffer[]): Buffer | undefined {
	const decoded = images.map((bytes) => decodeImage(bytes));
	if (decoded.some((image) => !image)) return undefined;
	const height = 512;
	const gap = 16;
	const widths = (decoded as Pixels[]).map((image) =>
		Math.round((image.width * height) / image.height),
	);
	const width = widths.reduce((sum, w) => sum + w, 0) + gap * (images.length - 1);
	const data = new Uint8Array(width * height * 4).fill(255);
	let left = 0;
	(decoded as Pixels[]).forEach((image, n) => {
		for (let y = 0; y < height; y++) {
			const sy = Math.floor((y * image.height) / height);
			for (let x = 0; x < widths[n]; x++) {
				const sx = Math.floor((x * image.width) / widths[n]);
				const from = (sy * image.width + sx) * 4;
				data.set(image.data.subarray(from, from + 4), (y * width + left + x) * 4);
			}
		}
		left += widths[n] + gap;
	});
	return encodeImage({ width, height, data }, 'jpeg');
}

main().then(
	(code) => process.exit(code),
	(error) => {
		console.error('Demo failed:', error instanceof Error ? error.message : error);
		process.exit(1);
	},
);
