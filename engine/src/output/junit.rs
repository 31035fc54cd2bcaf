//! `--out junit=FILE`: the verdict as JUnit XML, the format CI systems show as test
//! results (Jenkins, GitLab, GitHub Actions reporters). Written once, at the end, from the
//! summary and the plan, so a fleet's coordinator and `volley deploy` (from the fetched
//! summary) write the same document as `volley run`. The shape (docs/outputs.md):
//!
//! ```xml
//! <testsuites>
//!   <testsuite name="thresholds" package="checkout" id="0" tests="2" failures="1" …>
//!     <properties><property name="testid" value="checkout-20250501T100000Z"/>…</properties>
//!     <testcase name="http_req_duration: p(95) &lt; 300ms" classname="checkout.thresholds" time="0">
//!       <failure type="threshold" message="p(95)=412.3ms, threshold &lt; 300ms">…</failure>
//!     </testcase>
//!   </testsuite>
//!   <testsuite name="checks" …>
//!     <testcase name="status is 200" classname="checkout.checks.browse" time="0">
//!       <failure type="check" message="check 'status is 200': 981 passes, 19 fails (1.9%)">…
//!   <testsuite name="run" …>    (one case: fails when the run itself did not complete)
//! ```
//!
//! One test case per threshold condition and per check (per group it appears in). The
//! layout is the Ant one: valid against the Jenkins xUnit plugin's `junit-10.xsd` (the
//! end-to-end test validates it) and the stricter Ant schema (every suite has
//! `properties`, `system-out` and `system-err`, a timestamp without a zone, a hostname,
//! `package` and `id`; `testsuites` has no attributes). Text is escaped by the XML writer;
//! characters XML 1.0 cannot carry at all (control characters) become U+FFFD.
//!
//! This module must not evaluate thresholds; it reads the summary's verdicts and values.

use super::{Interval, Output, OutputError};
use crate::metrics::{Aggregate, Contains};
use crate::summary::{
    fmt_bytes, fmt_duration, fmt_num, percentile_key, GroupSummary, MetricSummary, Summary, Verdict,
};
use crate::thresholds::submetric_key;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesDecl, BytesText};
use quick_xml::name::QName;
use quick_xml::Writer;
use std::borrow::Cow;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use volley_plan::plan::{Aggregation, CmpOp, Condition, MetricKind, Plan};

/// What a JUnit document says about the run besides the summary.
#[derive(Clone, Debug)]
pub struct Meta {
    /// The run id (`testid`), a property of every suite.
    pub testid: String,
    /// When the run started (the suites' timestamp, UTC).
    pub started: SystemTime,
    /// The machine that ran (or coordinated) it.
    pub hostname: String,
}

impl Meta {
    /// The run started `summary`'s duration before now, on this machine.
    pub fn ended_now(testid: &str, summary: &Summary) -> Meta {
        let ms = summary.state.test_run_duration_ms;
        let took = if ms.is_finite() && ms > 0.0 {
            Duration::from_secs_f64(ms / 1000.0)
        } else {
            Duration::ZERO
        };
        let now = SystemTime::now();
        Meta {
            testid: testid.to_string(),
            started: now.checked_sub(took).unwrap_or(now),
            hostname: hostname(),
        }
    }
}

/// This machine's name (`localhost` when it cannot be read).
pub fn hostname() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default();
    let name = name.trim();
    if name.is_empty() {
        "localhost".into()
    } else {
        name.to_string()
    }
}

/// One test case.
struct Case {
    name: String,
    classname: String,
    /// `(type, message, text)` of a failure.
    failure: Option<(&'static str, String, String)>,
}

/// One suite.
struct Suite {
    name: &'static str,
    cases: Vec<Case>,
}

/// The counts of a document: (test cases, failures).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    pub tests: usize,
    pub failures: usize,
}

/// The JUnit XML of a run, and its counts.
pub fn render(summary: &Summary, plan: &Plan, meta: &Meta) -> (String, Counts) {
    let test = summary.volley.test.clone();
    let suites = [
        Suite {
            name: "thresholds",
            cases: threshold_cases(summary, plan, &test),
        },
        Suite {
            name: "checks",
            cases: check_cases(summary, &test),
        },
        Suite {
            name: "run",
            cases: vec![run_case(summary, &test)],
        },
    ];
    let counts = Counts {
        tests: suites.iter().map(|s| s.cases.len()).sum(),
        failures: suites
            .iter()
            .flat_map(|s| &s.cases)
            .filter(|c| c.failure.is_some())
            .count(),
    };
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail.
    let _ = write_doc(&mut w, &suites, summary, meta);
    let mut text = String::from_utf8(w.into_inner()).unwrap_or_default();
    text.push('\n');
    (text, counts)
}

fn write_doc(
    w: &mut Writer<Vec<u8>>,
    suites: &[Suite],
    summary: &Summary,
    meta: &Meta,
) -> std::io::Result<()> {
    w.write_event(quick_xml::events::Event::Decl(BytesDecl::new(
        "1.0",
        Some("UTF-8"),
        None,
    )))?;
    let secs = format!(
        "{:.3}",
        (summary.state.test_run_duration_ms / 1000.0).max(0.0)
    );
    let timestamp = timestamp(meta.started);
    let test = xml_text(&summary.volley.test);
    let exit = summary.volley.exit_code.code().to_string();
    let props: Vec<(&str, String)> = vec![
        ("test", test.clone()),
        ("testid", xml_text(&meta.testid)),
        ("verdict", verdict_key(summary.volley.verdict).to_string()),
        ("exit_code", exit),
    ];
    w.create_element("testsuites").write_inner_content(|w| {
        for (id, s) in suites.iter().enumerate() {
            let failures = s.cases.iter().filter(|c| c.failure.is_some()).count();
            w.create_element("testsuite")
                .with_attribute(("name", s.name))
                .with_attribute(attr("package", &test))
                .with_attribute(("id", id.to_string().as_str()))
                .with_attribute(("timestamp", timestamp.as_str()))
                .with_attribute(attr("hostname", &meta.hostname))
                .with_attribute(("tests", s.cases.len().to_string().as_str()))
                .with_attribute(("failures", failures.to_string().as_str()))
                .with_attribute(("errors", "0"))
                .with_attribute(("skipped", "0"))
                .with_attribute(("time", secs.as_str()))
                .write_inner_content(|w| {
                    w.create_element("properties").write_inner_content(|w| {
                        for (k, v) in &props {
                            w.create_element("property")
                                .with_attribute(("name", *k))
                                .with_attribute(attr("value", v))
                                .write_empty()?;
                        }
                        Ok(())
                    })?;
                    for c in &s.cases {
                        let el = w
                            .create_element("testcase")
                            .with_attribute(attr("name", &c.name))
                            .with_attribute(attr("classname", &c.classname))
                            .with_attribute(("time", "0"));
                        match &c.failure {
                            None => {
                                el.write_empty()?;
                            }
                            Some((kind, message, text)) => {
                                el.write_inner_content(|w| {
                                    w.create_element("failure")
                                        .with_attribute(attr("message", message))
                                        .with_attribute(("type", *kind))
                                        .write_text_content(BytesText::new(&xml_text(text)))?;
                                    Ok(())
                                })?;
                            }
                        }
                    }
                    w.create_element("system-out")
                        .write_text_content(BytesText::new(""))?;
                    w.create_element("system-err")
                        .write_text_content(BytesText::new(""))?;
                    Ok(())
                })?;
        }
        Ok(())
    })?;
    Ok(())
}

/// `2025-05-01T10:00:00` (UTC, no zone: the Ant schema's pattern).
fn timestamp(at: SystemTime) -> String {
    let s = humantime::format_rfc3339_seconds(at).to_string();
    s.trim_end_matches('Z').to_string()
}

/// An attribute whose value keeps its line breaks and tabs: escaped as the writer escapes
/// (`<`, `>`, `&`, quotes) and with `\n`, `\r`, `\t` as character references, which a
/// parser would otherwise normalise to spaces in an attribute.
fn attr<'a>(key: &'a str, value: &str) -> Attribute<'a> {
    let escaped = quick_xml::escape::escape(xml_text(value))
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;");
    Attribute {
        key: QName(key.as_bytes()),
        value: Cow::Owned(escaped.into_bytes()),
    }
}

/// The text with every character XML 1.0 cannot carry replaced by U+FFFD.
fn xml_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

fn verdict_key(v: Verdict) -> &'static str {
    match v {
        Verdict::Passed => "passed",
        Verdict::ThresholdsFailed => "thresholds_failed",
        Verdict::NoResponses => "no_responses",
        Verdict::Aborted => "aborted",
        Verdict::AbortedByThreshold => "aborted_by_threshold",
        Verdict::RunnersLost => "runners_lost",
        Verdict::NotStarted => "not_started",
    }
}

/// One case per condition of every threshold, in the plan's order.
fn threshold_cases(summary: &Summary, plan: &Plan, test: &str) -> Vec<Case> {
    let classname = format!("{test}.thresholds");
    let mut out = Vec::new();
    for t in &plan.thresholds {
        let key = submetric_key(&t.metric, &t.tags);
        let metric = summary.metrics.get(&key);
        for c in &t.conditions {
            let name = format!("{key}: {}", c.source);
            let mark = metric.and_then(|m| m.thresholds.get(&c.source));
            let failure = match mark {
                Some(m) if m.ok => None,
                Some(m) if m.no_data => Some((
                    "threshold",
                    format!("no data: {key} got no sample, threshold {}", rhs(c)),
                    format!(
                        "threshold {name}\nfailed: the (sub)metric got no sample during the run"
                    ),
                )),
                Some(_) => {
                    let (lhs, observed) = observed(metric, c);
                    let message = format!("{lhs}={observed}, threshold {}", rhs(c));
                    let text = format!("threshold {name}\nobserved {lhs} = {observed}\nfailed");
                    Some(("threshold", message, text))
                }
                // Not judged: the run did not get to its verdicts (it never started).
                None => Some((
                    "threshold",
                    format!(
                        "not evaluated: the run ended as `{}`",
                        verdict_key(summary.volley.verdict)
                    ),
                    format!("threshold {name}\nnot evaluated"),
                )),
            };
            out.push(Case {
                name,
                classname: classname.clone(),
                failure,
            });
        }
    }
    out
}

/// The condition's left side (`p(95)`) and its observed value in the metric's units.
fn observed(metric: Option<&MetricSummary>, c: &Condition) -> (String, String) {
    let key = match c.aggregation {
        Aggregation::Avg => "avg".to_string(),
        Aggregation::Min => "min".to_string(),
        Aggregation::Max => "max".to_string(),
        Aggregation::Med => "med".to_string(),
        Aggregation::P => percentile_key(c.percentile.unwrap_or(0.0)),
        Aggregation::Count => "count".to_string(),
        Aggregation::Rate => "rate".to_string(),
        Aggregation::Value => "value".to_string(),
    };
    let value = metric.and_then(|m| m.values.get(&key).copied());
    let shown = match (value, metric) {
        (Some(v), Some(m)) => show(v, m, c.aggregation),
        _ => "not measured".to_string(),
    };
    (key, shown)
}

/// A value in the metric's units: `412.3ms`, `1.9%`, `12 kB`, `33.2/s`.
fn show(v: f64, m: &MetricSummary, agg: Aggregation) -> String {
    match (m.kind, agg) {
        (MetricKind::Rate, _) => format!("{}%", fmt_num(v * 100.0)),
        (MetricKind::Counter, Aggregation::Rate) => format!("{}/s", fmt_num(v)),
        (MetricKind::Trend, Aggregation::Count) | (MetricKind::Counter, _) => {
            if m.contains == Contains::Data {
                fmt_bytes(v)
            } else {
                fmt_num(v)
            }
        }
        _ => match m.contains {
            Contains::Time => fmt_duration(v),
            Contains::Data => fmt_bytes(v),
            Contains::Default => fmt_num(v),
        },
    }
}

/// The condition's right side as written: `< 300ms` of `p(95) < 300ms`.
fn rhs(c: &Condition) -> String {
    let op = match c.op {
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
    };
    // The first comparison operator in the source is the condition's (the left side is
    // an aggregation name, which has none).
    match c.source.find(['<', '>', '=', '!']) {
        Some(i) => {
            let rest = c.source[i..]
                .trim_start_matches(['<', '>', '=', '!'])
                .trim();
            format!("{op} {rest}")
        }
        None => format!("{op} {}", c.value),
    }
}

/// One case per check and group it appears in.
fn check_cases(summary: &Summary, test: &str) -> Vec<Case> {
    fn walk(g: &GroupSummary, base: &str, out: &mut Vec<Case>) {
        let classname = if g.path.is_empty() {
            base.to_string()
        } else {
            let groups: Vec<&str> = g.path.split("::").filter(|p| !p.is_empty()).collect();
            format!("{base}.{}", groups.join("."))
        };
        for c in &g.checks {
            let total = c.passes + c.fails;
            let failure = (c.fails > 0).then(|| {
                let pct = if total > 0 {
                    c.fails as f64 * 100.0 / total as f64
                } else {
                    0.0
                };
                let passes = if c.passes == 1 { "pass" } else { "passes" };
                let fails = if c.fails == 1 { "fail" } else { "fails" };
                (
                    "check",
                    format!(
                        "check '{}': {} {passes}, {} {fails} ({}%)",
                        c.name,
                        c.passes,
                        c.fails,
                        crate::summary::fmt_num((pct * 10.0).round() / 10.0)
                    ),
                    format!(
                        "check {}\n{} of {total} failed",
                        if c.path.is_empty() { &c.name } else { &c.path },
                        c.fails
                    ),
                )
            });
            out.push(Case {
                name: c.name.clone(),
                classname: classname.clone(),
                failure,
            });
        }
        for sub in &g.groups {
            walk(sub, base, out);
        }
    }
    let mut out = Vec::new();
    walk(&summary.root_group, &format!("{test}.checks"), &mut out);
    out
}

/// The run itself: fails when it did not complete (not started, aborted, runners lost,
/// no response); a failed threshold is its own case, not this one.
fn run_case(summary: &Summary, test: &str) -> Case {
    let v = summary.volley.verdict;
    let failure = match v {
        Verdict::Passed | Verdict::ThresholdsFailed | Verdict::AbortedByThreshold => None,
        _ => {
            let reason = summary
                .volley
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            let message = format!(
                "the run ended as `{}` (exit code {}){reason}",
                verdict_key(v),
                summary.volley.exit_code.code()
            );
            Some(("run", message.clone(), message))
        }
    };
    Case {
        name: "verdict".into(),
        classname: format!("{test}.run"),
        failure,
    }
}

/// Writes the document to `path`.
pub fn write(summary: &Summary, plan: &Plan, meta: &Meta, path: &Path) -> std::io::Result<Counts> {
    let (text, counts) = render(summary, plan, meta);
    std::fs::write(path, text)?;
    Ok(counts)
}

/// The note for stderr after the file was written.
pub fn note(counts: Counts, path: &Path) -> String {
    format!(
        "junit: {} test cases ({} failed) in {}",
        counts.tests,
        counts.failures,
        path.display()
    )
}

/// `--out junit=FILE` of a run: the file is created up front (an unwritable path fails
/// before any load) and written at the end.
pub(crate) struct JunitOutput {
    path: PathBuf,
    file: File,
    plan: Arc<Plan>,
    testid: String,
}

impl JunitOutput {
    pub fn create(path: &Path, plan: Arc<Plan>, testid: &str) -> Result<JunitOutput, OutputError> {
        let file = File::create(path).map_err(|source| OutputError::Create {
            kind: "junit",
            path: path.to_path_buf(),
            source,
        })?;
        Ok(JunitOutput {
            path: path.to_path_buf(),
            file,
            plan,
            testid: testid.to_string(),
        })
    }
}

impl Output for JunitOutput {
    fn flush(&mut self, _iv: &Interval<'_>) -> Result<(), OutputError> {
        Ok(())
    }

    fn finish(mut self: Box<Self>, summary: &Summary, _total: &Aggregate) -> String {
        let meta = Meta::ended_now(&self.testid, summary);
        let (text, counts) = render(summary, &self.plan, &meta);
        match self
            .file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.flush())
        {
            Ok(()) => note(counts, &self.path),
            Err(source) => {
                let e = OutputError::Write {
                    kind: "junit",
                    path: self.path.clone(),
                    source,
                };
                format!("warning: {e}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{CheckSummary, State, ThresholdOk, VolleyInfo};
    use std::collections::BTreeMap;
    use volley_plan::ExitCode;

    fn summary(ok: bool, check: &str) -> Summary {
        let trend = MetricSummary {
            kind: MetricKind::Trend,
            contains: Contains::Time,
            values: BTreeMap::from([("p(95)".to_string(), 412.3)]),
            thresholds: BTreeMap::from([(
                "p(95) < 400ms".to_string(),
                ThresholdOk { ok, no_data: false },
            )]),
        };
        let verdict = if ok {
            Verdict::Passed
        } else {
            Verdict::ThresholdsFailed
        };
        Summary {
            metrics: BTreeMap::from([("http_req_duration".to_string(), trend)]),
            root_group: GroupSummary {
                checks: vec![CheckSummary {
                    name: check.to_string(),
                    path: format!("::{check}"),
                    passes: 981,
                    fails: 19,
                }],
                ..GroupSummary::default()
            },
            state: State {
                test_run_duration_ms: 1500.0,
                is_std_out_tty: false,
            },
            volley: VolleyInfo {
                test: "checkout".into(),
                exit_code: if ok {
                    ExitCode::Ok
                } else {
                    ExitCode::ThresholdsFailed
                },
                verdict,
                reason: None,
                runners: Vec::new(),
                start_skew_ms: None,
                runners_lost: 0,
                errors: Vec::new(),
                notes: Vec::new(),
            },
        }
    }

    fn meta() -> Meta {
        Meta {
            testid: "checkout-1".into(),
            started: std::time::UNIX_EPOCH + Duration::from_secs(1_746_093_600),
            hostname: "ci-1".into(),
        }
    }

    #[test]
    fn failures_name_the_observed_values() {
        let plan = super::super::tests::plan();
        let (xml, counts) = render(&summary(false, "status is 200"), &plan, &meta());
        assert_eq!(
            counts,
            Counts {
                tests: 3,
                failures: 2
            }
        );
        assert!(
            xml.contains(r#"message="p(95)=412.3ms, threshold &lt; 400ms""#),
            "{xml}"
        );
        assert!(
            xml.contains(
                r#"message="check &apos;status is 200&apos;: 981 passes, 19 fails (1.9%)""#
            ),
            "{xml}"
        );
        assert!(xml.contains(r#"timestamp="2025-05-01T10:00:00""#), "{xml}");
        assert!(xml.contains(r#"<property name="testid" value="checkout-1"/>"#));
        let (xml, counts) = render(&summary(true, "ok"), &plan, &meta());
        assert_eq!(counts.failures, 1, "only the check: {xml}");
    }

    #[test]
    fn any_check_name_is_escaped_and_xml_safe() {
        let plan = super::super::tests::plan();
        let odd = "a<b & \"c\" 'd' é ✓ \u{1}\u{7f}";
        let (xml, _) = render(&summary(true, odd), &plan, &meta());
        assert!(
            xml.contains("name=\"a&lt;b &amp; &quot;c&quot; &apos;d&apos; é ✓ \u{fffd}\u{7f}\""),
            "{xml}"
        );
        assert!(!xml.contains('\u{1}'));
        let (xml, _) = render(&summary(true, "two\nlines\tand a tab"), &plan, &meta());
        assert!(
            xml.contains(r#"name="two&#10;lines&#9;and a tab""#),
            "{xml}"
        );
    }

    #[test]
    fn the_right_side_is_read_from_the_source() {
        let c = |src: &str, op| Condition {
            aggregation: Aggregation::Rate,
            percentile: None,
            op,
            value: 0.0,
            source: src.into(),
        };
        assert_eq!(rhs(&c("rate<1%", CmpOp::Lt)), "< 1%");
        assert_eq!(rhs(&c("count >= 10", CmpOp::Ge)), ">= 10");
        assert_eq!(rhs(&c("value != 3", CmpOp::Ne)), "!= 3");
    }
}
