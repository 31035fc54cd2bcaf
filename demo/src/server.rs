//! Sockets and connections: the accept loop, one task per connection serving HTTP/1.1
//! (keep-alive) and HTTP/2 prior knowledge on the same port, and shutdown. It does not
//! look at requests beyond their content type (gRPC calls go to `grpc`, the rest to
//! `shop`). On shutdown it stops accepting at once, asks every
//! connection to close gracefully (idle ones close immediately) and drops any still
//! open after [`GRACE`].

use crate::grpc;
use crate::shop::{self, Shop};
use http_body_util::Either;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How long in-flight requests may take to finish once shutdown is asked for.
const GRACE: Duration = Duration::from_secs(1);

/// Accepts until `stop` says so (or its sender is dropped), then winds every connection down.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    shop: Arc<Shop>,
    mut stop: watch::Receiver<bool>,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder.http1().keep_alive(true).pipeline_flush(true);
    builder.http2().max_concurrent_streams(1024);
    let builder = Arc::new(builder);
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stopped(&mut stop) => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    conns.spawn(connection(stream, builder.clone(), shop.clone(), stop.clone()));
                }
                // Out of file descriptors or a connection reset before accept: back off a
                // little rather than spin, and keep serving.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
        }
    }
    drop(listener);
    let drained = async { while conns.join_next().await.is_some() {} };
    // Past the grace period the JoinSet is dropped, which aborts what is left.
    let _ = tokio::time::timeout(GRACE * 2, drained).await;
}

async fn connection(
    stream: TcpStream,
    builder: Arc<Builder<TokioExecutor>>,
    shop: Arc<Shop>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |req| {
        let shop = shop.clone();
        async move {
            if grpc::is_grpc(&req) {
                return Ok::<_, Infallible>(grpc::handle(shop, req).await.map(Either::Right));
            }
            shop::handle(shop, req)
                .await
                .map(|res| res.map(Either::Left))
        }
    });
    // With upgrades: `GET /ws/*` hands its connection over to a WebSocket session.
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        // A client that goes away mid-request is no error of the shop's: nothing to report.
        _ = conn.as_mut() => {}
        _ = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(GRACE, conn).await;
        }
    }
}

/// Resolves once shutdown is asked for or the server handle is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|&s| s).await;
}
