//! gRPC server reflection in the editor (`data shop = proto(reflect: shop)`): the
//! command line gives the server a function that asks a server (`set_reflector`); each
//! URL's answer, or its failure, is kept for `KEEP` so that analysing on every edit does
//! not ask again. Without a reflector (the library alone) reflection is refused.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Asks the server at a URL for its encoded descriptor set.
pub type Reflector = fn(&str) -> Result<Vec<u8>, String>;

/// How long an answer (or a failure) is used before the server is asked again.
const KEEP: Duration = Duration::from_secs(60);

static REFLECTOR: OnceLock<Reflector> = OnceLock::new();

type Answers = HashMap<String, (Instant, Result<Vec<u8>, String>)>;

fn answers() -> &'static Mutex<Answers> {
    static ANSWERS: OnceLock<Mutex<Answers>> = OnceLock::new();
    ANSWERS.get_or_init(Mutex::default)
}

/// Lets analyses ask servers through `f` (once per process).
pub fn set_reflector(f: Reflector) {
    let _ = REFLECTOR.set(f);
}

/// The descriptors of the server at `url`, from the last minute's answer or asked now.
pub(crate) fn reflect(url: &str) -> Result<Vec<u8>, String> {
    let Some(ask) = REFLECTOR.get() else {
        return Err("this editor does not reach servers; run `volley check`".into());
    };
    let now = Instant::now();
    let mut kept = answers().lock().unwrap_or_else(|p| p.into_inner());
    if let Some((at, answer)) = kept.get(url) {
        if now.duration_since(*at) < KEEP {
            return answer.clone();
        }
    }
    let answer = ask(url);
    kept.insert(url.to_string(), (now, answer.clone()));
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static ASKED: AtomicUsize = AtomicUsize::new(0);

    fn refusing(url: &str) -> Result<Vec<u8>, String> {
        ASKED.fetch_add(1, Ordering::SeqCst);
        Err(format!("{url}: connection refused"))
    }

    #[test]
    fn a_servers_answer_is_kept_between_edits() {
        set_reflector(refusing);
        let first = reflect("http://shop.test:1");
        let again = reflect("http://shop.test:1");
        assert_eq!(first, again);
        assert_eq!(ASKED.load(Ordering::SeqCst), 1);
    }
}
