//! The supervisor with a scripted source: what it does with each event, whichever source
//! sends it.

use super::*;
use crate::metrics::{ids, Registry, Tags};
use std::collections::VecDeque;
use std::sync::Mutex;
use volley_plan::{Aggregation, CmpOp, Condition, Threshold};

fn plan() -> Plan {
    let text = include_str!("../../fleet/state/fleet_plan.json");
    volley_plan::from_json(text).expect("fixture plan")
}

/// A snapshot of `reqs` requests, `failed` of which failed.
fn requests(reqs: u32, failed: u32) -> Box<Snapshot> {
    let mut shard = Shard::new(Registry::new(&[]));
    let t = Tags::default();
    for i in 0..reqs {
        shard.count(ids::HTTP_REQS, &t, 1.0);
        shard.rate(ids::HTTP_REQ_FAILED, &t, i < failed);
    }
    Box::new(shard.take())
}

/// Plays its events, then waits until stopped (then `Done`) or ends at once (`ends`).
struct Script {
    events: VecDeque<SourceEvent>,
    ends: bool,
    stopped: Vec<StopReason>,
    lost: u32,
    completed: bool,
}

impl Script {
    fn new(events: Vec<SourceEvent>, ends: bool) -> Script {
        Script {
            events: events.into(),
            ends,
            stopped: Vec::new(),
            lost: 0,
            completed: false,
        }
    }
}

impl Source for Script {
    async fn prepare(&mut self, _stop: &StopHandle) -> Result<(), RunError> {
        Ok(())
    }

    async fn start(&mut self, _values: Vec<Value>) -> Result<Instant, RunError> {
        Ok(Instant::now())
    }

    async fn next(&mut self) -> SourceEvent {
        if let Some(e) = self.events.pop_front() {
            if let SourceEvent::RunnerLost { .. } = e {
                self.lost += 1;
            }
            return e;
        }
        if self.ends || !self.stopped.is_empty() {
            return SourceEvent::Done;
        }
        std::future::pending().await
    }

    fn stop(&mut self, reason: StopReason) {
        self.stopped.push(reason);
    }

    async fn finish(&mut self) -> Vec<Delta> {
        vec![Delta::Dense(requests(1, 0))]
    }

    fn live(&self) -> Live {
        Live::default()
    }

    fn verdict(&self) -> Option<Verdict> {
        (self.lost > 0).then_some(Verdict::RunnersLost)
    }

    fn complete(&mut self, summary: &mut Summary) {
        self.completed = true;
        summary.volley.runners_lost = self.lost;
    }
}

fn supervise(plan: Plan, source: &mut Script) -> (RunOutcome, Vec<RunEvent>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let events = Arc::clone(&events);
        Box::new(move |e| events.lock().unwrap().push(e)) as EventSink
    };
    let outcome = run_supervisor(plan, StopHandle::default(), Some(sink), source);
    let events = std::mem::take(&mut *events.lock().unwrap());
    (outcome, events)
}

/// Runs a supervisor of `plan` over `source` on a current-thread runtime.
fn run_supervisor(
    plan: Plan,
    stop: StopHandle,
    events: Option<EventSink>,
    source: &mut Script,
) -> RunOutcome {
    let plan = Arc::new(plan);
    let supervisor = Supervisor {
        agg: Aggregate::new(Registry::new(&plan.metrics)),
        progress: ProgressMode::Quiet,
        outputs: None,
        stop: Some(stop),
        events,
        tap: None,
        hooks: HookVu::Build {
            plan: Arc::clone(&plan),
            env: BTreeMap::new(),
            built: None,
        },
        report: Report::new(&plan),
        detail: None,
        baseline: None,
        plan,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&rt, supervisor.run(source))
}

fn http_reqs(outcome: &RunOutcome) -> f64 {
    outcome.summary.metrics["http_reqs"].values["count"]
}

#[test]
fn every_delta_is_merged_and_a_lost_runner_is_an_event_and_the_verdict() {
    let mut plan = plan();
    plan.setup = None;
    plan.teardown = None;
    let mut source = Script::new(
        vec![
            SourceEvent::Snapshot(Delta::Dense(requests(3, 0))),
            SourceEvent::RunnerLost {
                index: 1,
                reason: "no heartbeat".into(),
            },
            SourceEvent::Snapshot(Delta::Sparse(Box::new((&*requests(2, 0)).into()))),
        ],
        true,
    );
    let (outcome, events) = supervise(plan, &mut source);
    // 3 + 2 while running, 1 more handed over by `finish`.
    assert_eq!(http_reqs(&outcome), 6.0);
    assert!(events.contains(&RunEvent::RunnerLost {
        index: 1,
        reason: "no heartbeat".into()
    }));
    assert!(matches!(events.first(), Some(RunEvent::Started { .. })));
    assert_eq!(outcome.exit_code, ExitCode::RunnersLost);
    assert!(source.completed && outcome.summary.volley.runners_lost == 1);
    assert!(source.stopped.is_empty(), "nobody stopped the load");
}

#[test]
fn a_failed_abort_on_fail_threshold_stops_the_source_with_108() {
    let mut plan = plan();
    plan.setup = None;
    plan.teardown = None;
    plan.thresholds = vec![Threshold {
        metric: "http_req_failed".into(),
        tags: BTreeMap::new(),
        conditions: vec![Condition {
            aggregation: Aggregation::Rate,
            percentile: None,
            op: CmpOp::Lt,
            value: 0.01,
            source: "rate < 1%".into(),
            baseline: None,
        }],
        abort_on_fail: true,
        delay_abort_eval_ms: 0,
    }];
    let mut source = Script::new(
        vec![SourceEvent::Snapshot(Delta::Dense(requests(10, 5)))],
        false,
    );
    let (outcome, events) = supervise(plan, &mut source);
    assert_eq!(source.stopped, vec![StopReason::AbortOnFail]);
    assert!(events.contains(&RunEvent::Stopping(StopCause::Threshold)));
    assert_eq!(outcome.exit_code, ExitCode::AbortedByThreshold);
}

#[test]
fn a_stop_handle_stops_the_source_with_105() {
    let mut plan = plan();
    plan.setup = None;
    plan.teardown = None;
    let stop = StopHandle::default();
    stop.stop();
    let mut source = Script::new(Vec::new(), false);
    let outcome = run_supervisor(plan, stop, None, &mut source);
    // Stopped before setup: the source is told, nothing started.
    assert_eq!(source.stopped, vec![StopReason::Signal]);
    assert_eq!(outcome.exit_code, ExitCode::AbortedBySignal);
}
