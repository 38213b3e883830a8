//! A webhook receiver for the notification benchmark (`bench/notify.sh`):
//! answers 200 at once, and for every delivery records how long after the
//! change's commit (`server_time` in the body) it arrived. On SIGINT/SIGTERM
//! it prints one line: `deliveries per_second p50_ms p99_ms max_ms`, the
//! rate taken between the first and the last receipt.
//!
//!   cargo run --release --example webhook_sink -- 127.0.0.1:9099

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Default)]
struct Seen {
    /// (received at ms, latency ms) per delivery.
    hits: Vec<(i64, i64)>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

async fn hook(State(seen): State<Arc<Mutex<Seen>>>, body: Bytes) -> StatusCode {
    let at = now_ms();
    let sent = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["server_time"].as_i64())
        .unwrap_or(at);
    if let Ok(mut s) = seen.lock() {
        s.hits.push((at, at - sent));
    }
    StatusCode::OK
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9099".into());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let app = axum::Router::new()
        .route("/hook", post(hook))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .expect("bind the sink address");
    let stop = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
        .expect("serve");
    let s = seen.lock().expect("sink state");
    let n = s.hits.len();
    if n == 0 {
        println!("0 0 0 0 0");
        return;
    }
    let first = s.hits.iter().map(|h| h.0).min().unwrap_or(0);
    let last = s.hits.iter().map(|h| h.0).max().unwrap_or(0);
    let mut lat: Vec<i64> = s.hits.iter().map(|h| h.1).collect();
    lat.sort_unstable();
    let pct = |p: f64| lat[((n as f64 * p) as usize).min(n - 1)];
    let rate = n as f64 * 1000.0 / (last - first).max(1) as f64;
    println!("{n} {rate:.0} {} {} {}", pct(0.50), pct(0.99), lat[n - 1]);
}
