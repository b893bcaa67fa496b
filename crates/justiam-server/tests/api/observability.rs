//! `/metrics` and the access log.

use std::collections::HashMap;

use reqwest::Method;

use crate::common::*;

/// The two text formats of `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    OpenMetrics,
    /// The classic Prometheus text format 0.0.4.
    Prometheus,
}

/// What Prometheus 2 sends when it scrapes.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

/// Parses a scrape into `name{labels} -> value`, checking it against the rules of its format:
/// every sample belongs to the family its `# TYPE` line names — with `_total` in the family name of
/// a classic counter, and only on the samples in OpenMetrics — the types are the format's, and only
/// OpenMetrics has `# UNIT` lines and ends with `# EOF`.
fn parse_metrics(text: &str, format: Format) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    assert_eq!(
        text.trim_end().ends_with("# EOF"),
        format == Format::OpenMetrics,
        "# EOF ends OpenMetrics text and nothing else: {text}"
    );
    let mut family: Option<(String, String)> = None;
    for line in text.lines().filter(|l| !l.is_empty()) {
        if line == "# EOF" {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name type");
            let types: &[&str] = match format {
                Format::OpenMetrics => &[
                    "counter",
                    "gauge",
                    "histogram",
                    "summary",
                    "unknown",
                    "info",
                    "stateset",
                    "gaugehistogram",
                ],
                Format::Prometheus => &["counter", "gauge", "histogram", "summary", "untyped"],
            };
            assert!(types.contains(&kind), "{format:?} type: {line}");
            if kind == "counter" {
                assert_eq!(
                    name.ends_with("_total"),
                    format == Format::Prometheus,
                    "counter family name in {format:?}: {line}"
                );
            }
            family = Some((name.to_owned(), kind.to_owned()));
            continue;
        }
        assert!(
            !line.starts_with("# UNIT") || format == Format::OpenMetrics,
            "{line}"
        );
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("sample line {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("numeric value in {line:?}"));
        assert!(series.starts_with("justiam_"), "{line}");
        let name = series.split('{').next().unwrap_or_default();
        let (family_name, kind) = family.as_ref().expect("a sample after its # TYPE line");
        let belongs = match (kind.as_str(), format) {
            ("counter", Format::OpenMetrics) => name == format!("{family_name}_total"),
            ("histogram", _) => ["_bucket", "_sum", "_count"]
                .iter()
                .any(|suffix| name == format!("{family_name}{suffix}")),
            _ => name == family_name,
        };
        assert!(
            belongs,
            "{format:?}: {line} after # TYPE {family_name} {kind}"
        );
        samples.insert(series.to_owned(), value);
    }
    samples
}

async fn scrape(server: &TestServer) -> HashMap<String, f64> {
    scrape_url(&format!("{}/metrics", server.url)).await
}

/// Scrapes as Prometheus does (asking for OpenMetrics).
async fn scrape_url(url: &str) -> HashMap<String, f64> {
    scrape_as(url, Some(PROMETHEUS_ACCEPT), Format::OpenMetrics).await
}

/// Scrapes with `accept` and checks the answer is in `format`.
async fn scrape_as(url: &str, accept: Option<&str>, format: Format) -> HashMap<String, f64> {
    let mut request = reqwest::Client::new().get(url);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.expect("scrape");
    assert_eq!(response.status(), 200);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let expected = match format {
        Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
    };
    assert_eq!(header("content-type"), expected, "Accept: {accept:?}");
    assert_eq!(header("vary"), "accept");
    parse_metrics(&response.text().await.expect("body"), format)
}

/// A scraper that does not ask for OpenMetrics (curl, an agent, `Accept: text/plain`) gets the
/// classic Prometheus text format, one that asks for it gets OpenMetrics; both valid, with the same
/// series and values.
async fn metrics_answer_the_format_the_scraper_asks_for(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    admin.me().await.expect("me");
    let url = format!("{}/metrics", server.url);
    // The first scrape adds the series of `/metrics` itself; from then on the set stays.
    scrape_as(&url, Some(PROMETHEUS_ACCEPT), Format::OpenMetrics).await;
    let openmetrics = scrape_as(&url, Some(PROMETHEUS_ACCEPT), Format::OpenMetrics).await;
    for accept in [
        None,
        Some("*/*"),
        Some("text/plain"),
        Some("text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5"),
        Some("application/openmetrics-text;q=0"),
    ] {
        let classic = scrape_as(&url, accept, Format::Prometheus).await;
        assert_eq!(
            classic.keys().collect::<std::collections::BTreeSet<_>>(),
            openmetrics
                .keys()
                .collect::<std::collections::BTreeSet<_>>(),
            "the same series in both formats"
        );
    }
    let classic = scrape_as(&url, None, Format::Prometheus).await;
    for series in [
        r#"justiam_build_info{version="0.1.0"}"#,
        r#"justiam_authentications_total{credential="password",outcome="ok"}"#,
    ] {
        assert_eq!(classic.get(series), openmetrics.get(series), "{series}");
        assert!(classic.contains_key(series), "{series} in {classic:?}");
    }
    assert!(
        classic
            .keys()
            .any(|k| k.starts_with("justiam_http_requests_total{")),
        "{classic:?}"
    );
    scrape_as(
        &url,
        Some("application/openmetrics-text; version=1.0.0"),
        Format::OpenMetrics,
    )
    .await;
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

async fn metrics_move_with_requests(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let before = scrape(&server).await;
    assert_eq!(
        value(&before, r#"justiam_build_info{version="0.1.0"}"#),
        1.0
    );
    assert!(value(&before, r#"justiam_db_pool_connections{state="max"}"#) >= 1.0);

    let token = admin.create_my_token("metrics", 3).await.expect("token");
    admin.create_my_token("later", 30).await.expect("token");
    let pat = server.anonymous().with_token(token.token.clone());
    pat.me().await.expect("PAT works");
    let revoked = raw(
        &server
            .anonymous()
            .with_token("justiam_pat_notavalidtokenatallnotavalidtoken12"),
        Method::GET,
        "/api/v1/me",
        None,
    )
    .await;
    assert_eq!(revoked.status, 401);
    let failed = server
        .anonymous()
        .login(ADMIN_EMAIL, "wrong-password")
        .await;
    assert!(failed.is_err());

    let after = scrape(&server).await;
    let me_ok = r#"justiam_http_requests_total{method="GET",route="/api/v1/me",status="200"}"#;
    assert_eq!(value(&after, me_ok) - value(&before, me_ok), 1.0);
    let me_401 = r#"justiam_http_requests_total{method="GET",route="/api/v1/me",status="401"}"#;
    assert_eq!(value(&after, me_401) - value(&before, me_401), 1.0);
    let latency = r#"justiam_http_request_duration_seconds_count{method="GET",route="/api/v1/me",status="200"}"#;
    assert_eq!(value(&after, latency) - value(&before, latency), 1.0);
    let pat_ok = r#"justiam_authentications_total{credential="pat",outcome="ok"}"#;
    assert_eq!(value(&after, pat_ok) - value(&before, pat_ok), 1.0);
    // On the main port (no METRICS_ADDR) a refusal is `refused`, whatever its reason.
    let pat_refused = r#"justiam_authentications_total{credential="pat",outcome="refused"}"#;
    assert_eq!(
        value(&after, pat_refused) - value(&before, pat_refused),
        1.0
    );
    let password_refused =
        r#"justiam_authentications_total{credential="password",outcome="refused"}"#;
    assert_eq!(
        value(&after, password_refused) - value(&before, password_refused),
        1.0
    );
    assert_eq!(value(&after, "justiam_tokens_active"), 2.0);
    assert_eq!(value(&after, "justiam_tokens_expiring_7d"), 1.0);

    admin.revoke_my_token(token.id).await.expect("revoke");
    let revoked = raw(&pat, Method::GET, "/api/v1/me", None).await;
    assert_eq!(revoked.status, 401);
    let last = scrape(&server).await;
    assert_eq!(value(&last, pat_refused), 2.0);
    assert_eq!(value(&last, "justiam_tokens_active"), 1.0);
}

/// The `justiam_authentications_total` samples of a scrape.
fn authentications(samples: &HashMap<String, f64>) -> HashMap<String, f64> {
    samples
        .iter()
        .filter(|(series, _)| series.starts_with("justiam_authentications_total"))
        .map(|(series, value)| (series.clone(), *value))
        .collect()
}

/// How the authentication samples moved from `before` to `after`: the series that changed, and by
/// how much.
fn moved(before: &HashMap<String, f64>, after: &HashMap<String, f64>) -> Vec<(String, f64)> {
    let mut moved: Vec<(String, f64)> = authentications(after)
        .into_iter()
        .map(|(series, value)| {
            let was = before.get(&series).copied().unwrap_or(0.0);
            (series, value - was)
        })
        .filter(|(_, by)| *by != 0.0)
        .collect();
    moved.sort_by(|a, b| a.0.cmp(&b.0));
    moved
}

/// Red-team finding 5, as the thief does it: try a stolen token (revoked by now) and a value that
/// never existed, reading `/metrics` before and after each. On the main port (`METRICS_ADDR`
/// unset) both move the same series, `outcome="refused"`; only the operators' own listener
/// (`METRICS_ADDR`) tells `revoked` from `invalid`.
async fn refusals_as_a_token_thief_reads_them(backend: Backend, operators_listener: bool) {
    let server = TestServer::start_with(backend, |args| {
        if operators_listener {
            args.metrics_addr = Some("127.0.0.1:0".parse().expect("address"));
        }
    })
    .await;
    let metrics_url = match server.running.as_ref().and_then(|r| r.metrics_addr) {
        Some(addr) => format!("http://{addr}/metrics"),
        None => format!("{}/metrics", server.url),
    };
    let admin = server.admin().await;
    let stolen = admin.create_my_token("stolen", 3).await.expect("token");
    admin.revoke_my_token(stolen.id).await.expect("revoke");
    let never_existed = justiam_core::token::generate()
        .expect("randomness")
        .into_exposed();

    let mut seen = Vec::new();
    for value in [stolen.token.as_str(), never_existed.as_str()] {
        let before = scrape_url(&metrics_url).await;
        let tried = raw(
            &server.anonymous().with_token(value),
            Method::GET,
            "/api/v1/me",
            None,
        )
        .await;
        assert_error(&tried, 401, "invalid_token", "");
        seen.push(moved(&before, &scrape_url(&metrics_url).await));
    }
    let series = |outcome: &str| {
        vec![(
            format!(r#"justiam_authentications_total{{credential="pat",outcome="{outcome}"}}"#),
            1.0,
        )]
    };
    if operators_listener {
        assert_eq!(seen, [series("revoked"), series("invalid")]);
    } else {
        assert_eq!(seen, [series("refused"), series("refused")]);
        let all = scrape_url(&metrics_url).await;
        for hidden in ["invalid", "expired", "revoked"] {
            assert!(
                all.keys()
                    .all(|k| !k.contains(&format!("outcome=\"{hidden}\""))),
                "{hidden} on the public listener: {all:?}"
            );
        }
    }
}

async fn a_token_thief_cannot_tell_revoked_from_unknown_on_public_metrics(backend: Backend) {
    refusals_as_a_token_thief_reads_them(backend, false).await;
}

async fn operators_metrics_tell_revoked_from_unknown(backend: Backend) {
    refusals_as_a_token_thief_reads_them(backend, true).await;
}

async fn pat_responses_carry_the_expiry_header(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.admin().await;
    let token = admin.create_my_token("expiry", 10).await.expect("token");
    let pat = server.anonymous().with_token(token.token);
    let ok = raw(&pat, Method::GET, "/api/v1/me", None).await;
    let expected = token
        .expires_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert_eq!(
        ok.header("justiam-token-expires-at"),
        Some(expected.as_str())
    );
    let not_found = raw(
        &pat,
        Method::GET,
        &format!("/api/v1/users/{}", uuid::Uuid::now_v7()),
        None,
    )
    .await;
    assert_eq!(not_found.status, 404);
    assert_eq!(
        not_found.header("justiam-token-expires-at"),
        Some(expected.as_str())
    );
    let jwt = raw(&admin, Method::GET, "/api/v1/me", None).await;
    assert_eq!(jwt.header("justiam-token-expires-at"), None);
}

/// `METRICS_ADDR`: `/metrics` moves to its own listener, which serves nothing else, and the main
/// port answers it 404 like any unknown path.
async fn metrics_on_their_own_address(backend: Backend) {
    let server = TestServer::start_with(backend, |args| {
        args.metrics_addr = Some("127.0.0.1:0".parse().expect("address"));
    })
    .await;
    let metrics_addr = server
        .running
        .as_ref()
        .and_then(|r| r.metrics_addr)
        .expect("a metrics listener");
    let admin = server.admin().await;
    admin.me().await.expect("me");

    let samples = scrape_url(&format!("http://{metrics_addr}/metrics")).await;
    assert_eq!(
        value(&samples, r#"justiam_build_info{version="0.1.0"}"#),
        1.0
    );
    assert!(
        value(
            &samples,
            r#"justiam_http_requests_total{method="GET",route="/api/v1/me",status="200"}"#
        ) >= 1.0,
        "requests on the main port are counted: {samples:?}"
    );

    let main = raw(&server.anonymous(), Method::GET, "/metrics", None).await;
    assert_error(&main, 404, "not_found", "endpoint");
    let other = reqwest::get(format!("http://{metrics_addr}/api/v1/me"))
        .await
        .expect("get");
    assert_eq!(
        other.status(),
        404,
        "the metrics listener serves only /metrics"
    );
    let body: serde_json::Value = other.json().await.expect("error body");
    assert_eq!(body["code"], "not_found");
}

crate::on_both_databases!(
    metrics_answer_the_format_the_scraper_asks_for,
    metrics_move_with_requests,
    pat_responses_carry_the_expiry_header,
    metrics_on_their_own_address,
    a_token_thief_cannot_tell_revoked_from_unknown_on_public_metrics,
    operators_metrics_tell_revoked_from_unknown
);

/// `LOG_FORMAT=json`: one JSON object per line; the access line names request id, route, status,
/// latency, principal and credential kind.
#[tokio::test]
async fn json_access_log_lines_parse_and_name_the_caller() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_justiam"))
        .arg("serve")
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/j.db", dir.path().display()),
        )
        .env("PORT", "0")
        .env("BIND_ADDR", "127.0.0.1")
        .env("LOG_FORMAT", "json")
        .env("JUSTIAM_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("JUSTIAM_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn justiam");
    use tokio::io::AsyncBufReadExt;
    // With LOG_FORMAT=json the address is said in a line of the JSON log, on stderr.
    let (address, said) = tokio::sync::oneshot::channel();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    let collected = tokio::spawn(async move {
        let mut address = Some(address);
        let mut text = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let entry: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if let Some(addr) = entry["message"]
                .as_str()
                .and_then(|m| m.strip_prefix("JustIAM listening on "))
                && let Some(address) = address.take()
            {
                let _ = address.send(addr.to_owned());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let url = tokio::time::timeout(std::time::Duration::from_secs(30), said)
        .await
        .expect("the server says its address within 30 s")
        .expect("server says its address");
    let client = justiam_client::Client::new(&url);
    let login = client
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("login");
    let admin = client.with_token(login.token.clone());
    let me = admin.me().await.expect("me");
    // A graceful stop: the log writer thread flushes what it holds.
    send_sigterm(child.id().expect("running"));
    let output = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("the server stops within 10 s of SIGTERM")
        .expect("output");
    assert!(
        output.stdout.is_empty(),
        "LOG_FORMAT=json: nothing on stdout"
    );
    let stderr = collected.await.expect("stderr");
    let mut access = Vec::new();
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if entry["message"] == "request" {
            access.push(entry);
        }
    }
    assert!(
        !stderr.contains(&login.token),
        "the JWT must never be logged"
    );
    assert!(
        !stderr.contains(ADMIN_PASSWORD),
        "the password must never be logged"
    );
    let me_line = access
        .iter()
        .find(|e| e["route"] == "/api/v1/me")
        .unwrap_or_else(|| panic!("an access line for /api/v1/me in {stderr}"));
    assert_eq!(me_line["status"], 200);
    assert_eq!(me_line["credential"], "jwt");
    assert_eq!(me_line["principal_id"], me.user.id.to_string());
    assert!(me_line["latency_ms"].as_f64().is_some());
    assert!(
        me_line["request_id"]
            .as_str()
            .is_some_and(|id| id.len() == 36),
        "{me_line}"
    );
    assert_eq!(me_line["method"], "GET");
}

/// At most one `last_used_at` write per token per flush interval, however often it is used.
async fn token_use_costs_at_most_one_write_per_interval(backend: Backend) {
    let server = TestServer::start_with(backend, |args| args.pat_usage_flush_seconds = 2).await;
    let admin = server.admin().await;
    let busy = server
        .anonymous()
        .with_token(admin.create_my_token("busy", 1).await.expect("token").token);
    let quiet = server.anonymous().with_token(
        admin
            .create_my_token("quiet", 1)
            .await
            .expect("token")
            .token,
    );
    let iam = server.iam();
    // Wait for a flush boundary so the burst below falls inside one interval.
    let start = iam.usage.rows_written();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let before = iam.usage.rows_written();
    assert_eq!(before, start, "nothing was used, nothing written");
    for _ in 0..200 {
        busy.me().await.expect("busy token works");
    }
    quiet.me().await.expect("quiet token works");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(6);
    while iam.usage.rows_written() == before && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let written = iam.usage.rows_written() - before;
    // 201 authenticated requests in one or two intervals: one row per token per interval.
    assert!(
        (2..=4).contains(&written),
        "{written} rows written for 201 uses of 2 tokens"
    );
    let scraped = scrape(&server).await;
    let total = scraped["justiam_token_usage_writes_total"];
    assert_eq!(total as u64, iam.usage.rows_written());
}

crate::on_both_databases!(token_use_costs_at_most_one_write_per_interval);

/// The `key=value` fields of a text log line as a logfmt reader takes them: a value runs to the
/// next space, or is a quoted string with `\` escapes. Words without `=` are skipped.
fn logfmt_fields(line: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    while chars.peek().is_some() {
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != ' ' && *c != '=') {
            key.push(c);
        }
        if chars.next_if_eq(&'=').is_none() {
            chars.next();
            continue;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => value.extend(chars.next()),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ' ') {
                value.push(c);
            }
        }
        fields.push((key, value));
    }
    fields
}

/// Red-team finding 4: a client's `X-Request-Id` was written unquoted into the text log, so
/// `zzz" principal_id=… status=200` forged fields of an anonymous `401` for logfmt readers. An id
/// outside `[A-Za-z0-9._:@+/=-]{1,128}` is now replaced by a fresh one, which the answer names,
/// and the text line quotes the id.
async fn a_forged_request_id_cannot_forge_log_fields(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = fresh_database(backend, &dir).await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_justiam"))
        .arg("serve")
        .env_clear()
        .env("DATABASE_URL", &database_url)
        .env("JWT_SECRET", "log-test-secret-log-test-secret-0001")
        .env("MFA_ENCRYPTION_KEY", TEST_MFA_KEY)
        .env("PORT", "0")
        .env("BIND_ADDR", "127.0.0.1")
        .env("LOG_FORMAT", "text")
        .env("JUSTIAM_BOOTSTRAP_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("JUSTIAM_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn justiam");
    use tokio::io::AsyncBufReadExt;
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next_line()
            .await
            .expect("read")
            .expect("server prints its address");
        if let Some(addr) = line.strip_prefix("JustIAM listening on ") {
            break addr.to_owned();
        }
    };
    let admin_id = justiam_client::Client::new(&url)
        .login(ADMIN_EMAIL, ADMIN_PASSWORD)
        .await
        .expect("login")
        .user
        .id;
    let http = reqwest::Client::new();
    let me = |request_id: String| {
        http.get(format!("{url}/api/v1/me"))
            .header("x-request-id", request_id)
            .send()
    };

    // The attack: an anonymous request whose id carries an admin's successful request.
    let forged = format!(r#"zzz" principal_id={admin_id} credential="pat" status=200"#);
    let answer = me(forged.clone()).await.expect("request");
    assert_eq!(answer.status(), 401);
    let fresh = answer.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        uuid::Uuid::parse_str(&fresh).is_ok(),
        "a generated id replaces {forged:?}, not {fresh:?}"
    );

    // Too long, empty or with a space: replaced too. An id a log line can hold is kept.
    for refused in ["a".repeat(129), String::new(), "a b".to_owned()] {
        let answer = me(refused.clone()).await.expect("request");
        let used = answer.headers()["x-request-id"].to_str().expect("ascii");
        assert!(uuid::Uuid::parse_str(used).is_ok(), "{refused:?} -> {used}");
    }
    let kept = "lb-7:3f2a/AbC+dE==_x.y@z";
    let longest = "b".repeat(128);
    for kept in [kept, longest.as_str()] {
        let answer = me(kept.to_owned()).await.expect("request");
        assert_eq!(answer.headers()["x-request-id"], kept);
    }

    send_sigterm(child.id().expect("running"));
    let output = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("the server stops within 10 s of SIGTERM")
        .expect("output");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("zzz"),
        "the forged id is not logged: {stderr}"
    );
    let access: Vec<Vec<(String, String)>> = stderr
        .lines()
        .filter(|l| l.contains(" justiam_server::http: request "))
        .map(logfmt_fields)
        .collect();
    let field = |fields: &[(String, String)], name: &str| -> Vec<String> {
        fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let attack = access
        .iter()
        .find(|f| field(f, "request_id") == [fresh.clone()])
        .unwrap_or_else(|| panic!("an access line for {fresh} in {stderr}"));
    assert_eq!(field(attack, "status"), ["401"], "{attack:?}");
    assert_eq!(field(attack, "route"), ["/api/v1/me"], "{attack:?}");
    assert!(field(attack, "principal_id").is_empty(), "{attack:?}");
    assert!(field(attack, "credential").is_empty(), "{attack:?}");
    for kept in [kept, longest.as_str()] {
        assert!(
            stderr.contains(&format!(r#" request_id="{kept}" method=GET"#)),
            "the kept id is logged, quoted: {stderr}"
        );
    }
}

crate::on_both_databases!(a_forged_request_id_cannot_forge_log_fields);
