/**
 * The images of a finished job of the fake: their size for the result's JSON at once, their bytes
 * drawn (test/support/fake-fal/pictures.ts) only when first downloaded, and kept for jobs that ask
 * the same again (the same prompt, seed, format, ratio and input give the same picture).
 */
import { createHash } from 'node:crypto';

import type { ImageFile } from './images';
import { pngOfSize } from './images';
import type { PictureRequest } from './pictures';
import { imageDimensions, pictureSize, renderPicture } from './pictures';

export interface GeneratedImage {
	width: number;
	height: number;
	contentType: ImageFile['contentType'];
	extension: ImageFile['extension'];
	/** The file, drawn on first use. */
	file(): ImageFile;
}

const drawn = new Map<string, ImageFile>();
const KEEP = 48;

/**
 * The `count` images a job makes. `pngBytes` (the fake's option for memory and speed tests) makes
 * PNGs of noise of about that size instead of pictures.
 */
export function generatedImages(job: {
	endpoint: string;
	input: Record<string, unknown>;
	seed: number;
	/** The first input image's bytes (Edit, Inpaint), when the fake could fetch them. */
	inputImage?: Buffer;
	longSide: number;
	pngBytes?: number;
}): GeneratedImage[] {
	const { input } = job;
	const format = input.output_format === 'png' ? 'png' : 'jpeg';
	const count = typeof input.num_images === 'number' ? input.num_images : 1;
	if (format === 'png' && job.pngBytes) {
		const noise = pngOfSize(job.pngBytes);
		return Array.from({ length: count }, () => ({ ...noise, file: () => noise }));
	}
	const inputKey = job.inputImage
		? createHash('sha1').update(job.inputImage).digest('hex')
		: 'none';
	const inputSize = job.inputImage ? imageDimensions(job.inputImage) : undefined;
	return Array.from({ length: count }, (_, index): GeneratedImage => {
		const request: PictureRequest = {
			kind: job.endpoint.includes('text-to-image') ? 'textToImage' : 'edit',
			prompt: typeof input.prompt === 'string' ? input.prompt : '',
			seed: job.seed,
			index,
			aspectRatio: typeof input.aspect_ratio === 'string' ? input.aspect_ratio : undefined,
			format,
			input: job.inputImage,
			longSide: job.longSide,
		};
		const key = JSON.stringify({ ...request, input: inputKey });
		const { width, height } = pictureSize(request, request.kind === 'edit' ? inputSize : undefined);
		return {
			width,
			height,
			contentType: format === 'png' ? 'image/png' : 'image/jpeg',
			extension: format === 'png' ? 'png' : 'jpg',
			file: () => {
				let file = drawn.get(key);
				if (!file) {
					file = renderPicture(request, { width, height });
					drawn.set(key, file);
					if (drawn.size > KEEP) drawn.delete(drawn.keys().next().value as string);
				}
				return file;
			},
		};
	});
}
