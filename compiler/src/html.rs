//! CSS selectors of `html.find(..)`, checked at compile time by the parser the engine
//! matches them with (`scraper`'s), so a selector that compiles is one the run accepts.

/// `Ok` when `selector` parses; else the parser's complaint.
pub(crate) fn check_selector(selector: &str) -> Result<(), String> {
    match scraper::Selector::parse(selector) {
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_parse_or_say_why() {
        for ok in [
            "input[name=csrf]",
            "form#login > input.x",
            "ul li:first-child",
            "a[href^=\"/\"]",
        ] {
            assert!(check_selector(ok).is_ok(), "{ok}");
        }
        for bad in ["input[name=", "", "a >", "::nope("] {
            assert!(check_selector(bad).is_err(), "{bad}");
        }
    }
}
