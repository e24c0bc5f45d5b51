//! Serving a router on a local port, one task per connection, where a
//! handler may hang up its connection without answering: what a server
//! that fails mid-request looks like to the client.

use axum::{Extension, Router};
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// Given to every request as an extension: closes its connection.
#[derive(Clone)]
pub(super) struct HangUp(Arc<Notify>);

impl HangUp {
    /// Closes the connection at once; nothing more is written to it.
    pub(super) fn now(&self) {
        self.0.notify_one();
    }
}

/// Accepts connections on `listener` until the task is aborted.
pub(super) fn serve(listener: TcpListener, router: Router) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let hang_up = HangUp(Arc::new(Notify::new()));
            let service =
                TowerToHyperService::new(router.clone().layer(Extension(hang_up.clone())));
            tokio::spawn(async move {
                let connection =
                    http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = connection => {}
                    () = hang_up.0.notified() => {}
                }
            });
        }
    })
}
