//! Faults injected between the client and the S3 emulator by a small HTTP proxy on loopback:
//! 500s, 503s, connection resets, stalls and truncated bodies.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mds_fetch::{DownloadOptions, Error, Expected, RetryPolicy, download, hash};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::{bucket, dataset, endpoint, pattern, seed, unique};

/// What the proxy does to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Status500,
    Status503,
    Reset,
    Stall,
    Truncate,
}

const KINDS: [Fault; 5] = [
    Fault::Status500,
    Fault::Status503,
    Fault::Reset,
    Fault::Stall,
    Fault::Truncate,
];

#[derive(Debug)]
struct Plan {
    /// Faults per thousand requests, drawn from a seeded xorshift.
    per_mille: u64,
    /// Applied to every request when set.
    always: Option<Fault>,
    rng: Mutex<u64>,
    requests: AtomicU64,
    faults: AtomicU64,
}

impl Plan {
    fn next(&self) -> Fault {
        let n = self.requests.fetch_add(1, Ordering::SeqCst);
        if let Some(f) = self.always {
            self.faults.fetch_add(1, Ordering::SeqCst);
            return f;
        }
        // every kind once early on (requests 3, 6, ..., 15), so each is exercised for sure
        let forced = (n % 3 == 2 && n < 15).then(|| KINDS[(n / 3) as usize]);
        let drawn = {
            let mut x = self.rng.lock().unwrap();
            *x ^= *x << 13;
            *x ^= *x >> 7;
            *x ^= *x << 17;
            (*x % 1000 < self.per_mille).then(|| KINDS[((*x >> 20) % 5) as usize])
        };
        match forced.or(drawn) {
            Some(f) => {
                self.faults.fetch_add(1, Ordering::SeqCst);
                f
            }
            None => Fault::None,
        }
    }
}

/// The proxy: listens on 127.0.0.1, one request per connection (it answers with
/// `Connection: close`), forwards to `upstream` unless the plan injects a fault.
struct Proxy {
    addr: SocketAddr,
    plan: Arc<Plan>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    async fn start(upstream: &str, per_mille: u64, always: Option<Fault>) -> Self {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let plan = Arc::new(Plan {
            per_mille,
            always,
            rng: Mutex::new(0x2545_F491_4F6C_DD1D),
            requests: AtomicU64::new(0),
            faults: AtomicU64::new(0),
        });
        let p = Arc::clone(&plan);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (p, up) = (Arc::clone(&p), upstream.clone());
                tokio::spawn(async move {
                    let _ = serve(client, &up, &p).await;
                });
            }
        });
        Self { addr, plan, task }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn find(h: &[u8], pat: &[u8]) -> Option<usize> {
    h.windows(pat.len()).position(|w| w == pat)
}

/// Rewrites a header block so that it carries `Connection: close` and no other Connection.
fn with_close(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let mut out = String::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    out.into_bytes()
}

async fn serve(mut client: TcpStream, upstream: &str, plan: &Plan) -> std::io::Result<()> {
    // request head (+ body by Content-Length)
    let mut buf = Vec::new();
    let head_end = loop {
        let mut chunk = [0u8; 8192];
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let mut chunk = vec![0u8; 65536];
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let fault = plan.next();
    match fault {
        Fault::Status500 | Fault::Status503 => {
            let line = if fault == Fault::Status500 {
                "500 Internal Server Error"
            } else {
                "503 Slow Down"
            };
            let resp = format!("HTTP/1.1 {line}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            client.write_all(resp.as_bytes()).await?;
            return client.shutdown().await;
        }
        Fault::Reset => {
            // SO_LINGER 0: close() sends RST instead of FIN
            #[allow(
                deprecated,
                reason = "the blocking-close caveat does not apply to a zero linger"
            )]
            client.set_linger(Some(Duration::ZERO))?;
            drop(client);
            return Ok(());
        }
        Fault::Stall => {
            // never answer; wait until the client gives up and closes
            let mut sink = [0u8; 1024];
            while client.read(&mut sink).await? > 0 {}
            return Ok(());
        }
        Fault::None | Fault::Truncate => {}
    }
    let mut up = TcpStream::connect(upstream).await?;
    up.write_all(&with_close(&buf[..head_end - 2])).await?;
    up.write_all(&buf[head_end..]).await?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp).await?;
    let Some(rh) = find(&resp, b"\r\n\r\n").map(|i| i + 4) else {
        return Ok(());
    };
    let mut out = with_close(&resp[..rh - 2]);
    let body = &resp[rh..];
    if fault == Fault::Truncate {
        if body.is_empty() {
            #[allow(deprecated, reason = "as above")]
            client.set_linger(Some(Duration::ZERO))?;
            return Ok(());
        }
        out.extend_from_slice(&body[..body.len() / 2]);
    } else {
        out.extend_from_slice(body);
    }
    client.write_all(&out).await?;
    client.shutdown().await
}

fn fault_opts(retries: u32) -> DownloadOptions {
    DownloadOptions {
        part_size_bytes: 256 * 1024,
        parts_in_flight: 4,
        retry: RetryPolicy {
            retries,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
            max_jitter: Duration::from_millis(20),
            timeout: Duration::from_secs(2),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_percent_faults_every_download_still_completes() {
    let Some(ep) = endpoint("MDS_TEST_S3_ENDPOINT") else {
        return;
    };
    let prefix = unique("faults");
    let mut files = dataset();
    for i in 0..4 {
        files.push((format!("big/shard.{i:05}.mds"), pattern(100 + i, 3 << 20)));
    }
    seed(crate::backends::s3_fetcher(&ep, &prefix).as_ref(), &files).await;

    let proxy = Proxy::start(&ep, 50, None).await;
    let f = crate::backends::s3_fetcher(&proxy.url(), &prefix);
    let dir = tempfile::tempdir().unwrap();
    let opts = fault_opts(10);
    for round in 0..3 {
        for (i, (key, want)) in files.iter().enumerate() {
            let digest = hash::hex_digest("sha256", want).unwrap();
            let expected = Expected {
                size_bytes: (round % 2 == 0).then_some(want.len() as u64),
                hash: Some(("sha256", &digest)),
            };
            let dest = dir.path().join(format!("{round}-{i}"));
            let n = download(f.as_ref(), key, &dest, &expected, &opts)
                .await
                .unwrap_or_else(|e| panic!("{key}: {e:?}"));
            assert_eq!(n, want.len() as u64);
            assert!(
                std::fs::read(&dest).unwrap() == *want,
                "{key}: bytes differ"
            );
        }
    }
    let (req, faults) = (
        proxy.plan.requests.load(Ordering::SeqCst),
        proxy.plan.faults.load(Ordering::SeqCst),
    );
    eprintln!("fault proxy: {faults} faults in {req} requests");
    assert!(
        faults >= 5 && req > 100,
        "{faults} faults in {req} requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_fault_fails_naming_the_object_after_all_attempts() {
    let Some(ep) = endpoint("MDS_TEST_S3_ENDPOINT") else {
        return;
    };
    let prefix = unique("persistent");
    seed(
        crate::backends::s3_fetcher(&ep, &prefix).as_ref(),
        &dataset(),
    )
    .await;
    for fault in [Fault::Status503, Fault::Reset, Fault::Truncate] {
        let proxy = Proxy::start(&ep, 0, Some(fault)).await;
        let f = crate::backends::s3_fetcher(&proxy.url(), &prefix);
        let dir = tempfile::tempdir().unwrap();
        let expected = Expected {
            size_bytes: Some(70_000),
            hash: None,
        };
        let err = download(
            f.as_ref(),
            "shard.00001.mds",
            &dir.path().join("x"),
            &expected,
            &fault_opts(2),
        )
        .await
        .unwrap_err();
        let want_url = format!("s3://{}/{prefix}/shard.00001.mds", bucket());
        match &err {
            Error::RetriesExhausted { url, attempts, .. } => {
                assert_eq!(url, &want_url, "{fault:?}");
                assert_eq!(*attempts, 3, "{fault:?}");
            }
            other => panic!("{fault:?}: unexpected {other:?}"),
        }
        assert!(err.to_string().contains(&want_url), "{err}");
        assert_eq!(proxy.plan.requests.load(Ordering::SeqCst), 3, "{fault:?}");
    }
}
