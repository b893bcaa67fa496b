//! The signing half of an outside OpenID Connect issuer, in another language and library:
//! `tests/rp/outside_signer.py` generates the keys and signs the tokens with joserfc (the same
//! venv as the relying parties, so the same skip-or-fail rule). The federation tests serve the
//! issuer's discovery and JWKS themselves and only ask this process for keys and tokens.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::Mutex;

use crate::relying_parties::{Runtime, Tools};

/// One running `outside_signer.py`: a JSON request per line, a JSON answer per line.
pub struct Joserfc {
    pipe: Mutex<(ChildStdin, Lines<BufReader<ChildStdout>>)>,
    /// Killed when the last key is dropped.
    _child: Child,
}

impl Joserfc {
    /// The signer, or `None` (after a loud SKIPPED) without the venv; a panic under
    /// `JUSTIAM_TEST_REQUIRE_ALL=1`.
    pub fn start() -> Option<Arc<Joserfc>> {
        let tools = Tools::find(&[Runtime::Python])?;
        let mut child = tools
            .command("outside_signer.py")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start outside_signer.py");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Some(Arc::new(Joserfc {
            pipe: Mutex::new((stdin, stdout)),
            _child: child,
        }))
    }

    async fn call(&self, request: Value) -> Value {
        let mut pipe = self.pipe.lock().await;
        let (stdin, stdout) = &mut *pipe;
        stdin
            .write_all(format!("{request}\n").as_bytes())
            .await
            .expect("write to outside_signer.py");
        let line = stdout
            .next_line()
            .await
            .expect("read from outside_signer.py")
            .expect("outside_signer.py ended");
        let answer: Value = serde_json::from_str(&line).expect("a JSON answer");
        assert!(answer.get("error").is_none(), "{request}: {answer}");
        answer
    }

    async fn token(&self, request: Value) -> String {
        self.call(request).await["token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// A new RS256 key (2048 bits) named `kid`.
    pub async fn rs256(self: &Arc<Self>, kid: &str) -> IssuerKey {
        self.generate("RS256", kid).await
    }

    /// A new ES256 key (P-256) named `kid`.
    pub async fn es256(self: &Arc<Self>, kid: &str) -> IssuerKey {
        self.generate("ES256", kid).await
    }

    async fn generate(self: &Arc<Self>, alg: &'static str, kid: &str) -> IssuerKey {
        let answer = self
            .call(json!({"op": "generate", "alg": alg, "kid": kid}))
            .await;
        IssuerKey {
            signer: Arc::clone(self),
            alg,
            kid: kid.to_owned(),
            private: answer["private"].clone(),
            public: answer["public"].clone(),
        }
    }

    /// `alg: none`, an empty signature (joserfc builds it when asked by name).
    pub async fn unsigned(&self, kid: &str, claims: &Value) -> String {
        self.token(json!({
            "op": "none",
            "header": {"alg": "none", "kid": kid, "typ": "JWT"},
            "claims": claims,
        }))
        .await
    }
}

/// An outside issuer's signing key, held by the joserfc process's caller as a private JWK.
pub struct IssuerKey {
    signer: Arc<Joserfc>,
    pub alg: &'static str,
    pub kid: String,
    private: Value,
    public: Value,
}

impl IssuerKey {
    /// The public JWK as the issuer publishes it (`kty`, `kid`, `use`, `alg` and the key).
    pub fn jwk(&self) -> Value {
        self.public.clone()
    }

    /// A compact JWS of `claims`, header `alg`, `kid`, `typ: JWT`.
    pub async fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(json!({}), claims).await
    }

    /// As [`IssuerKey::sign`], with `header` merged over the defaults (`null` removes a member).
    pub async fn sign_with_header(&self, header: Value, claims: &Value) -> String {
        let header = self.header(header);
        self.signer
            .token(json!({"op": "sign", "jwk": self.private, "header": header, "claims": claims}))
            .await
    }

    /// HS256 keyed with this key's *public* PEM: the algorithm-confusion attack (made by hand in
    /// the script, since joserfc refuses to turn a public key into an HMAC secret).
    pub async fn hs256_with_public_key(&self, claims: &Value) -> String {
        let header = self.header(json!({"alg": "HS256"}));
        self.signer
            .token(json!({
                "op": "hs256_with_public_key", "jwk": self.private, "header": header, "claims": claims,
            }))
            .await
    }

    fn header(&self, changes: Value) -> Value {
        let mut header = json!({ "alg": self.alg, "kid": self.kid, "typ": "JWT" });
        if let (Some(header), Some(changes)) = (header.as_object_mut(), changes.as_object()) {
            for (name, value) in changes {
                if value.is_null() {
                    header.remove(name);
                } else {
                    header.insert(name.clone(), value.clone());
                }
            }
        }
        header
    }
}
