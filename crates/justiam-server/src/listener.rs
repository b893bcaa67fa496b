//! The accept loop: plain HTTP or native TLS (rustls), a bound on open connections, a deadline for
//! request headers (slow or idle clients are dropped), and graceful shutdown.
//!
//! `axum::serve` offers none of these knobs, so connections are served with hyper directly.

use std::cell::RefCell;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tower::Service;

#[derive(Clone)]
pub struct ListenSettings {
    /// Connections served at once; further clients wait in the kernel's accept queue.
    pub max_connections: usize,
    /// A client must send its request headers (and a TLS client its handshake) within this time.
    pub header_read_timeout: Duration,
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// Loads a PEM certificate chain and private key into a rustls server configuration.
pub fn load_tls(cert_file: &Path, key_file: &Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let certs = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            anyhow!(
                "cannot read the TLS certificate {}: {e}",
                cert_file.display()
            )
        })?;
    if certs.is_empty() {
        return Err(anyhow!("{} holds no PEM certificate", cert_file.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
        anyhow!(
            "cannot read the TLS private key {}: {e}",
            key_file.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| anyhow!("the TLS certificate and key do not work together: {e}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The HTTP application as the listener sees it: `crate::app::build`. It must always be ready
/// (`poll_ready` never pending), as axum's routers are: each connection calls it without asking.
pub trait App:
    Service<
        axum::extract::Request,
        Response = axum::response::Response,
        Error = Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> App for S where
    S: Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// Serves `app` on `listener` until `stop` turns true, then lets open requests finish (up to 10 s).
pub async fn serve(
    listener: TcpListener,
    app: impl App,
    settings: ListenSettings,
    mut stop: watch::Receiver<bool>,
) {
    let permits = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let stopped = async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stopped);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut stopped => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stopped => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let settings = settings.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            serve_connection(stream, peer, app, &settings, watcher).await;
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after 10 s; closing them");
    }
}

/// One connection's view of the application: the peer's address on every request (in its
/// [`crate::app::RequestRecord`], read by the observe layer and the extractors), and the
/// connection's own copy of the application, called in place. (hyper's tower adapter clones the
/// whole application for every request instead: reference counts every worker thread writes.)
struct ConnectionService<A> {
    /// HTTP/1 hands a connection one request at a time, and the future a call returns owns all
    /// it needs: the borrow lasts for the call only.
    app: RefCell<A>,
    peer: SocketAddr,
}

impl<A: App> hyper::service::Service<hyper::Request<Incoming>> for ConnectionService<A> {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = A::Future;

    fn call(&self, mut request: hyper::Request<Incoming>) -> A::Future {
        request
            .extensions_mut()
            .insert(crate::app::RequestRecord::for_peer(self.peer));
        self.app
            .borrow_mut()
            .call(request.map(axum::body::Body::new))
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: impl App,
    settings: &ListenSettings,
    watcher: hyper_util::server::graceful::Watcher,
) {
    let service = ConnectionService {
        app: RefCell::new(app),
        peer,
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    let result = match &settings.tls {
        None => {
            watcher
                .watch(builder.serve_connection(TokioIo::new(stream), service))
                .await
        }
        Some(config) => {
            let handshake = TlsAcceptor::from(config.clone()).accept(stream);
            let tls = match tokio::time::timeout(settings.header_read_timeout, handshake).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(error)) => {
                    tracing::debug!(%error, %peer, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            watcher
                .watch(builder.serve_connection(TokioIo::new(tls), service))
                .await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, %peer, "connection ended with an error");
    }
}
