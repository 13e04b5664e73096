import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * `Key <token>` for fal's own hosts (fal.run, fal.ai and their subdomains), `Bearer <token>` for anything else,
 * unless the user picks a scheme. Kept as one expression because n8n evaluates `authenticate` as expressions.
 */
const AUTHORIZATION =
	'={{ (($credentials.authScheme || "auto") === "key" || (($credentials.authScheme || "auto") === "auto" && ' +
	'/^https?:\\/\\/(?:[^\\/?#@]*@)?(?:[^\\/?#@:]*\\.)?fal\\.(?:run|ai)(?::\\d+)?(?:[\\/?#]|$)/i.test(String($credentials.baseUrl || "https://queue.fal.run").trim()))' +
	' ? "Key " : "Bearer ") + $credentials.apiKey }}';

export class FluxKontextApi implements ICredentialType {
	name = 'fluxKontextApi';

	displayName = 'FLUX Kontext (fal.ai) API';

	icon = { light: 'file:fluxKontext.svg', dark: 'file:fluxKontext.dark.svg' } as const;

	documentationUrl = 'https://docs.fal.ai/model-apis/authentication';

	properties: INodeProperties[] = [
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			required: true,
			default: '',
			description: 'Your fal.ai API key (fal.ai/dashboard/keys), or the token your gateway gave you',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://queue.fal.run',
			description:
				'fal\'s queue host, or the base URL of a gateway that mirrors fal\'s paths (e.g. https://gateway.example.com). The token is only ever sent to this origin.',
		},
		{
			displayName: 'Auth Scheme',
			name: 'authScheme',
			type: 'options',
			options: [
				{ name: 'Auto', value: 'auto', description: '"Key" for fal.ai hosts, "Bearer" for any other base URL' },
				{ name: 'Bearer', value: 'bearer', description: 'Authorization: Bearer <token> (most gateways)' },
				{ name: 'Key', value: 'key', description: 'Authorization: Key <token> (fal.ai)' },
			],
			default: 'auto',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: AUTHORIZATION } },
	};

	/**
	 * Asks for the status of a request that cannot exist. No job is started, nothing is billed. A rejected
	 * token gets 401 (403 for a locked account); an accepted one gets an answer about the request (404), which
	 * counts as success here: only 401 and 403 are errors.
	 */
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ String($credentials.baseUrl || "https://queue.fal.run").trim().replace(/\\/+$/, "") }}',
			url: '/fal-ai/flux-pro/requests/00000000-0000-4000-8000-000000000000/status',
			method: 'GET',
			ignoreHttpStatusErrors: { ignore: true, except: [401, 403] },
		},
		rules: [
			{
				type: 'responseCode',
				properties: { value: 401, message: 'The token was rejected (401). Check the API key and the Auth Scheme.' },
			},
			{
				type: 'responseCode',
				properties: { value: 403, message: 'The token was refused (403): the account may be locked or out of balance.' },
			},
		],
	};
}
