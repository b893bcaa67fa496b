"""A machine client written with Authlib, unmodified: the client credentials grant of a JustIAM
service account, then `GET /api/v1/me` with the access token, then the token revoked at the
revocation endpoint (RFC 7009) with the same client authentication, and `/api/v1/me` again.
Driven by tests/api/machine_identity.rs.

    CLIENT_SECRET=… python authlib_client_credentials.py --issuer URL --client-id ID --method client_secret_basic
    CLIENT_PRIVATE_KEY=<PEM> python authlib_client_credentials.py --issuer URL --client-id ID --method private_key_jwt

Prints one JSON line `{"token": {...}, "me": {...}, "after_revocation": <status of /api/v1/me>}`;
any refusal goes to stderr, exit status 1.
"""

import argparse
import json
import os
import sys

from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT

from oidc_rp import RelyingPartyError, discover


def run(args):
    metadata = discover(args.issuer)
    token_endpoint = metadata["token_endpoint"]
    if args.method == "private_key_jwt":
        session = OAuth2Session(
            args.client_id,
            os.environ["CLIENT_PRIVATE_KEY"],
            token_endpoint_auth_method="private_key_jwt",
            revocation_endpoint_auth_method="private_key_jwt",
        )
        session.register_client_auth_method(PrivateKeyJWT(token_endpoint))
    else:
        session = OAuth2Session(
            args.client_id,
            os.environ["CLIENT_SECRET"],
            token_endpoint_auth_method=args.method,
            revocation_endpoint_auth_method=args.method,
        )
    token = session.fetch_token(token_endpoint, grant_type="client_credentials", timeout=10)
    answer = session.get(f"{args.api}/api/v1/me", timeout=10)
    if answer.status_code != 200:
        raise RelyingPartyError(f"/api/v1/me answered {answer.status_code}: {answer.text[:300]}")
    me = answer.json()
    revoked = session.revoke_token(
        metadata["revocation_endpoint"], token["access_token"], token_type_hint="access_token"
    )
    if revoked.status_code != 200:
        raise RelyingPartyError(f"revocation answered {revoked.status_code}: {revoked.text[:300]}")
    after = session.get(f"{args.api}/api/v1/me", timeout=10)
    print(
        json.dumps({"token": dict(token), "me": me, "after_revocation": after.status_code}),
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--api", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument(
        "--method",
        required=True,
        choices=["client_secret_basic", "client_secret_post", "private_key_jwt"],
    )
    try:
        run(parser.parse_args())
    except Exception as error:  # noqa: BLE001 - every refusal is reported the same way
        print(json.dumps({"refused": type(error).__name__, "message": str(error)}), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
