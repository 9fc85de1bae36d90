//! Webhook ingest load generator: N concurrent senders post signed, distinct push
//! deliveries (the recorded GitHub push payload, re-targeted at a new commit each time) to
//! a running Covalynce server and report deliveries/s and latency percentiles.
//!
//! Every 2xx it counts was answered after the delivery was committed durably: that is the
//! server's contract, not something this tool can see — see bench/README.md.

use anyhow::{Context, bail};
use clap::Parser;
use hmac::{KeyInit, Mac};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Base URL of the server, e.g. http://127.0.0.1:8000
    #[arg(long)]
    url: String,
    /// The GitHub source's id.
    #[arg(long)]
    source: String,
    /// The source's webhook secret.
    #[arg(long)]
    secret: String,
    /// The recorded push payload to replay.
    #[arg(
        long,
        default_value = "crates/server/tests/api/fixtures/github-webhooks/push/with-new-branch.payload.json"
    )]
    payload: String,
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Measured deliveries.
    #[arg(long, default_value_t = 20_000)]
    deliveries: usize,
    /// Deliveries sent first and not measured (connection setup, caches).
    #[arg(long, default_value_t = 1_000)]
    warmup: usize,
    /// A label for the report line.
    #[arg(long, default_value = "")]
    label: String,
}

struct Delivery {
    guid: String,
    signature: String,
    body: Vec<u8>,
}

fn prepare(template: &serde_json::Value, secret: &[u8], run: &str, n: usize) -> Delivery {
    let sha = format!(
        "{:08x}{:032x}",
        u32::from_str_radix(&run[..8], 16).unwrap_or(0),
        n
    );
    let mut v = template.clone();
    v["after"] = sha.clone().into();
    v["commits"][0]["id"] = sha.clone().into();
    v["head_commit"]["id"] = sha.into();
    let body = serde_json::to_vec(&v).expect("re-serialising JSON");
    let mut mac =
        <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret).expect("any key size");
    mac.update(&body);
    Delivery {
        guid: format!("bench-{run}-{n}"),
        signature: format!("sha256={}", hex::encode(mac.finalize().into_bytes())),
        body,
    }
}

/// One sender: a keep-alive HTTP/1.1 connection writing pre-built requests and reading
/// each response before the next, like wrk. A general-purpose client costs as much CPU per
/// request as the server does, and here both share two cores.
async fn sender(
    addr: std::net::SocketAddr,
    path: String,
    host: String,
    deliveries: Arc<Vec<Delivery>>,
    next: Arc<AtomicUsize>,
) -> anyhow::Result<Vec<u64>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut latencies = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(d) = deliveries.get(i) else {
            return Ok(latencies);
        };
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\nuser-agent: GitHub-Hookshot/bench\r\nx-github-event: push\r\nx-github-delivery: {}\r\nx-hub-signature-256: {}\r\ncontent-length: {}\r\n\r\n",
            d.guid,
            d.signature,
            d.body.len()
        )
        .into_bytes();
        req.extend_from_slice(&d.body);
        let t = Instant::now();
        stream.write_all(&req).await?;
        // Read the status line, headers, and a Content-Length body.
        let mut filled = 0;
        let (status, total) = loop {
            let n = stream.read(&mut buf[filled..]).await?;
            if n == 0 {
                bail!("the server closed the connection");
            }
            filled += n;
            if let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&buf[..end])?;
                let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                break (status, end + 4 + len);
            }
        };
        while filled < total {
            let n = stream.read(&mut buf[filled..]).await?;
            if n == 0 {
                bail!("the server closed the connection mid-body");
            }
            filled += n;
        }
        latencies.push(t.elapsed().as_micros() as u64);
        if status != 202 {
            bail!(
                "delivery {} answered {status}: {}",
                d.guid,
                String::from_utf8_lossy(&buf[..filled])
            );
        }
    }
}

async fn blast(
    base: &str,
    source: &str,
    deliveries: Arc<Vec<Delivery>>,
    concurrency: usize,
) -> anyhow::Result<(Duration, Vec<u64>)> {
    let host = base
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let addr = tokio::net::lookup_host(&host)
        .await?
        .next()
        .context("resolving the server")?;
    let path = format!("/hooks/github/{source}");
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            tokio::spawn(sender(
                addr,
                path.clone(),
                host.clone(),
                deliveries.clone(),
                next.clone(),
            ))
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((start.elapsed(), all))
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let template: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&args.payload).with_context(|| format!("reading {}", args.payload))?,
    )?;
    let run = format!(
        "{:016x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos() as u64
    );
    let secret = args.secret.as_bytes();
    let warm: Vec<Delivery> = (0..args.warmup)
        .map(|n| prepare(&template, secret, &run, n))
        .collect();
    let measured: Vec<Delivery> = (args.warmup..args.warmup + args.deliveries)
        .map(|n| prepare(&template, secret, &run, n))
        .collect();
    let body_bytes = measured.first().map_or(0, |d| d.body.len());
    blast(&args.url, &args.source, Arc::new(warm), args.concurrency).await?;
    let (elapsed, mut lat) = blast(
        &args.url,
        &args.source,
        Arc::new(measured),
        args.concurrency,
    )
    .await?;
    lat.sort_unstable();
    println!(
        "{label}deliveries={n} concurrency={c} body={body_bytes}B elapsed={secs:.2}s throughput={tput:.0}/s p50={p50:.2}ms p90={p90:.2}ms p99={p99:.2}ms max={max:.2}ms",
        label = if args.label.is_empty() {
            String::new()
        } else {
            format!("[{}] ", args.label)
        },
        n = lat.len(),
        c = args.concurrency,
        secs = elapsed.as_secs_f64(),
        tput = lat.len() as f64 / elapsed.as_secs_f64(),
        p50 = pct(&lat, 0.50),
        p90 = pct(&lat, 0.90),
        p99 = pct(&lat, 0.99),
        max = pct(&lat, 1.0),
    );
    Ok(())
}
