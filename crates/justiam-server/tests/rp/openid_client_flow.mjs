// A relying party written with the npm `openid-client` (v6, OpenID Certified), driven by
// tests/api/relying_parties.rs through the authorization code flow, userinfo and a refresh.
//
//   RP_CLIENT_SECRET=… node openid_client_flow.mjs --issuer URL --client-id ID --redirect-uri URI
//
// With RP_CLIENT_SECRET the client authenticates with `client_secret_post` (Authlib's test covers
// `client_secret_basic`); without it, it is a public client (`none`). The test plays the browser:
//
// 1. this program prints one JSON line `{"authorization_url": …}`;
// 2. the test signs the user in and writes the URL the provider redirected to as one stdin line;
// 3. this program redeems the code (the library checks state, PKCE, the ID token's iss, aud, exp,
//    iat, nonce and, with non-repudiation checks on, its signature against the JWKS), calls
//    userinfo, refreshes, and prints one JSON line. Any refusal goes to stderr with exit status 1.
//
// Plain http is allowed with `allowInsecureRequests` because the test server listens on loopback.

import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import * as client from 'openid-client';

const { values: args } = parseArgs({
  options: {
    issuer: { type: 'string' },
    'client-id': { type: 'string' },
    'redirect-uri': { type: 'string' },
    scope: { type: 'string', default: 'openid profile email' },
  },
});
for (const required of ['issuer', 'client-id', 'redirect-uri']) {
  if (!args[required]) {
    console.error(`--${required} is required`);
    process.exit(2);
  }
}

const emit = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

class RelyingPartyError extends Error {}

// `at_hash` (OpenID Connect Core §3.1.3.6, RS256): the library does not check it, so this does.
function checkAtHash(claims, accessToken) {
  if (claims.at_hash === undefined) return false;
  const digest = createHash('sha256').update(accessToken, 'ascii').digest();
  const expected = digest.subarray(0, digest.length / 2).toString('base64url');
  if (claims.at_hash !== expected) throw new RelyingPartyError('at_hash does not match the access token');
  return true;
}

async function readLine() {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    lines.close();
    return line.trim();
  }
  throw new RelyingPartyError('no callback URL on stdin');
}

async function run() {
  const secret = process.env.RP_CLIENT_SECRET || undefined;
  const config = await client.discovery(
    new URL(args.issuer),
    args['client-id'],
    undefined,
    secret ? client.ClientSecretPost(secret) : client.None(),
    { execute: [client.allowInsecureRequests, client.enableNonRepudiationChecks] },
  );
  const metadata = config.serverMetadata();

  const codeVerifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: args['redirect-uri'],
    scope: args.scope,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    nonce,
    state,
  });
  emit({ authorization_url: url.href });
  const callback = await readLine();

  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: codeVerifier,
    expectedNonce: nonce,
    expectedState: state,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const atHashVerified = checkAtHash(claims, tokens.access_token);
  // Checks that userinfo's `sub` is the ID token's.
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);

  if (!tokens.refresh_token) throw new RelyingPartyError('no refresh_token in the token answer');
  // The library checks a refreshed ID token against OpenID Connect Core §12.2 (same iss, sub, aud).
  const fresh = await client.refreshTokenGrant(config, tokens.refresh_token);
  const freshClaims = fresh.claims();
  const refreshedUserinfo = await client.fetchUserInfo(config, fresh.access_token, claims.sub);

  return {
    issuer: metadata.issuer,
    end_session_endpoint: metadata.end_session_endpoint ?? null,
    token_type: tokens.token_type,
    scope: tokens.scope ?? null,
    expires_in: tokens.expiresIn() ?? null,
    id_token: { claims, at_hash_verified: atHashVerified },
    nonce_sent: nonce,
    userinfo,
    refreshed: {
      token_type: fresh.token_type,
      access_token_changed: fresh.access_token !== tokens.access_token,
      refresh_token_rotated: Boolean(fresh.refresh_token) && fresh.refresh_token !== tokens.refresh_token,
      id_token: freshClaims
        ? { claims: freshClaims, at_hash_verified: checkAtHash(freshClaims, fresh.access_token) }
        : null,
      userinfo: refreshedUserinfo,
    },
  };
}

// The body of a refused answer, when the library left it unread (a WWW-Authenticate challenge).
async function unreadBody(response) {
  if (!response || response.bodyUsed) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

try {
  emit(await run());
} catch (error) {
  // openid-client's ResponseBodyError carries the RFC 6749 §5.2 `error` code; a
  // WWWAuthenticateChallengeError (a 401 with WWW-Authenticate) the parsed challenges in `cause`.
  console.error(
    JSON.stringify({
      refused: error?.name ?? 'Error',
      error: error?.error ?? error?.code ?? null,
      status: error?.status ?? null,
      message: String(error?.message ?? error),
      cause: error?.cause instanceof Error ? error.cause.message : (error?.cause ?? null),
      body: await unreadBody(error?.response),
    }),
  );
  process.exit(1);
}
