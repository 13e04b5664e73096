import type {
	IAuthenticateRuleResponseCode,
	IAuthenticateRuleResponseSuccessBody,
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IHttpRequestOptions,
	INodeProperties,
} from 'n8n-workflow';

import { DEFAULT_BASE_URL, FAL_APP } from '../nodes/FluxKontext/fal/constants';
import { isFalHost, maskedUrl, readCredential } from '../nodes/FluxKontext/fal/urls';

const REJECTED = 'The token was rejected (401). Check the API key and the Auth Scheme.';
/** The body fal answers a key it does not know with, beside its 401. */
const FAL_WRONG_KEY_DETAIL = 'No user found for Key ID and Secret';

/**
 * fal's own hosts (fal.run, fal.ai and their subdomains) expect `Key <token>`; gateways `Bearer
 * <token>`. Refuses a Base URL the node could not use (user:password, query, fragment), so that
 * nothing is ever sent to it.
 */
function authorizationFor(credentials: ICredentialDataDecryptedObject): string {
	const scheme = credentials.authScheme || 'auto';
	const { token, baseUrl, baseUrlProblem } = readCredential(credentials);
	if (baseUrlProblem) {
		throw new Error(
			`Base URL "${maskedUrl(baseUrl)}" ${baseUrlProblem}: use the bare URL (e.g. ` +
				`${DEFAULT_BASE_URL}), the token goes in API Key`,
		);
	}
	// The Base URL decides for every request, storage uploads included: one token, one scheme.
	const useKey = scheme === 'key' || (scheme === 'auto' && isFalHost(baseUrl));
	return `${useKey ? 'Key' : 'Bearer'} ${token}`;
}

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
			description:
				'Your fal.ai API key (fal.ai/dashboard/keys), or the token your gateway gave you',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: DEFAULT_BASE_URL,
			description:
				"fal's queue host, or the base URL of a gateway that mirrors fal's paths (e.g. " +
				'https://gateway.example.com), without user name, password, query string or fragment. ' +
				'The token is only ever sent to this origin and to the Storage and Platform URLs below.',
		},
		{
			displayName: 'Auth Scheme',
			name: 'authScheme',
			type: 'options',
			options: [
				{
					name: 'Auto',
					value: 'auto',
					description: '"Key" for fal.ai hosts, "Bearer" for any other base URL',
				},
				{
					name: 'Bearer',
					value: 'bearer',
					description: 'Authorization: Bearer <token> (most gateways)',
				},
				{ name: 'Key', value: 'key', description: 'Authorization: Key <token> (fal.ai)' },
			],
			default: 'auto',
		},
		{
			displayName: 'Storage URL',
			name: 'storageUrl',
			type: 'string',
			default: '',
			placeholder: 'e.g. https://rest.fal.ai',
			description:
				"Where input images are uploaded (fal's storage API), so that jobs get a file URL " +
				"instead of inline bytes. Empty: https://rest.fal.ai when the Base URL is fal's own " +
				'host, and no uploads for any other Base URL (a gateway token never goes to fal). Set ' +
				"it only if your gateway mirrors fal's storage API. The token is sent here too.",
		},
		{
			displayName: 'Platform URL',
			name: 'platformUrl',
			type: 'string',
			default: '',
			placeholder: 'e.g. https://api.fal.ai',
			description:
				"Where fal's Platform API answers (the node reads prices there, with this token). Empty: " +
				"https://api.fal.ai when Base URL is fal's own host, none for a gateway. Set it only " +
				"for a gateway that mirrors fal's Platform API: the token is sent here too.",
		},
		{
			displayName: 'Price per Image (USD)',
			name: 'pricePerImage',
			type: 'number',
			typeOptions: { minValue: 0, numberPrecision: 4 },
			default: '',
			description:
				'What one image costs you, used for cost estimates and Max Cost when no Platform API ' +
				'answers (gateways, or a key that may not read prices). Empty: no estimate then.',
		},
	];

	/**
	 * A function rather than a `={{ }}` expression: n8n evaluates an expression for every request,
	 * which cost about a millisecond of CPU per request here; the rule is the same.
	 */
	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		return {
			...requestOptions,
			headers: { ...requestOptions.headers, Authorization: authorizationFor(credentials) },
		};
	}

	/**
	 * Asks for the status of a request that cannot exist. No job is started, nothing is billed. A
	 * rejected token gets 401 (403 for a locked account); an accepted one gets an answer about the
	 * request (404), which counts as success here: only 401 and 403 are errors.
	 *
	 * n8n 2.x honours `except`: 401 and 403 fail the request and the `responseCode` rules word the
	 * message. n8n 1.x knows only `ignoreHttpStatusErrors: true` (any truthy value ignores every
	 * status), so there the 401 arrives as a success and the `responseSuccessBody` rule recognises
	 * fal's answer to a wrong key by its body. (A gateway's own 401 body is unknown: on 1.x, its
	 * wrong token passes the test and fails the first run with a 401 instead.)
	 */
	test: ICredentialTestRequest = {
		request: {
			baseURL:
				`={{ String($credentials.baseUrl || ` +
				`"${DEFAULT_BASE_URL}").trim().replace(/\\/+$/, "") }}`,
			url: `/${FAL_APP}/requests/00000000-0000-4000-8000-000000000000/status`,
			method: 'GET',
			ignoreHttpStatusErrors: { ignore: true, except: [401, 403] },
		},
		// n8n reads a mixed list (it checks each rule's type); its type allows one kind per list.
		rules: [
			{
				type: 'responseCode',
				properties: { value: 401, message: REJECTED },
			},
			{
				type: 'responseCode',
				properties: {
					value: 403,
					message: 'The token was refused (403): the account may be locked or out of balance.',
				},
			},
			{
				type: 'responseSuccessBody',
				properties: { key: 'detail', value: FAL_WRONG_KEY_DETAIL, message: REJECTED },
			},
		] as Array<IAuthenticateRuleResponseCode | IAuthenticateRuleResponseSuccessBody> as
			| IAuthenticateRuleResponseCode[]
			| IAuthenticateRuleResponseSuccessBody[],
	};
}
