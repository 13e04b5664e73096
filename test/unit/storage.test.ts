import { dataUrlBytes } from '../../nodes/FluxKontext/helpers/input-images';
import { FAL_STORAGE_URL } from '../../nodes/FluxKontext/fal/storage';
import { isFalHost, serviceUrlFor } from '../../nodes/FluxKontext/fal/urls';

const storageUrlFor = (baseUrl: string, storageUrl: unknown) =>
	serviceUrlFor(storageUrl, baseUrl, FAL_STORAGE_URL);

describe('where uploads go', () => {
	it("fal's own Base URL uploads to fal's REST host; any other Base URL to nothing, unless a Storage URL is set", () => {
		expect(storageUrlFor('https://queue.fal.run', '')).toBe(FAL_STORAGE_URL);
		expect(storageUrlFor('https://queue.fal.run', undefined)).toBe(FAL_STORAGE_URL);
		expect(storageUrlFor('https://gateway.example.com', '')).toBeUndefined();
		expect(storageUrlFor('https://gateway.example.com', '   ')).toBeUndefined();
		expect(storageUrlFor('https://gateway.example.com', ' https://files.example.com/ ')).toBe(
			'https://files.example.com',
		);
		expect(storageUrlFor('https://queue.fal.run', 'https://rest.alpha.fal.ai')).toBe(
			'https://rest.alpha.fal.ai',
		);
	});

	it("knows fal's hosts, and only those", () => {
		for (const url of [
			'https://queue.fal.run',
			'https://fal.ai',
			'https://rest.fal.ai/x',
			' https://QUEUE.FAL.RUN ',
		])
			expect(isFalHost(url)).toBe(true);
		for (const url of [
			'https://notfal.run',
			'https://fal.run.evil.com',
			'http://127.0.0.1:5678',
			'queue.fal.run',
			'',
		])
			expect(isFalHost(url)).toBe(false);
	});
});

describe('data URL size', () => {
	it('is the decoded size, padding and line breaks aside', () => {
		for (const length of [0, 1, 2, 3, 4, 5, 100]) {
			const base64 = Buffer.alloc(length, 7).toString('base64');
			expect(dataUrlBytes(`data:image/png;base64,${base64}`)).toBe(length);
			expect(dataUrlBytes(`data:image/png;base64,${base64.replace(/(.{4})/g, '$1\n')}`)).toBe(
				length,
			);
		}
	});
});
