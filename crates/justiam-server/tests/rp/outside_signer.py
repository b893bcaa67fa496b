"""The signing half of an outside OpenID Connect issuer (GitHub Actions, GitLab CI, a Kubernetes
cluster) for the workload identity federation tests (tests/api/federation.rs): keys generated and
tokens signed by joserfc, not by JustIAM's code or the test's. The test serves the issuer's
discovery document and JWKS itself.

Reads one JSON request per line on stdin and answers one JSON line on stdout, until stdin closes:

    {"op": "generate", "alg": "RS256" | "ES256", "kid": "gh-1"}
        -> {"private": <JWK>, "public": <JWK with use and alg>}
    {"op": "sign", "jwk": <private JWK>, "header": {...}, "claims": {...}}
        -> {"token": "<compact JWS>"}             (header as given: alg, kid, typ or none)
    {"op": "none", "header": {...}, "claims": {...}}
        -> {"token": "<header>.<claims>."}        (alg "none", empty signature)
    {"op": "hs256_with_public_key", "jwk": <private JWK>, "header": {...}, "claims": {...}}
        -> {"token": ...}                          (HS256 keyed with the public key's PEM)

A request joserfc refuses answers {"error": "..."}.
"""

import base64
import hashlib
import hmac
import json
import sys
import warnings

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey, import_key


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact_payload(claims):
    return json.dumps(claims, separators=(",", ":")).encode()


def generate(alg, kid):
    parameters = {"kid": kid, "use": "sig", "alg": alg}
    if alg == "RS256":
        key = RSAKey.generate_key(2048, parameters=parameters)
    elif alg == "ES256":
        key = ECKey.generate_key("P-256", parameters=parameters)
    else:
        raise ValueError(f"no key for {alg}")
    return {"private": key.as_dict(private=True), "public": key.as_dict(private=False)}


def sign(jwk, header, claims):
    key = import_key(jwk)
    return jws.serialize_compact(header, compact_payload(claims), key, algorithms=[header["alg"]])


def unsigned(header, claims):
    # joserfc still builds `alg: none` when asked by name (with a SecurityWarning).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jws.serialize_compact(
            dict(header, alg="none"), compact_payload(claims), None, algorithms=["none"]
        )


def hs256_with_public_key(jwk, header, claims):
    # The algorithm-confusion attack: HMAC keyed with the issuer's *public* key, hoping the
    # verifier uses whatever key it has with whatever `alg` the token names. joserfc refuses to
    # make an HMAC key of a public key ("Asymmetric public keys must not be used as oct keys"),
    # so this one token is made by hand.
    secret = import_key(jwk).as_pem(private=False)
    signing_input = f"{b64url(compact_payload(dict(header, alg='HS256')))}.{b64url(compact_payload(claims))}"
    tag = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(tag)}"


def answer(request):
    op = request.get("op")
    if op == "generate":
        return generate(request["alg"], request["kid"])
    if op == "sign":
        return {"token": sign(request["jwk"], request["header"], request["claims"])}
    if op == "none":
        return {"token": unsigned(request["header"], request["claims"])}
    if op == "hs256_with_public_key":
        return {
            "token": hs256_with_public_key(request["jwk"], request["header"], request["claims"])
        }
    raise ValueError(f"unknown op {op!r}")


def main():
    for line in sys.stdin:
        try:
            reply = answer(json.loads(line))
        except (JoseError, KeyError, ValueError) as error:
            reply = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
