//! `volley compare BASE.json NEW.json`: the change per metric and tag set between two
//! runs' summaries (`--summary-json`), judged with a test on per-interval values
//! (`volley_engine::compare`), as a table or `--json`; exit 99 on a regression, 0
//! otherwise, 2 for a file that is not a summary. Also the shared `--baseline` options
//! and the loading of a baseline file for `run`, `deploy` and `coordinator`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use volley_engine::compare::{self, Baseline, Options};
use volley_engine::summary::{Summary, Verdict};
use volley_plan::ExitCode;

/// How a comparison judges (`volley compare`, and `run`/`deploy` with `--baseline`).
#[derive(clap::Args, Debug, Clone)]
pub struct Judge {
    /// The smallest relative change that counts as a regression (e.g. `10%`).
    #[arg(long, value_name = "PERCENT", default_value = "10%", value_parser = parse_percent)]
    pub tolerance: f64,
    /// The smallest change of a time that counts (e.g. `1ms`).
    #[arg(long, value_name = "DURATION", default_value = "1ms", value_parser = parse_ms)]
    pub min_change: f64,
    /// The significance level of the test (a regression needs p below it).
    #[arg(long, default_value_t = 0.01, value_parser = parse_alpha)]
    pub alpha: f64,
    /// A trend's statistics to compare (comma-separated: avg, med, p(90), p(95), p(99)).
    #[arg(long, value_name = "STATS", default_value = "med,p(95)", value_parser = parse_stats)]
    pub stats: Stats,
}

/// The statistics of `--stats`.
#[derive(Clone, Debug)]
pub struct Stats(pub Vec<String>);

impl Judge {
    pub fn options(&self, metrics: &[String]) -> Options {
        Options {
            alpha: self.alpha,
            tolerance: self.tolerance,
            min_change_ms: self.min_change,
            stats: self.stats.0.clone(),
            metrics: metrics.to_vec(),
            ..Options::default()
        }
    }
}

fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let n: f64 = t
        .strip_suffix('%')
        .unwrap_or(t)
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage (e.g. 10%)"))?;
    if !(0.0..=1000.0).contains(&n) {
        return Err(format!("`{s}`: a tolerance is between 0% and 1000%"));
    }
    Ok(n / 100.0)
}

fn parse_ms(s: &str) -> Result<f64, String> {
    super::fleet::parse_duration(s).map(|d| d.as_secs_f64() * 1000.0)
}

fn parse_alpha(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(a) if a > 0.0 && a < 0.5 => Ok(a),
        _ => Err(format!(
            "`{s}`: alpha is a probability above 0 and below 0.5, e.g. 0.01"
        )),
    }
}

fn parse_stats(s: &str) -> Result<Stats, String> {
    let known = ["avg", "med", "p(90)", "p(95)", "p(99)"];
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if !known.contains(&part) {
            return Err(format!("`{part}` is not one of {}", known.join(", ")));
        }
        out.push(part.to_string());
    }
    if out.is_empty() {
        return Err("give at least one statistic, e.g. `med,p(95)`".into());
    }
    Ok(Stats(out))
}

/// `--baseline FILE` or `--no-baseline` of `run` and `deploy`, and how to judge.
#[derive(clap::Args, Debug, Clone)]
pub struct BaselineArgs {
    /// Compare with an earlier run's summary (`--summary-json`): fills in the file's
    /// `baseline` thresholds and exits 99 on a regression (see docs/compare.md).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Run a file with `baseline` thresholds without a baseline (to record the first
    /// one): those conditions are left out, each with a warning.
    #[arg(long, conflicts_with = "baseline")]
    pub no_baseline: bool,
    #[command(flatten)]
    pub judge: Judge,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The earlier run's summary (`--summary-json`).
    pub base: PathBuf,
    /// The run to judge.
    pub new: PathBuf,
    /// Print the comparison as JSON.
    #[arg(long)]
    pub json: bool,
    /// Only this metric (repeatable).
    #[arg(long = "metric", value_name = "NAME")]
    pub metrics: Vec<String>,
    #[command(flatten)]
    pub judge: Judge,
}

/// Reads a summary file; the error says what is wrong with it.
pub fn read_summary(path: &Path) -> Result<Summary, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let s: Summary = serde_json::from_str(&text).map_err(|e| {
        format!(
            "`{}` is not a Volley summary (write one with `volley run --summary-json FILE`): {e}",
            path.display()
        )
    })?;
    if s.volley.verdict == Verdict::NotStarted {
        return Err(format!(
            "`{}` is the summary of a run that did not start: there is nothing to compare",
            path.display()
        ));
    }
    Ok(s)
}

pub fn run(a: Args) -> ExitCode {
    let (base, new) = match (read_summary(&a.base), read_summary(&a.new)) {
        (Ok(b), Ok(n)) => (b, n),
        (Err(e), _) | (_, Err(e)) => {
            errln!("error: {e}");
            return ExitCode::Usage;
        }
    };
    let c = compare::compare(&base, &new, &a.judge.options(&a.metrics));
    if a.json {
        let text = serde_json::to_string_pretty(&c).unwrap_or_else(|_| "{}".into());
        outln!("{text}");
    } else {
        out!("{}", compare::render_table(&c));
    }
    if c.regressions > 0 {
        ExitCode::ThresholdsFailed
    } else {
        ExitCode::Ok
    }
}

/// `--baseline FILE` of `run` and `deploy`: reads it and fills in the plan's `baseline`
/// thresholds (printing what each became). A plan with such thresholds and neither
/// `--baseline` nor `--no-baseline` is refused before the run, as is a baseline without a
/// threshold's metric and tag set: a gate that cannot be judged must not pass silently.
pub fn prepare(
    plan: &mut volley_plan::Plan,
    args: &BaselineArgs,
) -> Result<Option<Arc<Baseline>>, ExitCode> {
    let Some(file) = args.baseline.as_deref() else {
        let uses: Vec<String> = plan
            .thresholds
            .iter()
            .flat_map(|t| {
                t.conditions
                    .iter()
                    .filter(|c| c.baseline.is_some())
                    .map(move |c| format!("`{}: {}`", t.metric, c.source))
            })
            .collect();
        if uses.is_empty() {
            return Ok(None);
        }
        if args.no_baseline {
            for u in &uses {
                errln!("warning: --no-baseline: {u} is not judged in this run");
            }
            for t in &mut plan.thresholds {
                t.conditions.retain(|c| c.baseline.is_none());
            }
            plan.thresholds.retain(|t| !t.conditions.is_empty());
            return Ok(None);
        }
        errln!(
            "error: thresholds compare with an earlier run ({}): give its summary with --baseline FILE (written by `volley run --summary-json FILE`), or record a first one with --no-baseline",
            uses.join(", ")
        );
        return Err(ExitCode::Usage);
    };
    let summary = read_summary(file).map_err(|e| {
        errln!("error: --baseline: {e}");
        ExitCode::Usage
    })?;
    match compare::resolve_baseline(plan, &summary) {
        Ok(lines) => {
            for l in lines {
                errln!("baseline: {l}");
            }
        }
        Err(errors) => {
            for e in errors {
                errln!("error: --baseline `{}`: {e}", file.display());
            }
            return Err(ExitCode::Usage);
        }
    }
    Ok(Some(Arc::new(Baseline {
        summary,
        options: args.judge.options(&[]),
    })))
}

/// Prints a run's comparison with its baseline (after the summary).
pub fn print(summary: &Summary) {
    if let Some(c) = &summary.volley.comparison {
        out!(
            "\ncompared with the baseline:\n{}",
            compare::render_table(c)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_as_people_write_them() {
        assert_eq!(parse_percent("10%"), Ok(0.1));
        assert_eq!(parse_percent("2.5"), Ok(0.025));
        assert!(parse_percent("ten").is_err());
        assert_eq!(parse_ms("5ms"), Ok(5.0));
        assert!(parse_alpha("0").is_err() && parse_alpha("0.05").is_ok());
        assert_eq!(parse_stats("med, p(99)").unwrap().0, ["med", "p(99)"]);
        assert!(parse_stats("p(97)").is_err());
    }
}
