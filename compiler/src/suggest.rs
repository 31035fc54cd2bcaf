//! "Did you mean" suggestions by edit distance (optimal string alignment: insertions,
//! deletions, substitutions and adjacent transpositions, so `brwose` finds `browse`).
//! Pure functions; deterministic (ties go to the candidate that sorts first).

/// Edit distance with adjacent transpositions.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[n][m]
}

/// The closest candidate to `name`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a, I>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let len = name.chars().count();
    let limit = len.div_ceil(3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let d = distance(name, c);
        // Case-only differences are always worth suggesting.
        let d = if c.eq_ignore_ascii_case(name) { 0 } else { d };
        if d > limit || (d >= len.max(1) && d > 0) {
            continue;
        }
        let better = match best {
            None => true,
            Some((bd, bc)) => d < bd || (d == bd && c < bc),
        };
        if better {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// `did you mean `x`?` or nothing, for building help texts.
pub fn hint(suggestion: &Option<String>) -> Option<String> {
    suggestion.as_ref().map(|s| format!("did you mean `{s}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_found() {
        let names = ["browse", "login", "api"];
        assert_eq!(did_you_mean("brwose", names).as_deref(), Some("browse"));
        assert_eq!(did_you_mean("apii", names).as_deref(), Some("api"));
        assert_eq!(did_you_mean("ap", names).as_deref(), Some("api"));
        assert_eq!(did_you_mean("zzzzzz", names), None);
        assert_eq!(
            did_you_mean("okay", ["ok", "created"]).as_deref(),
            Some("ok")
        );
        assert_eq!(
            did_you_mean("emial", ["email", "password"]).as_deref(),
            Some("email")
        );
    }

    #[test]
    fn single_letters_do_not_match_everything() {
        assert_eq!(did_you_mean("x", ["y", "r"]), None);
    }

    #[test]
    fn ties_are_deterministic() {
        assert_eq!(did_you_mean("ab", ["ac", "aa"]).as_deref(), Some("aa"));
    }
}
