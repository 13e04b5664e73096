/**
 * An incremental parser for server-sent events (the WHATWG format fal's `/status/stream` uses).
 * Feed it text as it arrives; it returns the `data` of each event completed by that text.
 * Comments (`: ping`) and fields other than `data` are skipped.
 */
export class SseParser {
	private buffer = '';
	private data: string[] = [];

	feed(text: string): string[] {
		this.buffer += text;
		const events: string[] = [];
		let newline: number;
		while ((newline = this.buffer.search(/\r\n|\r|\n/)) !== -1) {
			const line = this.buffer.slice(0, newline);
			const width = this.buffer.startsWith('\r\n', newline) ? 2 : 1;
			// A lone \r at the end of a chunk may be the first half of \r\n: wait for the next chunk.
			if (width === 1 && this.buffer[newline] === '\r' && newline === this.buffer.length - 1) break;
			this.buffer = this.buffer.slice(newline + width);
			if (line === '') {
				if (this.data.length) events.push(this.data.join('\n'));
				this.data = [];
			} else if (line.startsWith('data:')) {
				this.data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
			}
		}
		return events;
	}
}
