//! `volley plan FILE [--runners N] [--segment K] [--json]`: what each runner of a fleet
//! would do, in words or as JSON (`volley_plan::view`), without running anything.

use super::compile_or_report;
use std::path::Path;
use volley_plan::segment::Segment;
use volley_plan::view::{idle_runners, segment_view, SegmentView};
use volley_plan::ExitCode;

#[allow(
    clippy::expect_used,
    reason = "plan views and JSON values have string keys only: serialising them cannot fail"
)]
pub fn run(
    file: &Path,
    runners: Option<u32>,
    segment: Option<u32>,
    json: bool,
    params: &[String],
) -> ExitCode {
    let plan = match compile_or_report(file, params) {
        Ok(p) => p,
        Err(code) => return code,
    };
    // The file's fleet is the default, as for `compile` and `deploy`.
    let runners = runners.unwrap_or_else(|| super::fleet_runners(&plan));
    let segments: Vec<Segment> = match segment {
        Some(k) => match Segment::new(k, runners) {
            Ok(s) => vec![s],
            Err(e) => {
                errln!("error: --segment: {e}");
                return ExitCode::Usage;
            }
        },
        None if runners == 0 => {
            errln!("error: --runners must be at least 1");
            return ExitCode::Usage;
        }
        None => (0..runners)
            .filter_map(|k| Segment::new(k, runners).ok())
            .collect(),
    };
    let views: Vec<SegmentView> = segments.iter().map(|s| segment_view(&plan, *s)).collect();
    // Runners with no VU in a scenario (work follows the VUs, as in k6).
    let idle: Vec<_> = idle_runners(&plan, runners)
        .into_iter()
        .map(|mut i| {
            if let Some(k) = segment {
                i.runners.retain(|r| *r == k);
            }
            i
        })
        .filter(|i| !i.runners.is_empty())
        .collect();
    if json {
        let value = match (segment, views.as_slice()) {
            (Some(_), [one]) => serde_json::to_value(one).map(|mut v| {
                v["idle"] = serde_json::json!(idle);
                v
            }),
            _ => serde_json::to_value(serde_json::json!({
                "name": plan.name,
                "content_hash": volley_plan::content_hash(&plan),
                "runners": runners,
                "segments": views,
                "idle": idle,
            })),
        }
        .expect("a plan view always serialises");
        super::stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&value).expect("JSON value")
        ));
    } else {
        let mut text = format!(
            "plan {} ({}) on {runners} runner{}\n",
            plan.name,
            volley_plan::content_hash(&plan),
            if runners == 1 { "" } else { "s" }
        );
        for v in &views {
            text.push_str(&v.to_words());
        }
        for i in &idle {
            text.push_str(&i.to_words());
        }
        super::stdout(&text);
    }
    ExitCode::Ok
}
