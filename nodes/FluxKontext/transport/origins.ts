import type { IAdditionalCredentialOptions, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { CREDENTIAL_NAME, DEFAULT_BASE_URL, DEFAULT_PLATFORM_URL } from '../fal/constants';
import { redact } from '../fal/secrets';
import { tagRequest } from '../fal/error-tags';
import { FAL_STORAGE_URL } from '../fal/storage';
import {
	baseUrlProblem as urlProblem,
	maskedUrl,
	normalizeBaseUrl,
	parseHttpUrl,
	readCredential,
	sameOrigin,
	serviceUrlFor,
} from '../fal/urls';

/**
 * Where the token may go: the credential's Base URL, Platform URL and Storage URL origins, and
 * nowhere else. Read once per execution, checked before every request that carries the credential.
 */

/** An origin that receives the token, with the credential field that names it. */
export interface TokenOrigin {
	origin: string;
	field: string;
}

/** What a client needs from the credential, read once for an execution and checked. */
export interface ClientCredential {
	baseUrl: string;
	/**
	 * fal's Platform API (prices); undefined for a gateway that names none.
	 */
	platformUrl: string | undefined;
	/** fal's storage (uploads of input images); undefined when none applies. */
	storageUrl: string | undefined;
	/** The credential as handed to every request (n8n would read it again each time). */
	credential: IAdditionalCredentialOptions;
	/**
	 * Every form of the token that can travel: as sent (trimmed), and URL-encoded should a server
	 * echo it in a URL. Scrubbed from every message.
	 */
	secrets: string[];
	origins: TokenOrigin[];
}

/**
 * No credential (the trigger without one): downloads only; with no token origin, every call that
 * would need the token is refused.
 */
export const NO_CREDENTIAL: ClientCredential = {
	baseUrl: '',
	platformUrl: undefined,
	storageUrl: undefined,
	credential: {},
	secrets: [],
	origins: [],
};

/**
 * Reads the credential and its URLs. A Base URL, Platform URL or Storage URL the node could not use
 * (not http(s), user:password, a query or a fragment) is refused before any request.
 */
export async function readClientCredential(ctx: IExecuteFunctions): Promise<ClientCredential> {
	const credentials = await ctx.getCredentials(CREDENTIAL_NAME);
	const { token, baseUrl: configuredBaseUrl, baseUrlProblem } = readCredential(credentials);
	const secrets = [...new Set([token, encodeURIComponent(token)])];
	if (baseUrlProblem) {
		throw new NodeOperationError(
			ctx.getNode(),
			`Base URL: "${redact(maskedUrl(configuredBaseUrl), secrets)}" ${baseUrlProblem}`,
			{
				description:
					`Open the FLUX Kontext credential and set Base URL to ${DEFAULT_BASE_URL} or your ` +
					"gateway's URL, with no user name, password, query string or fragment: the token goes " +
					'in API Key.',
			},
		);
	}
	const service = (field: string, configured: unknown, falDefault: string) =>
		serviceUrl(ctx, field, configured, configuredBaseUrl, falDefault, secrets);
	const platformUrl = service('Platform URL', credentials.platformUrl, DEFAULT_PLATFORM_URL);
	const storageUrl = service('Storage URL', credentials.storageUrl, FAL_STORAGE_URL);
	const reference = ctx.getNode().credentials?.[CREDENTIAL_NAME];
	const credential = {
		credentialsDecrypted: {
			id: reference?.id ?? '',
			name: reference?.name ?? '',
			type: CREDENTIAL_NAME,
			data: credentials,
		},
	};
	const baseUrl = normalizeBaseUrl(configuredBaseUrl);
	const named: Array<[string | undefined, string]> = [
		[baseUrl, 'Base URL'],
		[platformUrl, 'Platform URL'],
		[storageUrl, 'Storage URL'],
	];
	const origins = named.flatMap(([url, field]) => {
		const origin = url === undefined ? undefined : parseHttpUrl(url)?.origin;
		return origin ? [{ origin, field }] : [];
	});
	return { baseUrl, platformUrl, storageUrl, credential, secrets, origins };
}

/**
 * Refuses a request with the credential to any origin but the token's. Never reached with URLs the
 * node builds or rebases; kept as the last guard of the token.
 */
export function assertTokenOrigin(
	ctx: IExecuteFunctions,
	origins: TokenOrigin[],
	url: string,
	options: { itemIndex: number; requestId?: string },
): void {
	if (origins.some(({ origin }) => sameOrigin(url, origin))) return;
	const allowed = origins
		.map(({ origin, field }) => `${origin} (the credential's ${field})`)
		.join(' and ');
	throw tagRequest(
		new NodeOperationError(
			ctx.getNode(),
			`Refusing to send the credential to ${parseHttpUrl(url)?.origin ?? 'an invalid URL'}`,
			{ description: `Only ${allowed} receive the token.`, itemIndex: options.itemIndex },
		),
		options.requestId,
	);
}

/**
 * One of fal's other services (its Platform API, its storage) from its credential field: see
 * serviceUrlFor.
 */
function serviceUrl(
	ctx: IExecuteFunctions,
	field: string,
	configured: unknown,
	baseUrl: string,
	falDefault: string,
	secrets: string[],
): string | undefined {
	const url = serviceUrlFor(configured, baseUrl, falDefault);
	const problem = url === undefined ? undefined : urlProblem(url);
	if (url !== undefined && problem) {
		throw new NodeOperationError(
			ctx.getNode(),
			`${field}: "${redact(maskedUrl(url), secrets)}" ${problem}`,
			{
				description:
					`Open the FLUX Kontext credential and clear ${field} (with fal's own Base URL, ` +
					`${falDefault} is then used), or set your gateway's, with no user name, password, ` +
					'query string or fragment.',
			},
		);
	}
	return url;
}
