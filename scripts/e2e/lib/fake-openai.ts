/**
 * A scripted chat model for the agent example: OpenAI's Chat Completions API on 127.0.0.1, enough for n8n's
 * OpenAI Chat Model node (LangChain's ChatOpenAI) with the credential's Base URL pointed here.
 *
 *   1st call (no tool answer yet): asks for one call of the first tool offered, with `toolArguments`;
 *   next call (the tool answered):  replies with a text that shows every URL the tool returned.
 *
 * Answers as JSON, or as a server-sent event stream when the request asks for `stream: true`.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

interface ChatMessage {
	role: string;
	content?: string | Array<{ type: string; text?: string }> | null;
}

export interface ToolCallSeen {
	tool: string;
	arguments: Record<string, unknown>;
}

export class FakeOpenAi {
	/** The tool calls the model made, and the tool answers it got back. */
	readonly toolCalls: ToolCallSeen[] = [];
	readonly toolAnswers: string[] = [];
	readonly requests: Array<{ path: string; body: Record<string, unknown> }> = [];

	private constructor(
		private readonly server: http.Server,
		readonly url: string,
		private readonly toolArguments: Record<string, unknown>,
	) {}

	static async start(toolArguments: Record<string, unknown>): Promise<FakeOpenAi> {
		let self: FakeOpenAi | undefined;
		const server = http.createServer((req, res) => {
			const chunks: Buffer[] = [];
			req.on('data', (chunk: Buffer) => chunks.push(chunk));
			req.on('end', () => self!.answer(req, res, Buffer.concat(chunks).toString()));
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		self = new FakeOpenAi(
			server,
			`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
			toolArguments,
		);
		return self;
	}

	reset(): void {
		this.toolCalls.length = 0;
		this.toolAnswers.length = 0;
		this.requests.length = 0;
	}

	async stop(): Promise<void> {
		this.server.closeAllConnections();
		await new Promise<void>((resolve) => this.server.close(() => resolve()));
	}

	private answer(req: http.IncomingMessage, res: http.ServerResponse, text: string): void {
		const path = (req.url ?? '').split('?')[0];
		if (req.method !== 'POST' || !path.endsWith('/chat/completions')) {
			res
				.writeHead(404, { 'content-type': 'application/json' })
				.end(JSON.stringify({ error: { message: `fake OpenAI: no ${req.method} ${path}` } }));
			return;
		}
		const body = JSON.parse(text) as {
			model?: string;
			stream?: boolean;
			messages: ChatMessage[];
			tools?: Array<{ function: { name: string } }>;
		};
		this.requests.push({ path, body });
		const toolMessages = body.messages.filter((m) => m.role === 'tool');
		let message: Record<string, unknown>;
		if (toolMessages.length === 0 && body.tools?.length) {
			const tool = body.tools[0].function.name;
			this.toolCalls.push({ tool, arguments: this.toolArguments });
			message = {
				role: 'assistant',
				content: null,
				tool_calls: [
					{
						id: `call_${this.toolCalls.length}`,
						type: 'function',
						function: { name: tool, arguments: JSON.stringify(this.toolArguments) },
					},
				],
			};
		} else {
			const answers = toolMessages.map((m) =>
				typeof m.content === 'string'
					? m.content
					: (m.content ?? []).map((part) => part.text ?? '').join(''),
			);
			this.toolAnswers.push(...answers);
			const urls = answers.join('\n').match(/https?:\/\/[^\s"'\\)]+/g) ?? [];
			message = {
				role: 'assistant',
				content: `Here is your picture:\n${urls.map((url) => `![picture](${url})`).join('\n')}`,
			};
		}
		const finishReason = message.tool_calls ? 'tool_calls' : 'stop';
		const base = {
			id: `chatcmpl-${this.requests.length}`,
			created: Math.floor(Date.now() / 1000),
			model: body.model ?? 'gpt-4.1-mini',
		};
		const usage = { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 };
		if (!body.stream) {
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end(
				JSON.stringify({
					...base,
					object: 'chat.completion',
					choices: [{ index: 0, message, finish_reason: finishReason }],
					usage,
				}),
			);
			return;
		}
		res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
		const delta = message.tool_calls
			? {
					role: 'assistant',
					tool_calls: (message.tool_calls as Array<Record<string, unknown>>).map((call, index) => ({
						index,
						...call,
					})),
				}
			: { role: 'assistant', content: message.content };
		for (const chunk of [
			{
				...base,
				object: 'chat.completion.chunk',
				choices: [{ index: 0, delta, finish_reason: null }],
			},
			{
				...base,
				object: 'chat.completion.chunk',
				choices: [{ index: 0, delta: {}, finish_reason: finishReason }],
				usage,
			},
		]) {
			res.write(`data: ${JSON.stringify(chunk)}\n\n`);
		}
		res.end('data: [DONE]\n\n');
	}
}
