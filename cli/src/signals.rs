//! The signals a terminal, CI or Kubernetes sends: SIGINT, SIGTERM, SIGHUP and SIGQUIT.
//! The first one stops the run gracefully, as `volley abort` does: the load stops, the
//! summary, `--summary-json`, `--out` and `--report` are written in full, and the process
//! exits 105. A second one exits at once (105), after `on_second` has cleaned up (the local
//! fleet kills its runner processes and removes its work folder).
//!
//! A reader gone from stdout or stderr (a closed pipe, [`crate::term`]) stops the run
//! as the first signal does.
//!
//! The handlers are registered before [`install`] returns, so a signal that arrives while
//! the run starts is never the default one (which would kill the process with no summary).

use tokio::signal::unix::{signal, Signal, SignalKind};
use volley_engine::run::StopHandle;
use volley_plan::ExitCode;

/// What a second signal does before the process exits.
pub type OnSecond = Box<dyn Fn() + Send + 'static>;

/// Listens for the signals on a thread of its own: the first one stops `stops`, a second
/// one runs `on_second` and exits 105. Without a runtime or a handler (very unusual) the
/// signals keep their default action, and a note says so.
pub fn install(stops: Vec<StopHandle>, on_second: OnSecond) {
    // A reader gone from stdout or stderr stops the run as a first signal does.
    let gone = stops.clone();
    crate::term::when_reader_gone(Box::new(move || gone.iter().for_each(StopHandle::stop)));
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            errln!("note: signals keep their default action: {e}");
            return;
        }
    };
    let streams = {
        let _guard = rt.enter();
        let kinds = [
            SignalKind::interrupt(),
            SignalKind::terminate(),
            SignalKind::hangup(),
            SignalKind::quit(),
        ];
        kinds
            .into_iter()
            .map(signal)
            .collect::<std::io::Result<Vec<Signal>>>()
    };
    let mut streams = match streams {
        Ok(s) => s,
        Err(e) => {
            errln!("note: signals keep their default action: {e}");
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("volley-signal".into())
        .spawn(move || {
            rt.block_on(async move {
                let mut seen = 0u32;
                loop {
                    let name = next(&mut streams).await;
                    seen += 1;
                    if seen == 1 {
                        errln!(
                            "{name}: stopping gracefully (the summary follows; a second signal exits at once)"
                        );
                        for s in &stops {
                            s.stop();
                        }
                    } else {
                        errln!("{name} again: exiting at once (no summary)");
                        on_second();
                        std::process::exit(ExitCode::AbortedBySignal.as_i32());
                    }
                }
            });
        });
    if let Err(e) = spawned {
        errln!("note: signals keep their default action: {e}");
    }
}

/// The name of the next signal received.
async fn next(streams: &mut [Signal]) -> &'static str {
    let [int, term, hup, quit] = streams else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
        _ = hup.recv() => "SIGHUP",
        _ = quit.recv() => "SIGQUIT",
    }
}
