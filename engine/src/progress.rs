//! The live progress line: VUs, iterations, request rate, error rate and elapsed/total,
//! with a bar on a terminal. Pure formatting: the driver decides when and where to print
//! it (`\r` on a terminal, one line every few seconds otherwise). This module must not
//! print or read clocks.

use crate::metrics::Aggregate;
use std::collections::BTreeMap;
use std::time::Duration;

/// What the progress line shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    pub vus: u64,
    pub vus_max: u64,
    pub iterations: u64,
    pub http_reqs: u64,
    /// Failed requests (`http_req_failed` hits).
    pub errors: u64,
    pub elapsed: Duration,
    /// The planned duration (`Plan::planned_duration_ms`, what `volley plan` says the
    /// test runs up to; 0 when unknown: no bar, no percentage).
    pub total: Duration,
    /// The load has ended: the line reads 100 % (graceful stops may run past `total`,
    /// a test of iterations may end before it).
    pub done: bool,
    /// Scenarios running now (shown when not empty).
    pub scenarios: Vec<String>,
    /// Requests per second now (e.g. over the last interval); `None` shows the average
    /// since the start.
    pub req_rate: Option<f64>,
}

impl Progress {
    /// The figures from the aggregate (`vus`/`vus_max` gauges, `iterations`,
    /// `http_reqs`, `http_req_failed`).
    pub fn from_aggregate(agg: &Aggregate, elapsed: Duration, total: Duration) -> Progress {
        let all = BTreeMap::new();
        let view = |m: &str| agg.view(m, &all);
        let gauge = |m: &str| view(m).map_or(0, |v| v.value.max(0.0) as u64);
        let counter = |m: &str| view(m).map_or(0, |v| v.count);
        Progress {
            vus: gauge("vus"),
            vus_max: gauge("vus_max"),
            iterations: counter("iterations"),
            http_reqs: counter("http_reqs"),
            errors: view("http_req_failed").map_or(0, |v| v.hits),
            elapsed,
            total,
            scenarios: Vec::new(),
            req_rate: None,
            done: false,
        }
    }
}

/// `0m12.3s`, `1m05.0s`.
fn clock(d: Duration) -> String {
    let s = d.as_secs_f64();
    let m = (s / 60.0).floor();
    format!("{m}m{:04.1}s", s - m * 60.0)
}

/// The progress line, e.g. `running (0m12.3s/0m30.0s), 50/50 VUs, 3412 iterations,
/// 1203.4 req/s, 0.00% errors [=====>    ] 41%`; `tty` adds the bar.
pub fn line(p: &Progress, tty: bool) -> String {
    let secs = p.elapsed.as_secs_f64();
    let rate = p.req_rate.unwrap_or(if secs > 0.0 {
        p.http_reqs as f64 / secs
    } else {
        0.0
    });
    let errors = if p.http_reqs > 0 {
        100.0 * p.errors as f64 / p.http_reqs as f64
    } else {
        0.0
    };
    let mut out = format!(
        "running ({}/{}), {}/{} VUs, {} iterations, {:.1} req/s, {:.2}% errors",
        clock(p.elapsed),
        clock(p.total),
        p.vus,
        p.vus_max,
        p.iterations,
        rate,
        errors
    );
    if !p.total.is_zero() || p.done {
        let frac = if p.done {
            1.0
        } else {
            (secs / p.total.as_secs_f64()).clamp(0.0, 1.0)
        };
        if tty {
            const WIDTH: usize = 20;
            let done = ((frac * WIDTH as f64).floor() as usize).min(WIDTH);
            let head = if done < WIDTH { ">" } else { "" };
            let rest = WIDTH - done - head.len();
            out.push_str(&format!(
                " [{}{head}{}]",
                "=".repeat(done),
                " ".repeat(rest)
            ));
        } else {
            out.push(',');
        }
        out.push_str(&format!(" {:.0}%", (frac * 100.0).floor()));
    }
    if !p.scenarios.is_empty() {
        out.push_str(&format!(" · {}", p.scenarios.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{ids, Registry, Shard, Tags};

    fn sample() -> Progress {
        Progress {
            vus: 50,
            vus_max: 50,
            iterations: 3412,
            http_reqs: 14_441,
            errors: 0,
            elapsed: Duration::from_millis(12_300),
            total: Duration::from_secs(30),
            scenarios: Vec::new(),
            req_rate: Some(1203.44),
            done: false,
        }
    }

    #[test]
    fn tty_line_has_a_bar() {
        let l = line(&sample(), true);
        assert_eq!(
            l,
            "running (0m12.3s/0m30.0s), 50/50 VUs, 3412 iterations, 1203.4 req/s, 0.00% errors [========>           ] 41%"
        );
    }

    #[test]
    fn plain_line_and_edges() {
        let mut p = sample();
        p.req_rate = None;
        p.errors = 1444;
        p.scenarios = vec!["warmup".into(), "main".into()];
        let l = line(&p, false);
        assert!(l.contains("1174.1 req/s"), "{l}");
        assert!(l.contains("10.00% errors, 41% · warmup, main"), "{l}");
        assert!(!l.contains('['));
        p.elapsed = Duration::from_secs(95);
        p.total = Duration::ZERO;
        let l = line(&p, true);
        assert!(l.starts_with("running (1m35.0s/0m00.0s)"), "{l}");
        assert!(!l.contains('['), "{l}");
        p.total = Duration::from_secs(60);
        assert!(line(&p, true).contains("[====================] 100%"));
        // The last line reads 100 %, whether the load ended early or ran past the plan.
        p.total = Duration::from_secs(300);
        p.done = true;
        assert!(
            line(&p, false).ends_with(", 100% · warmup, main"),
            "{}",
            line(&p, false)
        );
        let zero = Progress::default();
        assert!(line(&zero, true).contains("0.0 req/s, 0.00% errors"));
    }

    #[test]
    fn from_aggregate_reads_the_metrics() {
        let reg = Registry::new(&[]);
        let mut s = Shard::new(std::sync::Arc::clone(&reg));
        let t = Tags::default();
        s.gauge(ids::VUS, &t, 8.0);
        s.gauge(ids::VUS_MAX, &t, 10.0);
        for i in 0..4 {
            s.count(ids::ITERATIONS, &t, 1.0);
            s.count(ids::HTTP_REQS, &t, 1.0);
            s.rate(ids::HTTP_REQ_FAILED, &t, i == 0);
        }
        let mut agg = Aggregate::new(reg);
        agg.merge(&s.take());
        let p = Progress::from_aggregate(&agg, Duration::from_secs(2), Duration::from_secs(4));
        assert_eq!(
            (p.vus, p.vus_max, p.iterations, p.http_reqs, p.errors),
            (8, 10, 4, 4, 1)
        );
        assert!(line(&p, false).contains("8/10 VUs, 4 iterations, 2.0 req/s, 25.00% errors, 50%"));
    }
}
