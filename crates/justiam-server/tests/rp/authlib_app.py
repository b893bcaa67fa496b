"""A small web application that signs its users in with JustIAM through Authlib and joserfc: the
app the Chromium test (tests/api/relying_parties.rs) clicks through, started once per client.

    RP_CLIENT_SECRET=… python authlib_app.py --issuer URL --client-id ID --port PORT --name NAME

Listens on http://127.0.0.1:PORT with:

    /            "Log in" (signed out) or the verified ID token's claims and "Log out"
    /login       redirects to the provider's authorization endpoint (PKCE S256, state, nonce)
    /callback    redeems the code, verifies the ID token (JWKS signature, iss, aud, exp, nonce,
                 at_hash), keeps the claims in this app's session
    /logout      ends the local session and redirects to the provider's end_session_endpoint with
                 id_token_hint, post_logout_redirect_uri and state (RP-initiated logout 1.0)
    /signed-out  where the provider sends the browser back after logout

Prints `listening on http://127.0.0.1:PORT` once ready. Browsers share cookies between the ports
of one host, so each app's session cookie is named after --name.
"""

import argparse
import html
import json
import os
import secrets
import sys
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from authlib.common.security import generate_token

from oidc_rp import IdTokenVerifier, discover, oauth_session


class App:
    def __init__(self, args):
        self.name = args.name
        self.base = f"http://127.0.0.1:{args.port}"
        self.redirect_uri = f"{self.base}/callback"
        self.post_logout_redirect_uri = f"{self.base}/signed-out"
        self.client_id = args.client_id
        self.secret = os.environ.get("RP_CLIENT_SECRET") or None
        self.scope = args.scope
        self.metadata = discover(args.issuer)
        self.verifier = IdTokenVerifier(self.metadata, self.client_id)
        self.cookie = f"{self.name}_session"
        # session id → {"pending": {...}} while signing in, {"user": {...}} once signed in,
        # {"logout_state": …} while signing out.
        self.sessions = {}

    def oauth(self):
        return oauth_session(
            self.metadata, self.client_id, self.secret, self.redirect_uri, self.scope
        )


def page(title, body):
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head><body>{body}</body></html>"
    )


class Handler(BaseHTTPRequestHandler):
    app: App

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # The test's output stays readable; errors are shown on the pages.

    def session(self):
        """This browser's session in this app, created on first sight (id, state dict, is_new)."""
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        sid = cookie[self.app.cookie].value if self.app.cookie in cookie else None
        if sid in self.app.sessions:
            return sid, self.app.sessions[sid], False
        sid = secrets.token_urlsafe(24)
        self.app.sessions[sid] = {}
        return sid, self.app.sessions[sid], True

    def answer(self, status, body=None, location=None, sid=None):
        self.send_response(status)
        if sid is not None:
            self.send_header(
                "Set-Cookie", f"{self.app.cookie}={sid}; Path=/; HttpOnly; SameSite=Lax"
            )
        if location is not None:
            self.send_header("Location", location)
        data = (body or "").encode("utf-8")
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - the base class's name
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        sid, session, is_new = self.session()
        set_sid = sid if is_new else None
        try:
            route = {
                "/": self.home,
                "/login": self.login,
                "/callback": self.callback,
                "/logout": self.logout,
                "/signed-out": self.signed_out,
            }.get(url.path)
            if route is None:
                return self.answer(404, page("Not found", "<p>Not found</p>"), sid=set_sid)
            status, body, location = route(session, query)
            self.answer(status, body, location, sid=set_sid)
        except Exception as error:  # noqa: BLE001 - shown to the test, which then fails
            message = f"{type(error).__name__}: {getattr(error, 'error', '')} {error}"
            print(f"{self.app.name}: {message}", file=sys.stderr, flush=True)
            self.answer(
                500,
                page("Error", f"<p id='error'>{html.escape(message)}</p>"),
                sid=set_sid,
            )

    def home(self, session, _query):
        user = session.get("user")
        title = f"{self.app.name}"
        if user is None:
            body = (
                f"<h1>{html.escape(title)}</h1><p id='status'>Signed out</p>"
                "<a id='login' href='/login'>Log in</a>"
            )
            return 200, page(title, body), None
        claims = user["claims"]
        rows = "".join(
            f"<dt>{html.escape(k)}</dt><dd id='claim-{html.escape(k)}'>"
            f"{html.escape(v if isinstance(v, str) else json.dumps(v))}</dd>"
            for k, v in sorted(claims.items())
        )
        body = (
            f"<h1>{html.escape(title)}</h1><p id='status'>Signed in</p>"
            f"<p id='verified'>ID token verified: {html.escape(user['alg'])} signature "
            f"(kid {html.escape(user['kid'])}), iss, aud, exp, nonce, at_hash</p>"
            f"<dl>{rows}</dl><a id='logout' href='/logout'>Log out</a>"
        )
        return 200, page(title, body), None

    def login(self, session, _query):
        code_verifier = generate_token(64)
        nonce = generate_token(32)
        url, state = self.app.oauth().create_authorization_url(
            self.app.metadata["authorization_endpoint"], code_verifier=code_verifier, nonce=nonce
        )
        session.clear()
        session["pending"] = {"state": state, "code_verifier": code_verifier, "nonce": nonce}
        return 302, None, url

    def callback(self, session, query):
        pending = session.pop("pending", None)
        if "error" in query:
            message = f"{query['error']}: {query.get('error_description', '')}"
            return 400, page("Refused", f"<p id='error'>{html.escape(message)}</p>"), None
        if pending is None:
            return 400, page("Refused", "<p id='error'>no sign-in in progress</p>"), None
        oauth = self.app.oauth()
        token = oauth.fetch_token(
            self.app.metadata["token_endpoint"],
            authorization_response=f"{self.app.base}{self.path}",
            state=pending["state"],
            code_verifier=pending["code_verifier"],
        )
        header, claims, _ = self.app.verifier.verify(
            token["id_token"], pending["nonce"], token["access_token"]
        )
        session["user"] = {
            "claims": claims,
            "id_token": token["id_token"],
            "alg": header["alg"],
            "kid": header.get("kid", ""),
        }
        return 302, None, "/"

    def logout(self, session, _query):
        user = session.pop("user", None)
        if user is None:
            return 302, None, "/"
        state = generate_token(24)
        session["logout_state"] = state
        params = urlencode(
            {
                "id_token_hint": user["id_token"],
                "post_logout_redirect_uri": self.app.post_logout_redirect_uri,
                "client_id": self.app.client_id,
                "state": state,
            }
        )
        return 302, None, f"{self.app.metadata['end_session_endpoint']}?{params}"

    def signed_out(self, session, query):
        expected = session.pop("logout_state", None)
        if expected is None or query.get("state") != expected:
            message = f"logout state {query.get('state')!r} is not the one sent"
            return 400, page("Refused", f"<p id='error'>{html.escape(message)}</p>"), None
        body = (
            "<p id='status'>Signed out at the provider</p><a id='login' href='/login'>Log in</a>"
        )
        return 200, page(self.app.name, body), None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", required=True, help="shown on the pages; names the cookie")
    parser.add_argument("--scope", default="openid profile email")
    args = parser.parse_args()
    Handler.app = App(args)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"listening on http://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
