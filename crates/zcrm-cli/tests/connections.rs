//! Connection bounds: a client that trickles its headers or says nothing is
//! cut off, connections beyond the cap wait, and health answers throughout.

mod common;
use common::*;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn addr(srv: &TestServer) -> String {
    srv.url.trim_start_matches("http://").to_string()
}

/// Whether the server closes `s` within `within` (a read sees the end).
async fn closed_within(s: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A 408 or similar before closing is fine too.
            Ok(Ok(_)) => continue,
        }
    }
}

async fn health_ok(srv: &TestServer) -> bool {
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        srv.http.get(format!("{}/__zcrm/health", srv.url)).send(),
    )
    .await;
    matches!(r, Ok(Ok(resp)) if resp.status() == 200)
}

#[tokio::test]
async fn trickled_headers_are_cut_off_and_health_still_answers() {
    let srv = TestServer::start_with(|c| {
        c.connections.header_read_timeout = Duration::from_secs(1);
        c.connections.idle_timeout = Duration::from_secs(30);
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(addr(&srv)).await.unwrap();
        s.write_all(b"GET /__zcrm/health HTTP/1.1\r\nHost: zcrm\r\n")
            .await
            .unwrap();
        slow.push(s);
    }
    // Keep trickling a header byte now and then, never ending the headers.
    let trickle = tokio::spawn(async move {
        for _ in 0..6 {
            for s in slow.iter_mut() {
                let _ = s.write_all(b"X").await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        slow
    });
    assert!(health_ok(&srv).await, "health answers beside slow clients");
    let mut slow = trickle.await.unwrap();
    for s in slow.iter_mut() {
        assert!(
            closed_within(s, Duration::from_secs(5)).await,
            "a client that never finished its headers is cut off"
        );
    }
    assert!(health_ok(&srv).await);
}

#[tokio::test]
async fn silent_connections_are_closed_after_the_idle_timeout() {
    let srv = TestServer::start_with(|c| {
        c.connections.header_read_timeout = Duration::from_secs(60);
        c.connections.idle_timeout = Duration::from_secs(1);
    })
    .await;
    let mut s = TcpStream::connect(addr(&srv)).await.unwrap();
    assert!(closed_within(&mut s, Duration::from_secs(10)).await);

    // A kept-alive connection that answered a request is closed when idle too.
    let mut s = TcpStream::connect(addr(&srv)).await.unwrap();
    s.write_all(b"GET /__zcrm/health HTTP/1.1\r\nHost: zcrm\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(closed_within(&mut s, Duration::from_secs(10)).await);
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let srv = TestServer::start_with(|c| {
        c.connections.max_connections = 3;
        c.connections.header_read_timeout = Duration::from_secs(60);
        c.connections.idle_timeout = Duration::from_secs(60);
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr(&srv)).await.unwrap());
    }
    // Give the server a moment to take all three.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut waiting = TcpStream::connect(addr(&srv)).await.unwrap();
    waiting
        .write_all(b"GET /__zcrm/health HTTP/1.1\r\nHost: zcrm\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 512];
    let early = tokio::time::timeout(Duration::from_millis(500), waiting.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "a fourth connection is not served while three are open"
    );
    held.pop();
    let n = tokio::time::timeout(Duration::from_secs(5), waiting.read(&mut buf))
        .await
        .expect("served once a slot is free")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn a_connection_that_never_sends_a_byte_is_closed_by_the_header_timeout() {
    let srv = TestServer::start_with(|c| {
        c.connections.header_read_timeout = Duration::from_secs(1);
        c.connections.idle_timeout = Duration::from_secs(60);
    })
    .await;
    let mut s = TcpStream::connect(addr(&srv)).await.unwrap();
    assert!(closed_within(&mut s, Duration::from_secs(10)).await);
}

/// 600 silent sockets against a server allowed 512 open files used to stop
/// it accepting for good; now they are closed at the header timeout and the
/// server takes new clients again.
#[tokio::test]
async fn a_flood_of_silent_sockets_past_the_file_limit_passes() {
    let srv = TestServer::start_process_with(|c| {
        c.connections.header_read_timeout = Duration::from_secs(2);
    })
    .await;
    let pid = srv.pid().expect("a process").to_string();
    let ok = std::process::Command::new("prlimit")
        .args(["--pid", &pid, "--nofile=512:512"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("prlimit is not available here: skipped");
        return;
    }
    let mut flood = Vec::new();
    for _ in 0..600 {
        match TcpStream::connect(addr(&srv)).await {
            Ok(s) => flood.push(s),
            Err(_) => break,
        }
    }
    assert!(flood.len() >= 512, "{} sockets", flood.len());
    let started = Instant::now();
    let mut answered = false;
    while started.elapsed() < Duration::from_secs(20) {
        if health_ok(&srv).await {
            answered = true;
            break;
        }
    }
    assert!(
        answered,
        "health answers once the silent sockets are cut off"
    );
    drop(flood);
}
