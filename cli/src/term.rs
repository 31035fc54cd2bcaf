//! The terminal: everything the CLI writes to stdout and stderr goes through [`outln!`],
//! [`out!`], [`errln!`] and [`err!`] (tests/tidy/prints.rs holds it to that), which never
//! panic. `println!` and `eprintln!` panic when the stream is a pipe whose reader has
//! gone (`volley run t.load 2>&1 | head`, a pager quit early), which killed a running
//! test with exit 101 and no summary files.
//!
//! A write that finds its reader gone (`EPIPE`) is dropped, and the first one runs the
//! hooks of [`when_reader_gone`]: a run stops gracefully, as on a first SIGINT (its
//! `--summary-json`, `--out` and `--report` files are written, exit 105), rather than
//! going on loading the target for a reader who left, or dying without its files as a
//! process killed by SIGPIPE does. Any other write error (a full disk behind `>`) is
//! dropped too: the run goes on and its exit code is its verdict.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Set by the first write that found its reader gone.
static GONE: AtomicBool = AtomicBool::new(false);

/// What a reader gone does (stops the run).
type Hook = Box<dyn Fn() + Send>;
static HOOKS: Mutex<Vec<Hook>> = Mutex::new(Vec::new());

/// Runs `hook` once when a write to stdout or stderr first finds its reader gone (at
/// once if one already did).
pub fn when_reader_gone(hook: Hook) {
    // The flag is read and set under the lock, so a hook is never missed.
    let Ok(mut hooks) = HOOKS.lock() else {
        return;
    };
    if GONE.load(Ordering::SeqCst) {
        drop(hooks);
        hook();
    } else {
        hooks.push(hook);
    }
}

/// Writes to stdout (use [`out!`] and [`outln!`]).
pub fn stdout(args: fmt::Arguments<'_>) {
    write(&mut io::stdout().lock(), args);
}

/// Writes to stderr (use [`err!`] and [`errln!`]).
pub fn stderr(args: fmt::Arguments<'_>) {
    write(&mut io::stderr().lock(), args);
}

fn write(w: &mut impl Write, args: fmt::Arguments<'_>) {
    let written = w.write_fmt(args).and_then(|()| w.flush());
    if !written.is_err_and(|e| e.kind() == io::ErrorKind::BrokenPipe) {
        return;
    }
    let Ok(hooks) = HOOKS.lock() else {
        return;
    };
    if !GONE.swap(true, Ordering::SeqCst) {
        tracing::warn!("the reader of the output is gone (a closed pipe): stopping gracefully");
        for hook in hooks.iter() {
            hook();
        }
    }
}

/// `print!` that does not panic (see the module).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::term::stdout(format_args!($($arg)*))
    };
}

/// `println!` that does not panic (see the module).
macro_rules! outln {
    () => {
        $crate::term::stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::term::stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` that does not panic (see the module).
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::term::stderr(format_args!($($arg)*))
    };
}

/// `eprintln!` that does not panic (see the module).
macro_rules! errln {
    () => {
        $crate::term::stderr(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::term::stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}
