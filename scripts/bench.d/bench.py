#!/usr/bin/env python3
"""Helpers of scripts/bench (standard library only).

  launch --log FILE --url URL -- CMD...   start the server, wait for URL to answer 200, print
                                          "<pid> <milliseconds from exec to ready>"
  record --results F --key K [--wrk OUT] [--cpu-ticks N] [--extra JSON]
                                          append one measurement to the results file
  churn --base URL --token T --users ID,ID.. --per N
                                          token creation then revocation rates (threads, one per
                                          service account), one JSON line
  bulk-sqlite --db PATH --owner UUID --count N
                                          insert N tokens straight into personal_access_tokens
  http-loop --url URL [--token T] --count N
                                          N sequential keep-alive GETs (the profiling client)
  oidc-flow --base URL --client-id C --client-secret S --redirect-uri R --email E --password P
                                          one authorization-code flow with PKCE as a browser and a
                                          relying party would drive it; prints the token answer
  refresh-loop --base URL --client-id C --client-secret S --seconds N --refresh-tokens T,T..
                                          refresh-token grants for N seconds, one chain per process
                                          (each answer's new token is the next request's), one
                                          JSON line: grants, failures, seconds
  table --results F                       the table, ratios and PASS/MISS against issue #9
"""

import argparse
import base64
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid


# ---------------------------------------------------------------------------------------------
# launch


def probe(host, port, path):
    """One GET on a fresh connection; True on a 200."""
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            head = s.recv(64)
            return head.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def cmd_launch(a):
    url = urllib.parse.urlsplit(a.url)
    log = open(a.log, "ab")  # O_APPEND: scripts/bench may truncate it between steps
    started = time.perf_counter()
    proc = subprocess.Popen(a.command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = started + a.timeout
    while time.perf_counter() < deadline:
        if probe(url.hostname, url.port, url.path or "/"):
            ready_ms = (time.perf_counter() - started) * 1000
            print(f"{proc.pid} {ready_ms:.1f}")
            return 0
        if proc.poll() is not None:
            print(f"{proc.pid} exited")
            return 1
        time.sleep(0.002)
    print(f"{proc.pid} timeout")
    return 1


# ---------------------------------------------------------------------------------------------
# record


def cmd_record(a):
    entry = {"key": a.key}
    if a.wrk:
        with open(a.wrk) as f:
            lines = [l for l in f if l.startswith("BENCH_JSON ")]
        if not lines:
            sys.exit(f"no wrk summary in {a.wrk}")
        w = json.loads(lines[-1][len("BENCH_JSON "):])
        seconds = w["duration_us"] / 1e6
        entry.update(w)
        entry["rps"] = w["requests"] / seconds if seconds else 0
        entry["ok_rps"] = (w["requests"] - w["errors_status"]) / seconds if seconds else 0
        if a.cpu_ticks is not None and w["requests"]:
            tick = os.sysconf("SC_CLK_TCK")
            entry["cpu_s"] = a.cpu_ticks / tick
            entry["cpu_us_per_req"] = a.cpu_ticks / tick * 1e6 / w["requests"]
    if a.extra:
        entry.update(json.loads(a.extra))
    with open(a.results, "a") as f:
        f.write(json.dumps(entry) + "\n")


# ---------------------------------------------------------------------------------------------
# churn


class Client:
    def __init__(self, base, token):
        u = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        self.auth = {"Authorization": f"Bearer {token}"}

    def call(self, method, path, body=None):
        headers = dict(self.auth)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        r = self.conn.getresponse()
        payload = r.read()
        return r.status, payload


def cmd_churn(a):
    users = [u for u in a.users.split(",") if u]
    created = {u: [] for u in users}
    errors = []
    barrier = threading.Barrier(len(users) + 1)
    marks = {}

    def worker(user):
        c = Client(a.base, a.token)
        barrier.wait()
        for i in range(a.per):
            st, body = c.call("POST", f"/api/v1/users/{user}/tokens",
                              {"name": f"churn-{i}", "expires_in_days": 30})
            if st == 201:
                created[user].append(json.loads(body)["id"])
            else:
                errors.append(f"create {st} {body[:200]!r}")
        barrier.wait()
        barrier.wait()
        for tid in created[user]:
            st, body = c.call("DELETE", f"/api/v1/users/{user}/tokens/{tid}")
            if st != 204:
                errors.append(f"revoke {st} {body[:200]!r}")
        barrier.wait()

    threads = [threading.Thread(target=worker, args=(u,)) for u in users]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    barrier.wait()
    t1 = time.perf_counter()
    barrier.wait()
    t2 = time.perf_counter()
    barrier.wait()
    t3 = time.perf_counter()
    for t in threads:
        t.join()
    n_created = sum(len(v) for v in created.values())
    print(json.dumps({
        "threads": len(users),
        "created": n_created,
        "create_s": t1 - t0,
        "create_rps": n_created / (t1 - t0),
        "revoked": n_created - sum(1 for e in errors if e.startswith("revoke")),
        "revoke_s": t3 - t2,
        "revoke_rps": n_created / (t3 - t2),
        "errors": errors[:5],
        "error_count": len(errors),
    }))
    return 1 if errors else 0


# ---------------------------------------------------------------------------------------------
# bulk-sqlite


def cmd_bulk_sqlite(a):
    import sqlite3

    con = sqlite3.connect(a.db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-400000")
    now = int(time.time() * 1000)
    expires = now + 365 * 24 * 3600 * 1000
    owner = a.owner

    def rows():
        for i in range(a.count):
            digest = hashlib.sha256(b"justiam-bench-bulk-" + i.to_bytes(8, "big")).digest()
            # A valid UUID v7-shaped id, distinct per row.
            rid = f"00000000-0000-7000-8000-{i:012x}"
            yield (rid, owner, f"bulk-{i}", digest, "bulk", now - i, expires)

    t0 = time.perf_counter()
    with con:
        con.executemany(
            "INSERT INTO personal_access_tokens "
            "(id, user_id, name, active_name, token_digest, token_hint, created_at, expires_at) "
            "VALUES (?, ?, ?, NULL, ?, ?, ?, ?)",
            rows(),
        )
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    total = con.execute("SELECT count(*) FROM personal_access_tokens").fetchone()[0]
    con.close()
    print(json.dumps({"inserted": a.count, "total": total, "seconds": time.perf_counter() - t0}))


# ---------------------------------------------------------------------------------------------
# http-loop (profiling client)


def cmd_http_loop(a):
    u = urllib.parse.urlsplit(a.url)
    headers = f"GET {u.path} HTTP/1.1\r\nHost: {u.hostname}\r\n"
    if a.token:
        headers += f"Authorization: Bearer {a.token}\r\n"
    request = (headers + "\r\n").encode()
    s = socket.create_connection((u.hostname, u.port))
    f = s.makefile("rb")
    bad = 0
    t0 = time.perf_counter()
    for _ in range(a.count):
        s.sendall(request)
        status = f.readline()
        length = 0
        while True:
            line = f.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        f.read(length)
        if not status.startswith(b"HTTP/1.1 200"):
            bad += 1
    s.close()
    print(json.dumps({"requests": a.count, "non_200": bad, "seconds": time.perf_counter() - t0}))
    return 1 if bad else 0


# ---------------------------------------------------------------------------------------------
# OpenID Connect


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _form_field(page, name):
    import html

    marker = f'name="{name}" value="'
    at = page.index(marker) + len(marker)
    return html.unescape(page[at : page.index('"', at)])


def cmd_oidc_flow(a):
    """authorize → the login page → the code at the redirect URI → the token endpoint."""
    import base64
    import http.cookiejar
    import secrets

    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPCookieProcessor(jar))
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": a.client_id,
            "redirect_uri": a.redirect_uri,
            "scope": "openid profile email offline_access",
            "state": secrets.token_urlsafe(16),
            "nonce": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    url = f"{a.base}/oauth2/authorize?{query}"
    code = None
    for _ in range(10):
        try:
            r = browser.open(url)
            page = r.read().decode()
            if "/ui/login" in r.geturl() or 'action="/ui/login"' in page:
                form = urllib.parse.urlencode(
                    {
                        "csrf_token": _form_field(page, "csrf_token"),
                        "next": _form_field(page, "next"),
                        "email": a.email,
                        "password": a.password,
                    }
                ).encode()
                r = browser.open(f"{a.base}/ui/login", data=form)
            raise SystemExit(f"oidc-flow: no redirect from {r.geturl()}")
        except urllib.error.HTTPError as e:
            if e.code not in (302, 303, 307):
                raise SystemExit(f"oidc-flow: {e.code} from {e.url}")
            url = urllib.parse.urljoin(url, e.headers["Location"])
            if url.startswith(a.redirect_uri):
                code = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["code"][0]
                break
    if code is None:
        raise SystemExit("oidc-flow: never reached the redirect URI")
    body = urllib.parse.urlencode(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": a.redirect_uri,
            "code_verifier": verifier,
            "client_id": a.client_id,
            "client_secret": a.client_secret,
        }
    ).encode()
    with urllib.request.urlopen(f"{a.base}/oauth2/token", data=body) as r:
        print(r.read().decode())
    return 0


def _refresh_chain(base, client_id, client_secret, token, seconds, out):
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    grants = failures = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        body = urllib.parse.urlencode(
            {
                "grant_type": "refresh_token",
                "refresh_token": token,
                "client_id": client_id,
                "client_secret": client_secret,
            }
        )
        conn.request("POST", "/oauth2/token", body=body, headers=headers)
        r = conn.getresponse()
        payload = r.read()
        if r.status != 200:
            failures += 1
            break
        token = json.loads(payload)["refresh_token"]
        grants += 1
    out.put((grants, failures, time.perf_counter() - t0))


def cmd_refresh_loop(a):
    import multiprocessing

    tokens = [t for t in a.refresh_tokens.split(",") if t]
    out = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(
            target=_refresh_chain,
            args=(a.base, a.client_id, a.client_secret, t, a.seconds, out),
        )
        for t in tokens
    ]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    grants = sum(r[0] for r in results)
    failures = sum(r[1] for r in results)
    secs = max(r[2] for r in results)
    print(json.dumps({"grants": grants, "failures": failures, "seconds": secs}))
    return 1 if failures else 0


# ---------------------------------------------------------------------------------------------
# table


def fmt_rps(v):
    return f"{v:,.0f}" if v is not None else "–"


def fmt_ms(us):
    if us is None:
        return "–"
    return f"{us / 1000:.2f}"


def scaled(small, large, healthz_small, healthz_large):
    """PAT throughput with 1M tokens over that with 100, raw and relative to each server's /healthz.

    The two figures come from two server processes started minutes apart, so the machine's drift
    between them lands in the raw ratio; dividing each by its own server's /healthz, measured
    right beside it, keeps the comparison within one run as for every other ratio. The verdict
    uses the relative figure."""
    raw = large["ok_rps"] / small["ok_rps"] if small["ok_rps"] else 0
    relative = ((large["ok_rps"] / healthz_large["ok_rps"]) / (small["ok_rps"] / healthz_small["ok_rps"])
                if small["ok_rps"] and healthz_large["ok_rps"] and healthz_small["ok_rps"] else 0)
    return raw, relative


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _der_ecdsa_to_raw(der):
    """An ECDSA signature as `openssl dgst` writes it (DER) in the `r || s` form of JWS."""
    def integer(at):
        assert der[at] == 0x02
        length = der[at + 1]
        value = der[at + 2:at + 2 + length].lstrip(b"\x00")
        return value.rjust(32, b"\x00"), at + 2 + length
    at = 2 if der[1] < 0x80 else 3
    r, at = integer(at)
    s, _ = integer(at)
    return r + s


def cmd_issuer(a):
    """An OpenID Connect issuer on 127.0.0.1 for the token-exchange step: an ES256 key made with
    the openssl CLI, discovery and JWKS served over plain http (the server runs with
    FEDERATION_ALLOW_HTTP_LOOPBACK=true), and one workload token without `jti` (so that the one
    token can be exchanged again and again) written to --token-file before serving."""
    import http.server
    import tempfile
    issuer = f"http://127.0.0.1:{a.port}"
    work = tempfile.mkdtemp(prefix="justiam-issuer.")
    key = os.path.join(work, "key.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", key], check=True, capture_output=True)
    spki = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                          check=True, capture_output=True).stdout
    point = spki[-64:]
    jwk = {"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": "bench",
           "x": _b64url(point[:32]), "y": _b64url(point[32:])}
    now = int(time.time())
    header = _b64url(json.dumps({"alg": "ES256", "kid": "bench", "typ": "JWT"}).encode())
    claims = _b64url(json.dumps({"iss": issuer, "sub": a.subject, "aud": a.audience,
                                 "iat": now, "exp": now + 3600}).encode())
    signed = f"{header}.{claims}".encode()
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signed,
                         check=True, capture_output=True).stdout
    token = f"{header}.{claims}.{_b64url(_der_ecdsa_to_raw(der))}"
    documents = {
        "/.well-known/openid-configuration": {"issuer": issuer, "jwks_uri": f"{issuer}/keys"},
        "/keys": {"keys": [jwk]},
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            doc = documents.get(self.path)
            body = json.dumps(doc or {}).encode()
            self.send_response(200 if doc else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    with open(a.token_file, "w") as f:
        f.write(token)
    server.serve_forever()


def cmd_table(a):
    res = {}
    with open(a.results) as f:
        for line in f:
            e = json.loads(line)
            res[e["key"]] = e

    rows = []  # (measurement, req/s, p50, p99, ratio text, target text, verdict)

    def g(key):
        return res.get(key)

    def verdict(ok):
        return "PASS" if ok else "MISS"

    def wrk_row(label, key, base_key=None, target=None, min_ratio=None, extra_ok=None):
        e = g(key)
        if not e:
            return None
        ratio = ""
        v = ""
        r = None
        if base_key and g(base_key):
            r = e["ok_rps"] / g(base_key)["ok_rps"] if g(base_key)["ok_rps"] else 0
            ratio = f"{r * 100:.0f}% of {base_key.split('.', 1)[1]}"
        if min_ratio is not None and r is not None:
            ok = r >= min_ratio and (extra_ok(e) if extra_ok else True)
            v = verdict(ok)
        errs = e["errors_status"] + e["errors_connect"] + e["errors_read"] + e["errors_timeout"]
        note = f" ({errs} errors)" if errs else ""
        rows.append((label, fmt_rps(e["ok_rps"]) + note, fmt_ms(e["p50_us"]), fmt_ms(e["p99_us"]),
                     ratio, target or "", v))
        return r

    floor = g("floor.healthz")
    if floor:
        rows.append(("**This machine's floor**", "", "", "", "", "", ""))
        wrk_row("bare axum, one handler, no middleware", "floor.healthz")
        if "cpu_us_per_req" in floor:
            rows.append(("server CPU per request, bare axum", f"{floor['cpu_us_per_req']:.1f} µs",
                         "", "", "", "", ""))

    sign = g("sign")
    if sign:
        rows.append(("**Signatures (one thread, no I/O)**", "", "", "", "", "", ""))
        rows.append(("CPU per ID-token signature (RS256, RSA-2048, aws-lc-rs)",
                     f"{sign['rs256_id_token_us']:.0f} µs", "", "",
                     f"{sign['ratio']:.0f}× a portal JWT (HS256, {sign['hs256_portal_jwt_us']:.1f} µs)",
                     "", ""))

    for db, name in (("sqlite", "SQLite"), ("postgres", "PostgreSQL")):
        if not g(f"{db}.healthz"):
            continue
        rows.append((f"**{name}**", "", "", "", "", "", ""))
        wrk_row("`/healthz` (baseline)", f"{db}.healthz")
        wrk_row("PAT `GET /api/v1/me`", f"{db}.pat", f"{db}.healthz", "≥ 70% of /healthz", 0.70)
        wrk_row("JWT `GET /api/v1/me`", f"{db}.jwt", f"{db}.healthz")
        # The OpenID Connect provider: userinfo beside the /healthz measured right before it.
        wrk_row("`/healthz` (baseline of userinfo)", f"{db}.healthz_oidc")
        wrk_row("app access token `GET /oauth2/userinfo`", f"{db}.userinfo", f"{db}.healthz_oidc",
                "≥ 60% of /healthz", 0.60)
        rg = g(f"{db}.refresh_grants")
        if rg:
            rows.append(("refresh-token grants/s (rotation, ID + access token signed)",
                         fmt_rps(rg["rps"]), "", "", f"{rg['cpu_us_per_grant']:.0f} µs CPU/grant",
                         "", ""))
        # Machine identity (issue 16): grants, exchanges, and a service account's access token on
        # the API beside the /healthz measured right before it.
        wrk_row("`/healthz` (baseline of access tokens)", f"{db}.healthz_machine")
        wrk_row("service-account access token `GET /api/v1/me`", f"{db}.access_token",
                f"{db}.healthz_machine", "≥ 60% of /healthz", 0.60)
        for key, label in (("client_credentials", "`client_credentials` grants (client_secret_post)"),
                           ("token_exchange", "token exchanges (RFC 8693, ES256 workload token)")):
            e = g(f"{db}.{key}")
            if e:
                errs = e["errors_status"] + e["errors_connect"] + e["errors_read"] + e["errors_timeout"]
                cpu = f"{e['cpu_us_per_req']:.0f} µs CPU/grant" if "cpu_us_per_req" in e else ""
                rows.append((label, fmt_rps(e["ok_rps"]) + (f" ({errs} errors)" if errs else ""),
                             fmt_ms(e["p50_us"]), fmt_ms(e["p99_us"]), cpu, "≥ 5,000/s",
                             verdict(e["ok_rps"] >= 5000)))
        e = g(f"{db}.pat")
        if e and "cpu_us_per_req" in e:
            h = g(f"{db}.healthz")
            base = f" (/healthz {h['cpu_us_per_req']:.1f} µs" if h and "cpu_us_per_req" in h else " ("
            if floor and "cpu_us_per_req" in floor:
                base += f"; bare axum {floor['cpu_us_per_req']:.1f} µs"
            base = "" if base == " (" else base + ")"
            rows.append(("server CPU per PAT request", f"{e['cpu_us_per_req']:.1f} µs", "", "",
                         base.strip(), "≤ 15 µs", verdict(e["cpu_us_per_req"] <= 15)))
        # Login flood.
        if g(f"{db}.pat_flood"):
            fl = g(f"{db}.flood_logins")
            r = wrk_row("PAT `/me` during login flood", f"{db}.pat_flood", f"{db}.pat_undisturbed")
            if r is not None:
                e = g(f"{db}.pat_flood")
                ok = r >= 0.5 and e["p99_us"] < 50_000
                rows[-1] = rows[-1][:5] + ("≥ 50% of undisturbed, p99 < 50 ms", verdict(ok))
            wrk_row("PAT `/me` undisturbed (flood baseline)", f"{db}.pat_undisturbed")
            if fl:
                rows.append(("wrong-password logins/s (the flood)", fmt_rps(fl["rps"]),
                             fmt_ms(fl["p50_us"]), fmt_ms(fl["p99_us"]),
                             f"{fl['requests'] - fl['errors_status']} non-401", "", ""))
        # Token count: 1M vs 100.
        n100 = res.get(f"{db}.count_small", {}).get("tokens")
        n1m = res.get(f"{db}.count_large", {}).get("tokens")
        if g(f"{db}.pat_nocache_small"):
            wrk_row(f"PAT, cache off, {n100 or '~100'} tokens", f"{db}.pat_nocache_small",
                    f"{db}.healthz_nocache_small")
            wrk_row(f"`/healthz`, same server", f"{db}.healthz_nocache_small")
        if g(f"{db}.pat_nocache_large"):
            r = wrk_row(f"PAT, cache off, {n1m:,} tokens" if n1m else "PAT, cache off, 1M tokens",
                        f"{db}.pat_nocache_large", f"{db}.healthz_nocache_large")
            wrk_row(f"`/healthz`, same server", f"{db}.healthz_nocache_large")
            small, large = g(f"{db}.pat_nocache_small"), g(f"{db}.pat_nocache_large")
            hs, hl = g(f"{db}.healthz_nocache_small"), g(f"{db}.healthz_nocache_large")
            if small and large and hs and hl:
                r, rn = scaled(small, large, hs, hl)
                rows.append(("→ cache off: 1M vs 100 tokens", "", "", "",
                             f"{rn * 100:.0f}% relative to each /healthz ({r * 100:.0f}% raw)",
                             "≥ 90%", verdict(rn >= 0.9)))
        if g(f"{db}.pat_large"):
            wrk_row(f"PAT, cache on, {n1m:,} tokens" if n1m else "PAT, cache on, 1M tokens",
                    f"{db}.pat_large", f"{db}.healthz_large")
            wrk_row(f"`/healthz`, same server", f"{db}.healthz_large")
            small, large = g(f"{db}.pat"), g(f"{db}.pat_large")
            hs, hl = g(f"{db}.healthz"), g(f"{db}.healthz_large")
            if small and large and hs and hl:
                r, rn = scaled(small, large, hs, hl)
                rows.append(("→ cache on: 1M vs 100 tokens", "", "", "",
                             f"{rn * 100:.0f}% relative to each /healthz ({r * 100:.0f}% raw)",
                             "≥ 90%", verdict(rn >= 0.9)))
        c = g(f"{db}.churn")
        if c:
            rows.append((f"token creation ({c['threads']} threads, {c['created']} tokens)",
                         f"{c['create_rps']:,.0f}/s", "", "", "", "", ""))
            rows.append((f"token revocation ({c['revoked']} tokens)",
                         f"{c['revoke_rps']:,.0f}/s", "", "", "", "", ""))
        m = g(f"{db}.memory")
        if m:
            rows.append(("resident memory idle (VmRSS after start)", f"{m['idle_kb'] / 1024:.1f} MB",
                         "", "", "", "< 40 MB", verdict(m["idle_kb"] < 40 * 1024)))
            rows.append(("peak resident memory under load (VmHWM)", f"{m['peak_kb'] / 1024:.1f} MB",
                         "", "", f"max sampled VmRSS {m['load_rss_kb'] / 1024:.1f} MB", "< 150 MB",
                         verdict(m["peak_kb"] < 150 * 1024)))
        for key, label in (("startup_fresh", "start-up to ready, fresh database"),
                           ("startup_large", "start-up to ready, 1M tokens in the database")):
            s = g(f"{db}.{key}")
            if s:
                target, v = ("", "")
                if db == "sqlite":
                    target, v = "< 1 s", verdict(s["ms"] < 1000)
                rows.append((label, f"{s['ms']:.0f} ms", "", "", "", target, v))

    head = ("measurement", "req/s", "p50 ms", "p99 ms", "ratio", "target", "")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    out = []
    out.append("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |")
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        out.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
    print("\n".join(out))
    misses = sum(1 for r in rows if r[6] == "MISS")
    passes = sum(1 for r in rows if r[6] == "PASS")
    print(f"\n{passes} PASS, {misses} MISS")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("launch")
    s.add_argument("--log", required=True)
    s.add_argument("--url", required=True)
    s.add_argument("--timeout", type=float, default=60)
    s.add_argument("command", nargs=argparse.REMAINDER)
    s = sub.add_parser("record")
    s.add_argument("--results", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--wrk")
    s.add_argument("--cpu-ticks", type=int)
    s.add_argument("--extra")
    s = sub.add_parser("churn")
    s.add_argument("--base", required=True)
    s.add_argument("--token", required=True)
    s.add_argument("--users", required=True)
    s.add_argument("--per", type=int, default=100)
    s = sub.add_parser("bulk-sqlite")
    s.add_argument("--db", required=True)
    s.add_argument("--owner", required=True)
    s.add_argument("--count", type=int, required=True)
    s = sub.add_parser("http-loop")
    s.add_argument("--url", required=True)
    s.add_argument("--token")
    s.add_argument("--count", type=int, required=True)
    s = sub.add_parser("oidc-flow")
    for flag in ("--base", "--client-id", "--client-secret", "--redirect-uri", "--email", "--password"):
        s.add_argument(flag, required=True)
    s = sub.add_parser("refresh-loop")
    for flag in ("--base", "--client-id", "--client-secret", "--refresh-tokens"):
        s.add_argument(flag, required=True)
    s.add_argument("--seconds", type=float, default=10)
    s = sub.add_parser("issuer")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--token-file", required=True)
    s.add_argument("--subject", default="bench-workload")
    s.add_argument("--audience", default="justiam")
    s = sub.add_parser("table")
    s.add_argument("--results", required=True)
    a = p.parse_args()
    if a.cmd == "launch":
        if a.command and a.command[0] == "--":
            a.command = a.command[1:]
        return cmd_launch(a)
    return {
        "record": cmd_record,
        "churn": cmd_churn,
        "bulk-sqlite": cmd_bulk_sqlite,
        "http-loop": cmd_http_loop,
        "oidc-flow": cmd_oidc_flow,
        "refresh-loop": cmd_refresh_loop,
        "issuer": cmd_issuer,
        "table": cmd_table,
    }[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main() or 0)
