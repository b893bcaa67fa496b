"""A relying party written with Authlib (OAuth2Session, PKCE S256) and joserfc, driven by
tests/api/relying_parties.rs through the authorization code flow, userinfo and a refresh.

    RP_CLIENT_SECRET=… python authlib_flow.py --issuer URL --client-id ID --redirect-uri URI

(no RP_CLIENT_SECRET: a public client, token endpoint auth `none`). The test plays the browser:

1. this program prints one JSON line `{"authorization_url": …}`;
2. the test signs the user in there and writes the URL the provider redirected to (the redirect
   URI with `code` and `state`) as one line on stdin;
3. this program redeems the code, verifies the ID token, calls userinfo, refreshes, and prints one
   JSON line with what it saw. Any refusal (an OAuth error, a bad signature or claim) is printed on
   stderr and the exit status is 1.
"""

import argparse
import json
import os
import sys

from authlib.common.security import generate_token

from oidc_rp import IdTokenVerifier, RelyingPartyError, discover, oauth_session


def emit(value):
    print(json.dumps(value), flush=True)


def userinfo(session, metadata, subject):
    """Userinfo with the session's current access token; `sub` must be the ID token's (OpenID
    Connect Core §5.3.4)."""
    answer = session.get(metadata["userinfo_endpoint"], timeout=10)
    if answer.status_code != 200:
        raise RelyingPartyError(f"userinfo answered {answer.status_code}: {answer.text[:300]}")
    claims = answer.json()
    if claims.get("sub") != subject:
        raise RelyingPartyError(f"userinfo sub {claims.get('sub')!r} is not {subject!r}")
    return claims


def refreshed_id_token(verifier, id_token, access_token, original):
    """An ID token from a refresh, checked as OpenID Connect Core §12.2 asks: same iss, sub, aud and
    auth_time as the original; a nonce, if any, the original's."""
    header, claims, at_hash = verifier.verify(id_token, None, access_token)
    for claim in ("iss", "sub", "aud", "auth_time"):
        if claim in original and claims.get(claim) != original[claim]:
            raise RelyingPartyError(f"refreshed ID token changed {claim}")
    if "nonce" in claims and claims["nonce"] != original.get("nonce"):
        raise RelyingPartyError("refreshed ID token carries another nonce")
    return {"header": header, "claims": claims, "at_hash_verified": at_hash}


def run(args):
    metadata = discover(args.issuer)
    verifier = IdTokenVerifier(metadata, args.client_id)
    secret = os.environ.get("RP_CLIENT_SECRET") or None
    session = oauth_session(metadata, args.client_id, secret, args.redirect_uri, args.scope)

    code_verifier = generate_token(64)
    nonce = generate_token(32)
    url, state = session.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce
    )
    emit({"authorization_url": url})
    callback = sys.stdin.readline().strip()
    if not callback:
        raise RelyingPartyError("no callback URL on stdin")

    # Checks `state`, sends the code with the PKCE verifier and redirect_uri.
    token = session.fetch_token(
        metadata["token_endpoint"],
        authorization_response=callback,
        state=state,
        code_verifier=code_verifier,
    )
    if "id_token" not in token:
        raise RelyingPartyError(f"no id_token in the token answer (keys {sorted(token)})")
    header, claims, at_hash = verifier.verify(token["id_token"], nonce, token["access_token"])
    first_userinfo = userinfo(session, metadata, claims["sub"])

    result = {
        "issuer": metadata["issuer"],
        "token_type": token.get("token_type"),
        "scope": token.get("scope"),
        "expires_in": token.get("expires_in"),
        "id_token": {"header": header, "claims": claims, "at_hash_verified": at_hash},
        "nonce_sent": nonce,
        "userinfo": first_userinfo,
        "refreshed": None,
    }
    if args.no_refresh:
        return result
    if "refresh_token" not in token:
        raise RelyingPartyError("no refresh_token in the token answer")

    old_access, old_refresh = token["access_token"], token["refresh_token"]
    fresh = session.refresh_token(metadata["token_endpoint"], refresh_token=old_refresh)
    result["refreshed"] = {
        "token_type": fresh.get("token_type"),
        "access_token_changed": fresh["access_token"] != old_access,
        "refresh_token_rotated": bool(fresh.get("refresh_token"))
        and fresh["refresh_token"] != old_refresh,
        "id_token": refreshed_id_token(verifier, fresh["id_token"], fresh["access_token"], claims)
        if "id_token" in fresh
        else None,
        # The session now carries the new access token.
        "userinfo": userinfo(session, metadata, claims["sub"]),
    }
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--redirect-uri", required=True)
    parser.add_argument("--scope", default="openid profile email")
    parser.add_argument("--no-refresh", action="store_true", help="stop after userinfo")
    args = parser.parse_args()
    try:
        emit(run(args))
    except Exception as error:  # noqa: BLE001 - every refusal is reported the same way
        # Authlib's OAuthError carries the RFC 6749 §5.2 `error` code.
        code = getattr(error, "error", None)
        print(
            json.dumps({"refused": type(error).__name__, "error": code, "message": str(error)}),
            file=sys.stderr,
            flush=True,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
