/**
 * The sample photo the demo edits and tests may use: a photo-like lake landscape (sky with
 * clouds, mountains with snow, a lake reflecting them, a meadow, a tree), drawn from value noise
 * with no randomness, so that `scripts/make-sample-photo.ts` writes the same bytes every time.
 * It is this project's own work, under the project's licence (MIT). The file it writes:
 * test/fixtures/sample-photo.jpg (640 x 427, JPEG quality 85).
 */
import { encode as encodeJpeg } from 'jpeg-js';

export const SAMPLE_PHOTO = { width: 640, height: 427, quality: 85 } as const;

/** Smooth noise in [0, 1] on a lattice hashed from integer coordinates. */
function valueNoise(x: number, y: number, salt: number): number {
	const lattice = (ix: number, iy: number) => {
		let h = Math.imul(ix, 374761393) ^ Math.imul(iy, 668265263) ^ Math.imul(salt, 2147483647);
		h = Math.imul(h ^ (h >>> 13), 1274126177);
		return ((h ^ (h >>> 16)) >>> 0) / 4294967295;
	};
	const x0 = Math.floor(x);
	const y0 = Math.floor(y);
	const fx = x - x0;
	const fy = y - y0;
	const sx = fx * fx * (3 - 2 * fx);
	const sy = fy * fy * (3 - 2 * fy);
	const top = lattice(x0, y0) * (1 - sx) + lattice(x0 + 1, y0) * sx;
	const bottom = lattice(x0, y0 + 1) * (1 - sx) + lattice(x0 + 1, y0 + 1) * sx;
	return top * (1 - sy) + bottom * sy;
}

/** Fractal noise: `octaves` layers of value noise, each twice as fine and half as strong. */
function fbm(x: number, y: number, octaves: number, salt: number): number {
	let sum = 0;
	let amplitude = 0.5;
	let total = 0;
	for (let o = 0; o < octaves; o++) {
		sum += valueNoise(x, y, salt + o) * amplitude;
		total += amplitude;
		x *= 2;
		y *= 2;
		amplitude /= 2;
	}
	return sum / total;
}

const mix = (a: number, b: number, t: number) => a + (b - a) * t;

/** The colour of the scene above the lake at (x, y), in pixels of the photo. */
function scene(x: number, y: number, width: number, height: number): [number, number, number] {
	const horizon = height * 0.58;
	const ridge = height * (0.12 + 0.42 * fbm(x / 150, 0.5, 6, 11) ** 1.5);
	if (y < ridge) {
		// Sky: blue overhead to pale at the horizon, with soft clouds.
		const t = y / ridge;
		const cloud = Math.max(0, fbm(x / 140, y / 60, 5, 3) - 0.5) * 2.2;
		const r = mix(70, 190, t);
		const g = mix(120, 215, t);
		const b = mix(200, 235, t);
		return [mix(r, 250, cloud), mix(g, 250, cloud), mix(b, 252, cloud)];
	}
	// Mountains: grey-blue rock, snow on the high parts, hazier near the horizon.
	const rock = fbm(x / 25, y / 25, 5, 21);
	const height01 = Math.max(0, (horizon - y) / (horizon - height * 0.12));
	const snow = height01 > 0.55 + (rock - 0.5) * 0.5 ? 1 : 0;
	// Light from the left: slopes facing it are brighter.
	const slope = fbm((x - 3) / 60, y / 60, 3, 31) - fbm((x + 3) / 60, y / 60, 3, 31);
	const shade = 0.55 + rock * 0.6 + slope * 4;
	const haze = (1 - height01) ** 2;
	const r = mix(mix(88, 238, snow) * shade, 160, haze * 0.45);
	const g = mix(mix(92, 240, snow) * shade, 178, haze * 0.45);
	const b = mix(mix(110, 250, snow) * shade, 200, haze * 0.45);
	return [r, g, b];
}

/** The photo's RGBA pixels. */
export function samplePhotoPixels(): { width: number; height: number; data: Buffer } {
	const { width, height } = SAMPLE_PHOTO;
	const data = Buffer.alloc(width * height * 4);
	const horizon = height * 0.58;
	const shore = height * 0.74;
	const tree = { x: width * 0.78, base: height * 0.8, trunk: width * 0.012, crown: width * 0.075 };
	for (let y = 0; y < height; y++) {
		for (let x = 0; x < width; x++) {
			let rgb: [number, number, number];
			if (y < horizon) {
				rgb = scene(x, y, width, height);
			} else if (y < shore) {
				// The lake: the scene mirrored, rippled and darkened.
				const ripple = (fbm(x / 30, y / 4, 3, 41) - 0.5) * 10;
				const mirrored = scene(x + ripple, 2 * horizon - y, width, height);
				rgb = [mirrored[0] * 0.72, mirrored[1] * 0.78, mirrored[2] * 0.85];
			} else {
				// The meadow: grass texture, yellower in the sun, darker near the bottom.
				const grass = fbm(x / 6, y / 3, 4, 61);
				const patch = fbm(x / 90, y / 40, 3, 71);
				const depth = (y - shore) / (height - shore);
				const shade = (0.75 + grass * 0.5) * (1 - depth * 0.3);
				rgb = [mix(70, 150, patch) * shade, mix(120, 165, patch) * shade, 45 * shade];
			}
			// A tree on the shore: a trunk and a ragged crown.
			const dx = x - tree.x;
			const crownY = tree.base - tree.crown * 1.6;
			const crownEdge = tree.crown * (0.8 + 0.4 * fbm(x / 12, y / 12, 3, 81));
			if (Math.hypot(dx, (y - crownY) * 0.8) < crownEdge) {
				const leaf = fbm(x / 5, y / 5, 3, 91);
				rgb = [30 + leaf * 40, 75 + leaf * 60, 30 + leaf * 25];
			} else if (Math.abs(dx) < tree.trunk && y > crownY && y < tree.base) {
				rgb = [80, 55, 35];
			}
			const i = (y * width + x) * 4;
			data[i] = Math.max(0, Math.min(255, Math.round(rgb[0])));
			data[i + 1] = Math.max(0, Math.min(255, Math.round(rgb[1])));
			data[i + 2] = Math.max(0, Math.min(255, Math.round(rgb[2])));
			data[i + 3] = 255;
		}
	}
	return { width, height, data };
}

/** The photo as the JPEG file test/fixtures/sample-photo.jpg holds. */
export function makeSamplePhoto(): Buffer {
	return encodeJpeg(samplePhotoPixels(), SAMPLE_PHOTO.quality).data;
}
