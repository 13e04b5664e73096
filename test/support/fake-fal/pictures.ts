/**
 * The fake fal server's generated pictures: images that show what the job was asked, so that a
 * demo's output says something and a test can check it.
 *
 * - Text to Image: a landscape drawn from the prompt (sky, sun, hills), its colours and shapes
 *   seeded by the prompt, the seed and the image's index, in the requested aspect ratio.
 * - Edit: the input image (PNG or JPEG, decoded), recoloured towards the prompt's colour and framed
 *   in that colour; each further image of the job tinted at another hue. An input the fake could
 *   not read (a URL on another host: there is no internet here) gives the Text to Image picture in
 *   the same frame.
 *
 * The prompt's colour is the first colour word it names (red, teal, gold, ...), else a hue hashed
 * from the prompt. Sizes: `longSide` pixels on the long side (fal's Kontext makes about 1024).
 * Everything is deterministic: the same request gives the same bytes.
 */
import { readFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

import { decode as decodeJpeg, encode as encodeJpeg, type RawImageData } from 'jpeg-js';
import { PNG } from 'pngjs';

import { PNG_SIGNATURE, pngChunk, type ImageFile } from './images';

export interface PictureRequest {
	kind: 'edit' | 'textToImage';
	prompt: string;
	seed: number;
	/** Image n of the job (0-based): each is a variant. */
	index: number;
	/** fal's `aspect_ratio` ('16:9', ...); none: the input's ratio (Edit) or 1:1. */
	aspectRatio?: string;
	format: 'png' | 'jpeg';
	/** Edit: the first input image's bytes, when the fake could fetch them. */
	input?: Buffer;
	/** Pixels on the long side. */
	longSide: number;
}

/** RGBA pixels, 8 bits a channel. */
export interface Pixels {
	width: number;
	height: number;
	data: Uint8Array;
}

type Rgb = [number, number, number];

/** Colour words a prompt may name, and the colour the frame and tint take from them. */
export const PROMPT_COLOURS: Record<string, Rgb> = {
	red: [214, 39, 40],
	crimson: [190, 20, 60],
	orange: [245, 130, 32],
	amber: [255, 176, 0],
	gold: [212, 175, 55],
	golden: [212, 175, 55],
	yellow: [240, 210, 40],
	lime: [150, 210, 40],
	green: [44, 160, 44],
	emerald: [0, 155, 119],
	teal: [0, 128, 128],
	turquoise: [64, 200, 190],
	cyan: [0, 190, 220],
	blue: [31, 90, 200],
	navy: [20, 40, 110],
	indigo: [75, 0, 130],
	purple: [128, 50, 160],
	violet: [140, 80, 200],
	magenta: [210, 30, 150],
	pink: [240, 110, 170],
	brown: [130, 80, 40],
	black: [25, 25, 25],
	white: [245, 245, 245],
	grey: [128, 128, 128],
	gray: [128, 128, 128],
	silver: [192, 192, 200],
	watercolour: [90, 150, 200],
	watercolor: [90, 150, 200],
	sunset: [250, 110, 60],
	dawn: [250, 160, 120],
	night: [30, 40, 90],
};

/** FNV-1a, 32 bits. */
export function hashText(text: string): number {
	let hash = 0x811c9dc5;
	for (let i = 0; i < text.length; i++) {
		hash ^= text.charCodeAt(i);
		hash = Math.imul(hash, 0x01000193);
	}
	return hash >>> 0;
}

/** A seeded generator of numbers in [0, 1) (mulberry32). */
export function randomFrom(seed: number): () => number {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

/** The colour the prompt names first, else one hashed from it. */
export function promptColour(prompt: string): Rgb {
	const words = prompt.toLowerCase().match(/[a-z]+/g) ?? [];
	for (const word of words) if (PROMPT_COLOURS[word]) return PROMPT_COLOURS[word];
	return hsl((hashText(prompt) % 360) / 360, 0.65, 0.5);
}

/** HSL (each 0..1) to RGB (0..255). */
export function hsl(h: number, s: number, l: number): Rgb {
	const hue = ((h % 1) + 1) % 1;
	const a = s * Math.min(l, 1 - l);
	const f = (n: number) => {
		const k = (n + hue * 12) % 12;
		return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
	};
	return [f(0), f(8), f(4)];
}

/** The hue (0..1) of an RGB colour. */
function hueOf([r, g, b]: Rgb): number {
	const max = Math.max(r, g, b);
	const min = Math.min(r, g, b);
	if (max === min) return 0;
	const d = max - min;
	const h =
		max === r ? (g - b) / d + (g < b ? 6 : 0) : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
	return h / 6;
}

/** Width and height for a ratio ('16:9'), `longSide` on the long side, both multiples of 8. */
export function sizeFor(ratio: number, longSide: number): { width: number; height: number } {
	const round8 = (n: number) => Math.max(8, Math.round(n / 8) * 8);
	return ratio >= 1
		? { width: round8(longSide), height: round8(longSide / ratio) }
		: { width: round8(longSide * ratio), height: round8(longSide) };
}

/** '16:9' as a number; undefined for anything else. */
export function parseRatio(aspectRatio: string | undefined): number | undefined {
	const m = /^(\d+):(\d+)$/.exec(aspectRatio ?? '');
	return m && Number(m[2]) > 0 ? Number(m[1]) / Number(m[2]) : undefined;
}

/** Decodes a PNG or JPEG; undefined for anything else or a broken file. */
export function decodeImage(bytes: Buffer): Pixels | undefined {
	try {
		if (bytes[0] === 0x89 && bytes[1] === 0x50) {
			const png = PNG.sync.read(bytes);
			return { width: png.width, height: png.height, data: png.data };
		}
		if (bytes[0] === 0xff && bytes[1] === 0xd8) {
			const jpeg = decodeJpeg(bytes, { useTArray: true, formatAsRGBA: true });
			return { width: jpeg.width, height: jpeg.height, data: jpeg.data };
		}
	} catch {
		return undefined;
	}
	return undefined;
}

/** Encodes RGBA pixels as PNG or JPEG (quality 88). */
export function encodeImage(pixels: Pixels, format: 'png' | 'jpeg'): Buffer {
	if (format === 'jpeg') {
		return jpegEncoder().encode(
			{ width: pixels.width, height: pixels.height, data: Buffer.from(pixels.data.buffer) },
			JPEG_QUALITY,
		);
	}
	return encodePng(pixels);
}

const JPEG_QUALITY = 88;
let sharedJpegEncoder: { encode(image: RawImageData<Buffer>, quality: number): Buffer } | undefined;

/**
 * One jpeg-js encoder for every picture. jpeg-js's `encode` builds a new encoder each call, and its
 * tables (about 50 to 250 ms on a busy machine, whatever the image's size) cost far more than
 * encoding a small picture. The encoder resets its state at each `encode`, but jpeg-js does not
 * export it: it is read from jpeg-js's own encoder module. If that ever fails, plain `encode`.
 */
function jpegEncoder(): { encode(image: RawImageData<Buffer>, quality: number): Buffer } {
	if (sharedJpegEncoder) return sharedJpegEncoder;
	try {
		const file = require.resolve('jpeg-js/lib/encoder.js');
		const source = readFileSync(file, 'utf8');
		const factory = new Function('module', 'exports', 'require', `${source}\nreturn JPEGEncoder;`);
		const JPEGEncoder = factory({ exports: {} }, {}, require) as new (quality: number) => {
			encode(image: RawImageData<Buffer>, quality: number): Buffer;
		};
		sharedJpegEncoder = new JPEGEncoder(JPEG_QUALITY);
	} catch {
		sharedJpegEncoder = { encode: (image, quality) => encodeJpeg(image, quality).data };
	}
	return sharedJpegEncoder;
}

/**
 * An 8-bit RGB PNG, each row filtered with Up (pictures are smooth from row to row) and deflated
 * at level 3: several times faster than pngjs's adaptive filters, and about as small here.
 */
function encodePng({ width, height, data }: Pixels): Buffer {
	const rowBytes = 1 + width * 3;
	const raw = Buffer.alloc(rowBytes * height);
	for (let y = 0; y < height; y++) {
		const row = y * rowBytes;
		raw[row] = y === 0 ? 0 : 2;
		for (let x = 0; x < width; x++) {
			const i = (y * width + x) * 4;
			const above = i - width * 4;
			for (let c = 0; c < 3; c++)
				raw[row + 1 + x * 3 + c] = y === 0 ? data[i + c] : (data[i + c] - data[above + c]) & 0xff;
		}
	}
	const header = Buffer.alloc(13);
	header.writeUInt32BE(width, 0);
	header.writeUInt32BE(height, 4);
	header[8] = 8; // bit depth
	header[9] = 2; // truecolour
	return Buffer.concat([
		PNG_SIGNATURE,
		pngChunk('IHDR', header),
		pngChunk('IDAT', deflateSync(raw, { level: 3 })),
		pngChunk('IEND', Buffer.alloc(0)),
	]);
}

/** The size of the picture a request makes, without drawing it (for the result's JSON). */
export function pictureSize(
	request: PictureRequest,
	inputSize?: { width: number; height: number },
): { width: number; height: number } {
	const ratio =
		parseRatio(request.aspectRatio) ??
		(inputSize ? inputSize.width / inputSize.height : undefined) ??
		1;
	return sizeFor(ratio, request.longSide);
}

/** Draws and encodes the picture of a request (at `size`, by default the request's own). */
export function renderPicture(
	request: PictureRequest,
	size?: { width: number; height: number },
): ImageFile {
	const input = request.kind === 'edit' && request.input ? decodeImage(request.input) : undefined;
	const { width, height } = size ?? pictureSize(request, input);
	const colour = promptColour(request.prompt);
	const pixels = { width, height, data: new Uint8Array(width * height * 4) };
	const border = Math.max(2, Math.round(Math.max(width, height) * 0.035));
	if (input) drawEdit(pixels, input, colour, request.index);
	else drawLandscape(pixels, request);
	if (request.kind === 'edit') drawFrame(pixels, border, colour);
	const bytes = encodeImage(pixels, request.format);
	return request.format === 'png'
		? { bytes, width, height, contentType: 'image/png', extension: 'png' }
		: { bytes, width, height, contentType: 'image/jpeg', extension: 'jpg' };
}

/**
 * The input, scaled to cover the picture (bilinear, centred), recoloured: each pixel's brightness
 * keeps the input's shapes, its colour moves towards the prompt's (image n: that hue turned by
 * n x 90 degrees), and its contrast rises a little.
 */
function drawEdit(target: Pixels, input: Pixels, colour: Rgb, index: number): void {
	const { width, height, data } = target;
	const tint = index === 0 ? colour : hsl(hueOf(colour) + index * 0.25, 0.7, 0.5);
	const scale = Math.max(width / input.width, height / input.height);
	const offsetX = (input.width * scale - width) / 2;
	const offsetY = (input.height * scale - height) / 2;
	const sample = (x: number, y: number, channel: number): number => {
		const sx = Math.min(input.width - 1, Math.max(0, (x + offsetX) / scale - 0.5));
		const sy = Math.min(input.height - 1, Math.max(0, (y + offsetY) / scale - 0.5));
		const x0 = Math.floor(sx);
		const y0 = Math.floor(sy);
		const x1 = Math.min(input.width - 1, x0 + 1);
		const y1 = Math.min(input.height - 1, y0 + 1);
		const fx = sx - x0;
		const fy = sy - y0;
		const at = (px: number, py: number) => input.data[(py * input.width + px) * 4 + channel];
		return (
			(at(x0, y0) * (1 - fx) + at(x1, y0) * fx) * (1 - fy) +
			(at(x0, y1) * (1 - fx) + at(x1, y1) * fx) * fy
		);
	};
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			const r = sample(x, y, 0);
			const g = sample(x, y, 1);
			const b = sample(x, y, 2);
			const lum = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
			const contrast = Math.min(1, Math.max(0, (lum - 0.5) * 1.25 + 0.5));
			const i = (y * width + x) * 4;
			data[i] = clamp(r * 0.35 + tone(contrast, tint[0]) * 0.65);
			data[i + 1] = clamp(g * 0.35 + tone(contrast, tint[1]) * 0.65);
			data[i + 2] = clamp(b * 0.35 + tone(contrast, tint[2]) * 0.65);
			data[i + 3] = 255;
		}
	}
}

/** A frame of `border` pixels in the prompt's colour, with a thin light line inside it. */
function drawFrame(target: Pixels, border: number, colour: Rgb): void {
	const { width, height, data } = target;
	const line = Math.max(1, Math.round(border / 6));
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			const edge = Math.min(x, y, width - 1 - x, height - 1 - y);
			if (edge >= border + line) continue;
			const i = (y * width + x) * 4;
			const rgb: Rgb = edge < border ? colour : [250, 250, 245];
			data[i] = rgb[0];
			data[i + 1] = rgb[1];
			data[i + 2] = rgb[2];
			data[i + 3] = 255;
		}
	}
}

/**
 * A landscape from the prompt: a sky in its colour's hues, a sun, three layers of hills, and their
 * shapes from a generator seeded by the prompt, the seed and the image's index.
 */
function drawLandscape(target: Pixels, request: PictureRequest): void {
	const { width, height, data } = target;
	const random = randomFrom(hashText(`${request.prompt}|${request.seed}|${request.index}`));
	const base = hueOf(promptColour(request.prompt)) + (random() - 0.5) * 0.08;
	const skyTop = hsl(base + 0.55, 0.55, 0.78);
	const skyLow = hsl(base, 0.75, 0.62);
	const sun = {
		x: width * (0.2 + random() * 0.6),
		y: height * (0.18 + random() * 0.22),
		r: Math.max(width, height) * (0.06 + random() * 0.05),
		rgb: hsl(base + 0.1, 0.95, 0.75),
	};
	const hills = [0, 1, 2].map((layer) => ({
		level: height * (0.5 + layer * 0.14 + random() * 0.05),
		amplitude: height * (0.08 - layer * 0.018) * (0.6 + random()),
		frequency: ((2 + random() * 3 + layer) * Math.PI) / width,
		phase: random() * Math.PI * 2,
		rgb: hsl(base + 0.3 + layer * 0.04, 0.45, 0.42 - layer * 0.12),
	}));
	const ridges = new Float64Array(hills.length);
	for (let x = 0; x < width; x++) {
		for (let layer = 0; layer < hills.length; layer++) {
			const hill = hills[layer];
			ridges[layer] =
				hill.level +
				hill.amplitude * Math.sin(x * hill.frequency + hill.phase) +
				hill.amplitude * 0.35 * Math.sin(x * hill.frequency * 2.7 + hill.phase * 1.3);
		}
		for (let y = 0; y < height; y++) {
			const i = (y * width + x) * 4;
			let layer = hills.length - 1;
			while (layer >= 0 && y < ridges[layer]) layer--;
			let r: number;
			let g: number;
			let b: number;
			if (layer >= 0) {
				// Darker towards the bottom of each layer, like haze clearing.
				const shade = 1 - Math.min(1, (y - ridges[layer]) / (height * 0.5)) * 0.35;
				const rgb = hills[layer].rgb;
				r = rgb[0] * shade;
				g = rgb[1] * shade;
				b = rgb[2] * shade;
			} else {
				const t = y / height;
				const distance = Math.hypot(x - sun.x, y - sun.y) / sun.r;
				const glow = distance < 1 ? 1 : Math.max(0, 1 - (distance - 1) / 2.5) ** 2 * 0.5;
				r = skyTop[0] + (skyLow[0] - skyTop[0]) * t;
				g = skyTop[1] + (skyLow[1] - skyTop[1]) * t;
				b = skyTop[2] + (skyLow[2] - skyTop[2]) * t;
				r += (sun.rgb[0] - r) * glow;
				g += (sun.rgb[1] - g) * glow;
				b += (sun.rgb[2] - b) * glow;
			}
			data[i] = clamp(r);
			data[i + 1] = clamp(g);
			data[i + 2] = clamp(b);
			data[i + 3] = 255;
		}
	}
}

/** Brightness `level` (0..1) in the hue of `channel`: dark to the colour to light (overlay). */
function tone(level: number, channel: number): number {
	return level < 0.5 ? 2 * level * channel : 255 - 2 * (1 - level) * (255 - channel);
}

function clamp(value: number): number {
	return value < 0 ? 0 : value > 255 ? 255 : Math.round(value);
}

/** Width and height of a PNG or JPEG from its header, without decoding it. */
export function imageDimensions(bytes: Buffer): { width: number; height: number } | undefined {
	if (bytes.length >= 24 && bytes[0] === 0x89 && bytes.toString('latin1', 12, 16) === 'IHDR')
		return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
	if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
	let at = 2;
	while (at + 9 < bytes.length) {
		if (bytes[at] !== 0xff) return undefined;
		const marker = bytes[at + 1];
		// Start of frame (baseline, extended, progressive, ...; not DHT, JPG or DAC).
		if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker))
			return { width: bytes.readUInt16BE(at + 7), height: bytes.readUInt16BE(at + 5) };
		at += 2 + bytes.readUInt16BE(at + 2);
	}
	return undefined;
}

let warm = false;

/**
 * Builds the JPEG encoder and draws a few small pictures once, so that the first job's download does
 * not pay for it (on a busy machine, a few hundred milliseconds that timing tests would see).
 */
export function warmUpPictures(): void {
	if (warm) return;
	warm = true;
	// A few rounds, so that V8 has compiled the drawing and encoding loops before a test times them.
	for (let round = 0; round < 4; round++)
		for (const format of ['jpeg', 'png'] as const)
			renderPicture({
				kind: 'textToImage',
				prompt: '',
				seed: round,
				index: 0,
				format,
				longSide: 48,
			});
}
