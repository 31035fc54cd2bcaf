//! Value provenance on the typed IR: for every value that reaches a request (path, query,
//! headers, body) it tells what the value is made of — a literal constant, a fleet-unique
//! identity (`vu.id`, `test.iteration`, a unique data row), a per-runner one
//! (`vu.local_id`, `runner.index`), shared data and its pick, a random draw and the size of
//! its range, something captured from a response, a secret, a setup value — and which
//! request fields carry identity (login, user, email, account, session, token, password…).
//!
//! The analysis walks every scenario (its scenario-level `let`s and `var`s, then its
//! iteration), setup and teardown in order, following local slots to the expression they
//! were bound to (a `var` to every value assigned to it: loops and the iteration are
//! walked to a fixpoint, see `Walker::repeated`) and flow calls into the flow body with the caller's arguments, so a literal passed
//! to `login("alice@example.com")` is seen at the request inside `login`, labelled where it
//! is written. Records keep their fields apart (`{email: user.email, password: "x"}`).
//! Alongside the request sites it collects what thresholds can match: metrics added,
//! group paths, check names, request names and methods, pauses and data reads.
//!
//! It is pure and bounded (flow calls nest at most [`MAX_DEPTH`] deep); it reports nothing
//! itself: rules read [`Facts`]. The types and the classification are here, the walk in
//! `walk.rs`.

mod walk;

use crate::ir::{self, Builtin, Intrinsic, Loc, Pick};
use std::collections::BTreeSet;
use walk::{Cx, Env, Walker};

/// How deep flow calls are followed.
pub const MAX_DEPTH: usize = 8;

/// Rounds of a loop body walked before the final one (see `Walker::repeated`).
const MAX_ROUNDS: usize = 8;

/// What one part of a value is made of.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// Written in the source (or computed only from literals).
    Literal,
    /// A `param` (its default, or `--param`): a constant for the whole run.
    Param(String),
    /// `vu.id` or `test.iteration`: different for every VU (or iteration) of the fleet.
    FleetUnique(Builtin),
    /// `vu.local_id` or `runner.index`: repeats on every runner.
    PerRunner(Builtin),
    /// `vu.iteration`: the same sequence 0, 1, 2… on every VU.
    PerVu(Builtin),
    /// A row of a data source; `column` when a field was read.
    Data {
        source: u32,
        pick: Pick,
        column: Option<String>,
    },
    /// A random draw; `space` distinct values when known.
    Random {
        intrinsic: Intrinsic,
        space: Option<u64>,
    },
    /// Read from the response of request site `site` (when known).
    Response(Option<usize>),
    Secret(u32),
    Setup(u32),
}

/// One part of a value and where it is written.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pub kind: Kind,
    pub loc: Loc,
}

/// What a scalar value is made of.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prov {
    pub parts: Vec<Part>,
    /// At most this many distinct values, when bounded (`vu.id % 10` → 10, a literal → 1).
    pub space: Option<u64>,
}

/// How a value varies across the VUs of a fleet, from the most to the least specific.
#[derive(Clone, Debug, PartialEq)]
pub enum Class {
    /// A secret, a setup value or something read from a response: shared or unique by the
    /// system under test's design, not judged.
    Dynamic,
    /// Unique across the fleet (`vu.id`, `test.iteration`, unique data, or `runner.index`
    /// combined with `vu.local_id`).
    FleetUnique,
    /// A fleet-unique value folded into `space` values (`vu.id % 10`).
    Reduced { space: u64 },
    /// A random draw from `space` values (`None`: unknown size).
    Random { space: Option<u64> },
    /// A row of shared data (sequential, random or shared pick).
    SharedData { source: u32, pick: Pick },
    /// Repeats on every runner: `vu.local_id` or `runner.index` alone.
    PerRunner(Builtin),
    /// The same on every VU at the same point of its life (`vu.iteration`).
    PerVu,
    /// One value for every VU: literals and params.
    Constant,
}

impl Prov {
    pub fn leaf(kind: Kind, loc: Loc) -> Prov {
        let space = match kind {
            Kind::Literal | Kind::Param(_) => Some(1),
            Kind::Random { space, .. } => space,
            _ => None,
        };
        Prov {
            parts: vec![Part { kind, loc }],
            space,
        }
    }

    /// Both values combined (a concatenation or an operation): spaces multiply.
    pub fn join(mut self, other: Prov) -> Prov {
        self.space = match (self.space, other.space) {
            (Some(a), Some(b)) => Some(a.saturating_mul(b)),
            _ => None,
        };
        for p in other.parts {
            if !self.parts.contains(&p) {
                self.parts.push(p);
            }
        }
        self
    }

    pub fn has(&self, f: impl Fn(&Kind) -> bool) -> bool {
        self.parts.iter().any(|p| f(&p.kind))
    }

    /// The first part matching `f`.
    pub fn find(&self, f: impl Fn(&Kind) -> bool) -> Option<&Part> {
        self.parts.iter().find(|p| f(&p.kind))
    }

    pub fn class(&self) -> Class {
        if self.has(|k| matches!(k, Kind::Secret(_) | Kind::Setup(_) | Kind::Response(_))) {
            return Class::Dynamic;
        }
        let per_runner = |b: Builtin| self.has(|k| *k == Kind::PerRunner(b));
        let unique = self.has(|k| {
            matches!(
                k,
                Kind::FleetUnique(_)
                    | Kind::Data {
                        pick: Pick::Unique | Pick::UniquePerIteration,
                        ..
                    }
            )
        }) || (per_runner(Builtin::RunnerIndex) && per_runner(Builtin::VuLocalId));
        let random = self.has(|k| matches!(k, Kind::Random { .. }));
        if unique {
            return match self.space {
                Some(space) if !random => Class::Reduced { space },
                _ => Class::FleetUnique,
            };
        }
        if random {
            return Class::Random { space: self.space };
        }
        if let Some(Part {
            kind: Kind::Data { source, pick, .. },
            ..
        }) = self.find(|k| matches!(k, Kind::Data { .. }))
        {
            return Class::SharedData {
                source: *source,
                pick: *pick,
            };
        }
        if per_runner(Builtin::VuLocalId) {
            return Class::PerRunner(Builtin::VuLocalId);
        }
        if per_runner(Builtin::RunnerIndex) {
            return Class::PerRunner(Builtin::RunnerIndex);
        }
        if self.has(|k| matches!(k, Kind::PerVu(_))) {
            return Class::PerVu;
        }
        Class::Constant
    }
}

/// A value with its record structure kept.
#[derive(Clone, Debug, PartialEq)]
pub enum Shape {
    Record(Vec<(String, Shape)>),
    Leaf(Prov),
}

impl Shape {
    /// Every part merged into one scalar provenance.
    pub fn flat(&self) -> Prov {
        match self {
            Shape::Leaf(p) => p.clone(),
            Shape::Record(fs) => fs
                .iter()
                .fold(Prov::default(), |acc, (_, s)| acc.join(s.flat())),
        }
    }

    fn field(&self, name: &str) -> Shape {
        match self {
            Shape::Record(fs) => fs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, s)| s.clone())
                .unwrap_or_else(|| Shape::Leaf(Prov::default())),
            Shape::Leaf(p) => {
                let mut p = p.clone();
                for part in &mut p.parts {
                    if let Kind::Data { column, .. } = &mut part.kind {
                        column.get_or_insert_with(|| name.to_string());
                    }
                }
                Shape::Leaf(p)
            }
        }
    }
}

/// Which part of a request a value goes into. Identity is read from the query, headers
/// and body; a path segment (`/api/users/{id}`) names a resource, not who sends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Path,
    Query,
    Header,
    Body,
}

/// What an identity field identifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Who: user, login, email, account, customer, member.
    Principal,
    /// A session or bearer credential: token, authorization, session, cookie, API key.
    Session,
    /// A password.
    Credential,
}

/// One value sent by a request.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub place: Place,
    /// The record key, header name, query name or path segment it is sent under.
    pub key: String,
    pub role: Option<Role>,
    pub prov: Prov,
}

/// Where the code runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// A scenario-level `let` (once per VU).
    Init,
    Iteration,
    Setup,
    Teardown,
}

/// One request as reached from one scenario (a flow called twice gives two sites).
#[derive(Clone, Debug)]
pub struct Site {
    pub loc: Loc,
    pub method: String,
    pub target: u32,
    /// The `name` tag.
    pub name: String,
    pub expect: (u16, u16),
    /// The request's own `timeout:`, ms.
    pub timeout_ms: Option<u64>,
    pub scenario: Option<u32>,
    pub phase: Phase,
    pub fields: Vec<Field>,
    /// The conditions of the `if`s around it, innermost last.
    pub guards: Vec<(Prov, Loc)>,
    /// Flow calls leading to it, outermost first.
    pub calls: Vec<Loc>,
    /// The literal path text (for absolute URLs), when the path starts with a literal.
    pub path_text: Option<(String, Loc)>,
    /// The request's own `tags: {..}` (a constant `name` is in `name`).
    pub tags: Vec<SiteTag>,
}

/// One of a request's own tags.
#[derive(Clone, Debug)]
pub struct SiteTag {
    pub key: String,
    /// The value when it is a constant.
    pub value: Option<String>,
    /// What a value known only at run time is made of.
    pub prov: Prov,
    /// Where the value is written.
    pub loc: Loc,
}

/// A response status compared with `==` (`check r.status == 404`).
#[derive(Clone, Debug)]
pub struct StatusCheck {
    pub site: usize,
    pub status: i64,
    pub loc: Loc,
}

/// A `data.next()`.
#[derive(Clone, Debug)]
pub struct DataRead {
    pub source: u32,
    pub scenario: Option<u32>,
    pub phase: Phase,
    pub loc: Loc,
}

/// Everything the rules read.
#[derive(Debug, Default)]
pub struct Facts {
    pub sites: Vec<Site>,
    pub status_checks: Vec<StatusCheck>,
    pub data_reads: Vec<DataRead>,
    pub metrics_added: BTreeSet<u32>,
    /// Group paths as tagged (`outer::inner`).
    pub groups: BTreeSet<String>,
    pub checks: BTreeSet<String>,
    /// Scenarios whose iteration pauses (`sleep` or `think`, flows included).
    pub pausing: BTreeSet<u32>,
}

/// Runs the analysis on a whole program.
pub fn analyse(prog: &ir::Program) -> Facts {
    let mut w = Walker {
        prog,
        facts: Facts::default(),
    };
    for (i, s) in prog.scenarios.iter().enumerate() {
        let mut cx = Cx::new(Some(i as u32), Phase::Init);
        let mut env = Env::default();
        w.stmts(&s.init, &mut env, &mut cx);
        cx.phase = Phase::Iteration;
        // The iteration runs again and again: what it assigns to a scenario-level var
        // reaches its reads above the assignment too.
        w.repeated(&s.iteration, &mut env, &mut cx, &mut |w, env, cx| {
            w.stmts(&s.iteration, env, cx)
        });
    }
    for (block, phase) in [
        (&prog.setup, Phase::Setup),
        (&prog.teardown, Phase::Teardown),
    ] {
        if let Some(b) = block {
            let mut cx = Cx::new(None, phase);
            w.stmts(&b.body, &mut Env::default(), &mut cx);
        }
    }
    w.facts
}

/// The words a key is made of: `x-api-key` → [x, api, key], `userName` → [user, name].
pub fn key_words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

const PRINCIPAL: &[&str] = &[
    "login",
    "user",
    "users",
    "username",
    "userid",
    "uid",
    "email",
    "mail",
    "account",
    "accounts",
    "customer",
    "customers",
    "member",
    "principal",
    "subject",
];
const SESSION: &[&str] = &[
    "session",
    "sessionid",
    "sid",
    "token",
    "authorization",
    "auth",
    "cookie",
    "apikey",
    "bearer",
    "jwt",
    "credential",
    "credentials",
];
const CREDENTIAL: &[&str] = &["password", "passwd", "pwd", "passphrase", "pin", "secret"];

/// Whether a field name carries identity, and which kind.
pub fn identity_role(key: &str) -> Option<Role> {
    let words = key_words(key);
    let has = |set: &[&str]| words.iter().any(|w| set.contains(&w.as_str()));
    let api_key = words.windows(2).any(|w| w[0] == "api" && w[1] == "key");
    if has(CREDENTIAL) || (words.iter().any(|w| w == "client") && has(&["secret"])) {
        return Some(Role::Credential);
    }
    if has(SESSION) || api_key {
        return Some(Role::Session);
    }
    if has(PRINCIPAL) {
        return Some(Role::Principal);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_roles_from_field_names() {
        assert_eq!(identity_role("email"), Some(Role::Principal));
        assert_eq!(identity_role("userName"), Some(Role::Principal));
        assert_eq!(identity_role("customer_id"), Some(Role::Principal));
        assert_eq!(identity_role("x-api-key"), Some(Role::Session));
        assert_eq!(identity_role("authorization"), Some(Role::Session));
        assert_eq!(identity_role("password"), Some(Role::Credential));
        assert_eq!(identity_role("client_secret"), Some(Role::Credential));
        assert_eq!(identity_role("product_id"), None);
        assert_eq!(identity_role("qty"), None);
        assert_eq!(identity_role("idempotency-key"), None);
    }

    #[test]
    fn classes_order_from_specific_to_constant() {
        let l = Loc::default();
        let lit = Prov::leaf(Kind::Literal, l);
        let local = Prov::leaf(Kind::PerRunner(Builtin::VuLocalId), l);
        let idx = Prov::leaf(Kind::PerRunner(Builtin::RunnerIndex), l);
        let vu = Prov::leaf(Kind::FleetUnique(Builtin::VuId), l);
        assert_eq!(lit.class(), Class::Constant);
        assert_eq!(
            lit.clone().join(local.clone()).class(),
            Class::PerRunner(Builtin::VuLocalId)
        );
        assert_eq!(local.join(idx).class(), Class::FleetUnique);
        assert_eq!(lit.join(vu.clone()).class(), Class::FleetUnique);
        let reduced = Prov {
            space: Some(10),
            ..vu
        };
        assert_eq!(reduced.class(), Class::Reduced { space: 10 });
        let secret = Prov::leaf(Kind::Secret(0), l);
        assert_eq!(secret.class(), Class::Dynamic);
    }
}
