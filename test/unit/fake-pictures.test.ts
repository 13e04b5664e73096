/**
 * Issue 20: the fake fal server's images show what happened. An Edit's output is its input,
 * recoloured and framed in the prompt's colour (decoded and compared here); a Text to Image's
 * depends on the prompt, the seed, the image's index and the aspect ratio. Through the fake's
 * HTTP API, as the node sees it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { PNG } from 'pngjs';

import { FakeFal, VALID_TOKEN } from '../support/fake-fal';
import type { Pixels } from '../support/fake-fal/pictures';
import { decodeImage, pictureSize, PROMPT_COLOURS } from '../support/fake-fal/pictures';

const AUTH = { authorization: `Key ${VALID_TOKEN}`, 'content-type': 'application/json' };
const SAMPLE = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'sample-photo.jpg'));

let fal: FakeFal;
beforeAll(async () => {
	fal = await FakeFal.start({ pictureSize: 128, timing: () => ({ queueMs: 0, runMs: 0 }) });
});
afterAll(async () => await fal.stop());

interface ResultImage {
	url: string;
	width: number;
	height: number;
	content_type: string;
}

/** Submits a job, waits for it, and returns its images' entries and decoded pixels. */
async function run(
	endpoint: string,
	input: Record<string, unknown>,
): Promise<Array<{ entry: ResultImage; bytes: Buffer; pixels: Pixels }>> {
	const submitted = await fetch(`${fal.url}/${endpoint}`, {
		method: 'POST',
		headers: AUTH,
		body: JSON.stringify(input),
	});
	const { status_url, response_url } = (await submitted.json()) as Record<string, string>;
	for (let i = 0; i < 500; i++) {
		const status = (await (await fetch(status_url, { headers: AUTH })).json()) as {
			status: string;
		};
		if (status.status === 'COMPLETED') break;
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
	const result = (await (await fetch(response_url, { headers: AUTH })).json()) as {
		images: ResultImage[];
	};
	return await Promise.all(
		result.images.map(async (entry) => {
			const bytes = Buffer.from(await (await fetch(entry.url)).arrayBuffer());
			const pixels = decodeImage(bytes);
			if (!pixels) throw new Error(`not a PNG or JPEG: ${entry.url}`);
			expect([pixels.width, pixels.height]).toEqual([entry.width, entry.height]);
			return { entry, bytes, pixels };
		}),
	);
}

const dataUrl = (bytes: Buffer, type: string) => `data:${type};base64,${bytes.toString('base64')}`;

/** Mean luminance of each cell of a grid over the area inside a margin (a fraction of each side). */
function luminanceGrid(image: Pixels, cells: number, margin: number): number[] {
	const grid: number[] = [];
	const x0 = image.width * margin;
	const y0 = image.height * margin;
	const w = (image.width - 2 * x0) / cells;
	const h = (image.height - 2 * y0) / cells;
	for (let cy = 0; cy < cells; cy++) {
		for (let cx = 0; cx < cells; cx++) {
			let sum = 0;
			let n = 0;
			for (let y = Math.floor(y0 + cy * h); y < y0 + (cy + 1) * h; y += 2) {
				for (let x = Math.floor(x0 + cx * w); x < x0 + (cx + 1) * w; x += 2) {
					const i = (y * image.width + x) * 4;
					sum += 0.299 * image.data[i] + 0.587 * image.data[i + 1] + 0.114 * image.data[i + 2];
					n++;
				}
			}
			grid.push(sum / n);
		}
	}
	return grid;
}

/** Pearson correlation of two series. */
function correlation(a: number[], b: number[]): number {
	const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
	const ma = mean(a);
	const mb = mean(b);
	let num = 0;
	let da = 0;
	let db = 0;
	for (let i = 0; i < a.length; i++) {
		num += (a[i] - ma) * (b[i] - mb);
		da += (a[i] - ma) ** 2;
		db += (b[i] - mb) ** 2;
	}
	return num / Math.sqrt(da * db);
}

const pixel = (image: Pixels, x: number, y: number) =>
	Array.from(image.data.subarray((y * image.width + x) * 4, (y * image.width + x) * 4 + 3));

/** Mean absolute difference per channel of two images of the same size. */
function difference(a: Pixels, b: Pixels): number {
	let sum = 0;
	for (let i = 0; i < a.data.length; i += 4)
		for (let c = 0; c < 3; c++) sum += Math.abs(a.data[i + c] - b.data[i + c]);
	return sum / ((a.data.length / 4) * 3);
}

/** A grey PNG, dark on the left and light on the right (or mirrored). */
function gradient(flip: boolean): Buffer {
	const png = new PNG({ width: 60, height: 40 });
	for (let y = 0; y < 40; y++)
		for (let x = 0; x < 60; x++) {
			const v = Math.round(((flip ? 59 - x : x) / 59) * 255);
			png.data.set([v, v, v, 255], (y * 60 + x) * 4);
		}
	return PNG.sync.write(png);
}

describe("the fake's Edit shows its input, changed as the prompt says", () => {
	it('the sample photo comes back recoloured, in its own ratio, framed in the colour the prompt names', async () => {
		const input = decodeImage(SAMPLE)!;
		const [edited] = await run('fal-ai/flux-pro/kontext', {
			prompt: 'Make it a teal winter morning',
			image_url: dataUrl(SAMPLE, 'image/jpeg'),
			output_format: 'png',
		});
		expect(edited.entry.content_type).toBe('image/png');
		// 640 x 427 at 128 px on the long side: 128 x 88 (multiples of 8), the input's ratio.
		expect([edited.pixels.width, edited.pixels.height]).toEqual([128, 88]);
		// The frame is the prompt's colour (exact: PNG).
		expect(pixel(edited.pixels, 1, 1)).toEqual(PROMPT_COLOURS.teal);
		expect(pixel(edited.pixels, 127, 50)).toEqual(PROMPT_COLOURS.teal);
		// Inside the frame: the input's shapes (its light and dark places), not its colours.
		const inside = luminanceGrid(edited.pixels, 8, 0.08);
		const original = luminanceGrid(input, 8, 0.08);
		expect(correlation(inside, original)).toBeGreaterThan(0.9);
		const scaledInput = { ...edited.pixels, data: new Uint8Array(edited.pixels.data.length) };
		for (let y = 0; y < scaledInput.height; y++)
			for (let x = 0; x < scaledInput.width; x++) {
				const sx = Math.floor((x * input.width) / scaledInput.width);
				const sy = Math.floor((y * input.height) / scaledInput.height);
				scaledInput.data.set(
					input.data.subarray((sy * input.width + sx) * 4, (sy * input.width + sx) * 4 + 4),
					(y * scaledInput.width + x) * 4,
				);
			}
		expect(difference(edited.pixels, scaledInput)).toBeGreaterThan(20);
	});

	it('another input gives another output: each follows its own input', async () => {
		const prompt = 'Paint it red';
		const [left] = await run('fal-ai/flux-pro/kontext', {
			prompt,
			image_url: dataUrl(gradient(false), 'image/png'),
			output_format: 'png',
		});
		const [right] = await run('fal-ai/flux-pro/kontext', {
			prompt,
			image_url: dataUrl(gradient(true), 'image/png'),
			output_format: 'png',
		});
		const l = luminanceGrid(left.pixels, 4, 0.1);
		const r = luminanceGrid(right.pixels, 4, 0.1);
		expect(l[0]).toBeLessThan(l[3]);
		expect(r[0]).toBeGreaterThan(r[3]);
		expect(correlation(l, r)).toBeLessThan(-0.9);
		expect(pixel(left.pixels, 0, 0)).toEqual(PROMPT_COLOURS.red);
	});

	it('several images: the same frame, each tinted at its own hue; an aspect ratio is honoured', async () => {
		const images = await run('fal-ai/flux-pro/kontext', {
			prompt: 'Make the sky gold',
			image_url: dataUrl(gradient(false), 'image/png'),
			num_images: 2,
			aspect_ratio: '1:1',
			output_format: 'png',
		});
		expect(images.map(({ pixels }) => [pixels.width, pixels.height])).toEqual([
			[128, 128],
			[128, 128],
		]);
		for (const { pixels } of images) expect(pixel(pixels, 2, 2)).toEqual(PROMPT_COLOURS.gold);
		expect(difference(images[0].pixels, images[1].pixels)).toBeGreaterThan(10);
	});
});

describe("the fake's Text to Image draws the prompt", () => {
	const t2i = 'fal-ai/flux-pro/kontext/text-to-image';

	it('the aspect ratio sets the size; the prompt, the seed and the index the picture', async () => {
		const wide = await run(t2i, { prompt: 'A blue harbour', seed: 1, aspect_ratio: '16:9' });
		expect([wide[0].entry.width, wide[0].entry.height]).toEqual([128, 72]);
		expect(wide[0].entry.content_type).toBe('image/jpeg');
		const tall = await run(t2i, { prompt: 'A blue harbour', seed: 1, aspect_ratio: '9:16' });
		expect([tall[0].entry.width, tall[0].entry.height]).toEqual([72, 128]);
		const square = await run(t2i, { prompt: 'A blue harbour', seed: 1 });
		expect([square[0].entry.width, square[0].entry.height]).toEqual([128, 128]);

		const again = await run(t2i, { prompt: 'A blue harbour', seed: 1, aspect_ratio: '16:9' });
		expect(again[0].bytes.equals(wide[0].bytes)).toBe(true);
		const otherSeed = await run(t2i, { prompt: 'A blue harbour', seed: 2, aspect_ratio: '16:9' });
		expect(difference(otherSeed[0].pixels, wide[0].pixels)).toBeGreaterThan(3);
		const otherPrompt = await run(t2i, { prompt: 'A red barn', seed: 1, aspect_ratio: '16:9' });
		expect(difference(otherPrompt[0].pixels, wide[0].pixels)).toBeGreaterThan(20);
		const pair = await run(t2i, { prompt: 'A blue harbour', seed: 1, num_images: 2 });
		expect(difference(pair[0].pixels, pair[1].pixels)).toBeGreaterThan(3);
	});

	it('fal-like sizes for a 1024 px fake: the long side 1024, the other side from the ratio', () => {
		// Through HTTP at 1024 px this is what `npm run demo` shows; here the arithmetic alone.
		const request = (aspectRatio?: string) =>
			({
				kind: 'textToImage',
				prompt: 'x',
				seed: 1,
				index: 0,
				format: 'png',
				longSide: 1024,
				aspectRatio,
			}) as const;
		expect(pictureSize(request('4:3'))).toEqual({ width: 1024, height: 768 });
		expect(pictureSize(request('21:9'))).toEqual({ width: 1024, height: 440 });
		expect(pictureSize(request('9:16'))).toEqual({ width: 576, height: 1024 });
		expect(pictureSize(request())).toEqual({ width: 1024, height: 1024 });
		expect(pictureSize({ ...request(), kind: 'edit' }, { width: 640, height: 427 })).toEqual({
			width: 1024,
			height: 680,
		});
	});
});

describe('the sample photo', () => {
	it('test/fixtures/sample-photo.jpg is a 640 x 427 JPEG (drawn by scripts/make-sample-photo.ts)', () => {
		// Redrawing it to compare takes a minute on a busy machine: the script is run by hand.
		expect(SAMPLE.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
		expect(decodeImage(SAMPLE)).toMatchObject({ width: 640, height: 427 });
	});
});
