"""What every Python relying party of these tests does with the provider, through the libraries only:
discovery (validated by Authlib's metadata models), the OAuth2 session (Authlib, PKCE S256) and ID
token verification against the provider's JWKS (joserfc).

Used by authlib_flow.py (headless, driven by tests/api/relying_parties.rs) and authlib_app.py (the
web app the Chromium test clicks through). Nothing here knows anything JustIAM-specific.
"""

import base64
import hashlib

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc import discovery as oidc_discovery
from authlib.oidc import rpinitiated
from joserfc import jwt
from joserfc.jwk import KeySet

# The asymmetric algorithms a relying party may accept; `none` and HMAC (a secret the client
# shares) must never sign an ID token of this provider.
ASYMMETRIC_ALGORITHMS = {"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"}

TIMEOUT = 10


class RelyingPartyError(Exception):
    """Something the provider sent that a relying party must refuse."""


def discover(issuer):
    """The provider's metadata (OpenID Connect Discovery 1.0 §4), validated, with `issuer` equal to
    the URL it was fetched from (§4.3)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    answer = requests.get(url, timeout=TIMEOUT)
    answer.raise_for_status()
    metadata = oidc_discovery.OpenIDProviderMetadata(answer.json())
    metadata.validate(metadata_classes=[rpinitiated.OpenIDProviderMetadata])
    if metadata["issuer"] != issuer:
        raise RelyingPartyError(f"discovery issuer {metadata['issuer']!r} is not {issuer!r}")
    return metadata


def oauth_session(metadata, client_id, client_secret, redirect_uri, scope):
    """Authlib's OAuth2 client with PKCE S256: `client_secret_basic` with a secret, `none` without."""
    return OAuth2Session(
        client_id=client_id,
        client_secret=client_secret,
        scope=scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if client_secret else "none",
        token_endpoint=metadata["token_endpoint"],
    )


def half_hash(value):
    """`at_hash` for RS256/ES256/PS256 (OpenID Connect Core §3.1.3.6): the left half of SHA-256."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


class IdTokenVerifier:
    """Verifies ID tokens as OpenID Connect Core §3.1.3.7 asks: signature against the JWKS, `iss`,
    `aud`, `azp`, `exp`, `iat`, `nonce` and `at_hash`."""

    def __init__(self, metadata, client_id):
        self.issuer = metadata["issuer"]
        self.client_id = client_id
        supported = set(metadata.get("id_token_signing_alg_values_supported") or [])
        self.algorithms = sorted(supported & ASYMMETRIC_ALGORITHMS)
        if not self.algorithms:
            raise RelyingPartyError(f"no asymmetric ID token algorithm offered: {sorted(supported)}")
        jwks = requests.get(metadata["jwks_uri"], timeout=TIMEOUT)
        jwks.raise_for_status()
        self.keys = KeySet.import_key_set(jwks.json())

    def verify(self, id_token, nonce, access_token):
        """The verified header and claims, and whether `at_hash` was there and checked; raises
        RelyingPartyError or a joserfc error."""
        token = jwt.decode(id_token, self.keys, algorithms=self.algorithms)
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=5,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": nonce is not None, "value": nonce},
        )
        registry.validate(claims)
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise RelyingPartyError(f"several audiences {audiences} and azp {claims.get('azp')!r}")
        if "azp" in claims and claims["azp"] != self.client_id:
            raise RelyingPartyError(f"azp {claims['azp']!r} is not this client")
        at_hash_checked = access_token is not None and "at_hash" in claims
        if at_hash_checked:
            if token.header["alg"] not in ("RS256", "PS256", "ES256"):
                raise RelyingPartyError(f"at_hash check not written for {token.header['alg']}")
            if claims["at_hash"] != half_hash(access_token):
                raise RelyingPartyError("at_hash does not match the access token")
        return token.header, claims, at_hash_checked
