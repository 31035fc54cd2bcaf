//! A benchmark, not a test: N simulated runners (async tasks in this process) speak the
//! fleet protocol to a real `volley coordinator` process, each pushing a realistic
//! snapshot every second (3 request names × every http_req_* trend with 100 samples,
//! counters, rates, checks, gauges). Reports the push round trip — a push is merged into
//! the coordinator's view before it is acknowledged, so this is the end-to-end delay of
//! the merged view — and leaves the coordinator's CPU to bench/fleet_sim.sh.
//!
//! `fleet_sim URL RUNNERS SECONDS PLAN_HASH` with `VOLLEY_TOKEN` set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a bench tool (bench/fleet_sim.sh): a panic ends the measurement with its message"
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use volley_engine::fleet::http::call;
use volley_engine::fleet::protocol::{Control, Join, Ready, PROTOCOL};
use volley_engine::metrics::{ids, Registry, Shard, Snapshot, Tags};
use volley_plan::segment::Segment;

fn snapshot(seed: u64) -> Snapshot {
    let reg = Registry::new(&[]);
    let mut shard = Shard::new(reg);
    let trends = [
        ids::HTTP_REQ_DURATION,
        ids::HTTP_REQ_BLOCKED,
        ids::HTTP_REQ_CONNECTING,
        ids::HTTP_REQ_SENDING,
        ids::HTTP_REQ_WAITING,
        ids::HTTP_REQ_RECEIVING,
        ids::ITERATION_DURATION,
    ];
    for name in ["/api/products", "/api/cart", "checkout"] {
        let tags = Tags {
            scenario: Some(Arc::from("shoppers")),
            name: Some(Arc::from(name)),
            method: Some(Arc::from("GET")),
            status: Some(200),
            expected_response: Some(true),
            ..Tags::default()
        };
        for i in 0..100u64 {
            let ms = 1.0 + ((seed * 31 + i * 17) % 400) as f64 / 3.0;
            for t in trends {
                shard.trend(t, &tags, ms);
            }
            shard.count(ids::HTTP_REQS, &tags, 1.0);
            shard.rate(ids::HTTP_REQ_FAILED, &tags, i % 50 == 0);
            shard.count(ids::DATA_SENT, &tags, 120.0);
            shard.count(ids::DATA_RECEIVED, &tags, 2400.0);
        }
        let check = Tags {
            check: Some(Arc::from("ok")),
            ..tags.clone()
        };
        for i in 0..100 {
            shard.rate(ids::CHECKS, &check, i % 40 != 0);
        }
    }
    shard.gauge(ids::VUS, &Tags::default(), 50.0);
    shard.gauge(ids::VUS_MAX, &Tags::default(), 50.0);
    shard.take()
}

#[derive(Default)]
struct Stats {
    rtt_ms: Vec<f64>,
    failures: u64,
    bytes: usize,
}

async fn runner(
    k: u32,
    n: u32,
    base: String,
    token: String,
    hash: String,
    secs: u64,
    stats: Arc<Mutex<Stats>>,
) {
    let t = Some(token.as_str());
    let long = Duration::from_secs(30);
    let instance = format!("sim-{k}");
    let join = Join {
        protocol: PROTOCOL,
        segment: Segment::new(k, n).unwrap(),
        plan_hash: hash,
        instance: instance.clone(),
    };
    let body = serde_json::to_vec(&join).unwrap();
    let r = call(&base, hyper::Method::POST, "/v1/join", t, Some(body), long).await;
    assert_eq!(
        r.as_ref().map(|r| r.status).ok(),
        Some(200),
        "join {k}: {r:?}"
    );
    let ready = serde_json::to_vec(&Ready {
        protocol: PROTOCOL,
        index: k,
        instance: instance.clone(),
    })
    .unwrap();
    call(
        &base,
        hyper::Method::POST,
        "/v1/ready",
        t,
        Some(ready),
        long,
    )
    .await
    .unwrap();
    // Wait for the start.
    let mut version = 0;
    let start = loop {
        let path = format!("/v1/control?index={k}&instance=sim-{k}&after={version}");
        let r = call(&base, hyper::Method::GET, &path, t, None, long)
            .await
            .unwrap();
        let c: Control = serde_json::from_slice(&r.body).unwrap();
        version = c.version;
        if let Some(s) = c.start {
            break volley_engine::fleet::instant_of_unix_ms(s.at_unix_ms);
        }
    };
    // Control polls go on as a real runner's do.
    let (b2, t2) = (base.clone(), token.clone());
    let poller = tokio::spawn(async move {
        loop {
            let path = format!("/v1/control?index={k}&instance=sim-{k}&after={version}");
            if let Ok(r) = call(&b2, hyper::Method::GET, &path, Some(&t2), None, long).await {
                if let Ok(c) = serde_json::from_slice::<Control>(&r.body) {
                    version = c.version;
                }
            }
        }
    });
    // The snapshot is serialised once: the simulator must not be what limits the rate.
    let snap_json = serde_json::to_string(&snapshot(u64::from(k))).unwrap();
    for seq in 1..=secs {
        tokio::time::sleep_until((start + Duration::from_secs(seq)).into()).await;
        let (finished, done) = if seq == secs {
            ("[0]", true)
        } else {
            ("[]", false)
        };
        let body = format!(
            "{{\"protocol\":{PROTOCOL},\"index\":{k},\"instance\":\"{instance}\",\"snapshots\":[{{\"seq\":{seq},\"snapshot\":{snap_json}}}],\"first_request_unix_us\":1,\"finished\":{finished},\"done\":{done}}}"
        )
        .into_bytes();
        let size = body.len();
        let sent = Instant::now();
        let r = call(&base, hyper::Method::POST, "/v1/push", t, Some(body), long).await;
        let rtt = sent.elapsed().as_secs_f64() * 1000.0;
        let mut s = stats.lock().unwrap();
        match r {
            Ok(r) if r.status == 200 => s.rtt_ms.push(rtt),
            other => {
                if s.failures == 0 {
                    eprintln!("first failed push: {other:?}");
                }
                s.failures += 1
            }
        }
        s.bytes = size;
    }
    poller.abort();
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize - 1;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, n, secs, hash] = &args[..] else {
        eprintln!("usage: fleet_sim URL RUNNERS SECONDS PLAN_HASH (VOLLEY_TOKEN set)");
        std::process::exit(2);
    };
    let n: u32 = n.parse().unwrap();
    let secs: u64 = secs.parse().unwrap();
    let token = std::env::var("VOLLEY_TOKEN").expect("VOLLEY_TOKEN");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let stats = Arc::new(Mutex::new(Stats::default()));
    rt.block_on(async {
        let tasks: Vec<_> = (0..n)
            .map(|k| {
                tokio::spawn(runner(
                    k,
                    n,
                    base.clone(),
                    token.clone(),
                    hash.clone(),
                    secs,
                    Arc::clone(&stats),
                ))
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let mut s = stats.lock().unwrap();
    s.rtt_ms.sort_by(f64::total_cmp);
    println!(
        "{{\"runners\": {n}, \"seconds\": {secs}, \"pushes\": {}, \"failed\": {}, \"push_bytes\": {}, \"merged_view_delay_ms\": {{\"p50\": {:.2}, \"p90\": {:.2}, \"p99\": {:.2}, \"max\": {:.2}}}}}",
        s.rtt_ms.len(),
        s.failures,
        s.bytes,
        pct(&s.rtt_ms, 50.0),
        pct(&s.rtt_ms, 90.0),
        pct(&s.rtt_ms, 99.0),
        s.rtt_ms.last().copied().unwrap_or(0.0),
    );
}
