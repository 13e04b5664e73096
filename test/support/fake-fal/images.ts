/**
 * Real, decodable image files for the fake fal server: PNGs built by hand with node:zlib and a tiny
 * embedded JPEG. Clients under test download these, so they must survive any decoder.
 */
import { randomFillSync } from 'node:crypto';
import { deflateSync } from 'node:zlib';

export interface ImageFile {
	bytes: Buffer;
	width: number;
	height: number;
	contentType: 'image/png' | 'image/jpeg';
	extension: 'png' | 'jpg';
}

// ---------------------------------------------------------------------------------------------
// PNG
// ---------------------------------------------------------------------------------------------

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
	const table = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		table[n] = c >>> 0;
	}
	return table;
})();

/** CRC-32 as PNG (and zip) define it. */
export function crc32(data: Uint8Array): number {
	let c = 0xffffffff;
	for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
	return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk: length, type, data, CRC over type + data. */
export function pngChunk(type: string, data: Buffer): Buffer {
	const length = Buffer.alloc(4);
	length.writeUInt32BE(data.length);
	const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
	const crc = Buffer.alloc(4);
	crc.writeUInt32BE(crc32(typeAndData));
	return Buffer.concat([length, typeAndData, crc]);
}

/** Fills `target` from a xorshift32 generator: deterministic, incompressible enough for deflate. */
function fillPseudoRandom(target: Buffer, seed: number): void {
	let x = seed >>> 0 || 0x9e3779b9;
	let i = 0;
	for (; i + 4 <= target.length; i += 4) {
		x ^= x << 13;
		x ^= x >>> 17;
		x ^= x << 5;
		target.writeUInt32LE(x >>> 0, i);
	}
	for (; i < target.length; i++) {
		x ^= x << 13;
		x ^= x >>> 17;
		x ^= x << 5;
		target[i] = x & 0xff;
	}
}

/**
 * An 8-bit RGB PNG of noise. With `seed` the pixels are deterministic, without it they are random.
 * Noise does not compress, so the file size is about width * height * 3 bytes.
 */
export function makePng(width: number, height: number, seed?: number): Buffer {
	if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
		throw new RangeError(`makePng: bad size ${width}x${height}`);
	}
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(width, 0);
	ihdr.writeUInt32BE(height, 4);
	ihdr[8] = 8; // bit depth
	ihdr[9] = 2; // colour type: truecolour (RGB)
	ihdr[10] = 0; // compression: deflate
	ihdr[11] = 0; // filter method 0
	ihdr[12] = 0; // no interlace

	// Scanlines: one filter-type byte (0 = None) followed by width * 3 bytes of pixels.
	const rowBytes = 1 + width * 3;
	const raw = Buffer.alloc(rowBytes * height);
	const pixels = Buffer.alloc(width * 3 * height);
	if (seed === undefined) randomFillSync(pixels);
	else fillPseudoRandom(pixels, seed);
	for (let y = 0; y < height; y++) {
		pixels.copy(raw, y * rowBytes + 1, y * width * 3, (y + 1) * width * 3);
	}

	return Buffer.concat([
		PNG_SIGNATURE,
		pngChunk('IHDR', ihdr),
		// Level 0 (stored deflate blocks, still a valid zlib stream): noise does not compress,
		// and trying costs ~100 ms for a 3 MB image.
		pngChunk('IDAT', deflateSync(raw, { level: 0 })),
		pngChunk('IEND', Buffer.alloc(0)),
	]);
}

const pngCache = new Map<number, ImageFile>();

/**
 * The PNG the server hands out for the `pngBytes` option: about `bytes` bytes of noise
 * (undefined: a small 8x8 one). One buffer per size, built once.
 */
export function pngOfSize(bytes?: number): ImageFile {
	const key = bytes && bytes > 0 ? Math.round(bytes) : 0;
	let image = pngCache.get(key);
	if (!image) {
		// A square whose raw RGB data is about the requested size; headers add ~60 bytes.
		const side = key === 0 ? 8 : Math.max(1, Math.round(Math.sqrt(key / 3)));
		image = {
			bytes: makePng(side, side, key + 1),
			width: side,
			height: side,
			contentType: 'image/png',
			extension: 'png',
		};
		pngCache.set(key, image);
	}
	return image;
}

// ---------------------------------------------------------------------------------------------
// JPEG
// ---------------------------------------------------------------------------------------------

/**
 * A 16x16 baseline JFIF JPEG (3 components, 4:2:0), 543 bytes: CPython's test image
 * `Lib/test/imghdrdata/python.jpg`. Its segments and entropy-coded data were walked and
 * Huffman-decoded when it was embedded (one MCU, ends exactly at EOI).
 */
export const TINY_JPEG: Buffer = Buffer.from(
	'/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJ' +
		'DRENDg8QEBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ' +
		'EBAQEBAQEBAQEBAQEBAQEBAQEBD/wAARCAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAABwQF/8QAJBAA' +
		'AQQBBAICAwAAAAAAAAAAAQIDBAYFBwgSExEiABQJMTL/xAAVAQEBAAAAAAAAAAAAAAAAAAAABv/EACMRAAECBQMFAAAA' +
		'AAAAAAAAAAECEQMEBQYhABIxFRZhgeH/2gAMAwEAAhEDEQA/ABSm0mobc8HmExLUlRzzEWPkJWW+ulrsaUVAseUgslSl' +
		'H9LKuPryIKuWPZdskzXmm3fX5m2nF4GlVxx/HOpx4ks51+MiU/Iaad7UcUo4tILoS4kqcWkezS0hO/HvuRp0rO6hWnWO' +
		'1UisZVuFi4GFeyEpmGepa5S5SWVPuciFKRFLgSrwetnyPIB+Vb4N9mKhQMzo5po9XLdDs9d6ZVix2VEhiL9kuNPxw2gE' +
		'KcDQ/rs8AuA8VAe0vdl7VOYn+27flGAUgmITjbhSmCg3BYlyeWDkMolvw4KOp1KM6iCNvngZHwetf//Z',
	'base64',
);

// Guard against a damaged constant: SOI at the start, EOI at the end.
if (
	TINY_JPEG.length !== 543 ||
	TINY_JPEG[0] !== 0xff ||
	TINY_JPEG[1] !== 0xd8 ||
	TINY_JPEG[TINY_JPEG.length - 2] !== 0xff ||
	TINY_JPEG[TINY_JPEG.length - 1] !== 0xd9
) {
	throw new Error('fake-fal: TINY_JPEG constant is damaged');
}

export const JPEG_IMAGE: ImageFile = {
	bytes: TINY_JPEG,
	width: 16,
	height: 16,
	contentType: 'image/jpeg',
	extension: 'jpg',
};
