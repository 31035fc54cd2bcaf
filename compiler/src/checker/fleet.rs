//! The fleet rule pass (`FleetPass`), run by the driver after thresholds. The
//! `fleet { .. }` block: runner count (`auto` → none), namespace, image, resources as
//! Kubernetes quantities (`cpu: 250m`, `"500m"`, `1.5`; `memory: 512Mi`, `"1G"`), for both
//! roles or per role, placement, node selector, tolerations, Kubernetes secret references
//! (only for declared secrets), egress CIDRs, cleanup, start timeout, grace and zone
//! spread; the pod fields for real clusters (env, service account, pull secrets, labels,
//! annotations, priority class, affinity) are in `fleet/pod.rs`. Unknown fields get a "did you mean". The pass
//! keeps its own state and returns a `FleetOut`; it uses the checker only to evaluate
//! constants, resolve names and report.

use super::args::{FleetField, ResourceField, FLEET_FIELDS, RESOURCE_FIELDS, ROLE_RESOURCE_FIELDS};
use super::{Checker, Ctx, Mode, Resolved};
use crate::codes::{self, Sink};
use crate::ir::{Const, Loc};
use crate::kube;
use crate::params;
use crate::suggest::did_you_mean;
use crate::types::Type;
use volley_plan::{Cleanup, Fleet, K8sSecretRef, Placement, Resources};
use volley_syntax::ast::{self, DurationUnit, ExprKind as A, ItemKind, Span};

mod pod;

const PLACEMENTS: &[&str] = &["spread", "separate", "pack"];
const CLEANUPS: &[&str] = &["after(DURATION)", "on_success", "never"];

fn strip_parens(e: &ast::Expr) -> &ast::Expr {
    match &e.kind {
        A::Paren(inner) => strip_parens(inner),
        _ => e,
    }
}

/// A bare name or a plain string (`spread` or `"spread"`).
fn word(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        A::Name(n) => Some(n.name.clone()),
        _ => super::items::literal_string(e),
    }
}

fn valid_namespace(ns: &str) -> bool {
    !ns.is_empty()
        && ns.len() <= 63
        && ns
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !ns.starts_with('-')
        && !ns.ends_with('-')
}

/// What the fleet pass produces: the fleet, the fields written (name and place, for
/// the linter) and the place of the block.
pub(crate) struct FleetOut {
    pub fleet: Fleet,
    pub fields: Vec<(String, Loc)>,
    pub loc: Loc,
}

/// The fleet rule pass. Its own state is the list of fields written; it asks the
/// checker (`ev`) only to evaluate constant expressions, resolve names and report.
pub(crate) struct FleetPass<'c, 'a> {
    ev: &'c mut Checker<'a>,
    fields: Vec<(String, Loc)>,
}

impl<'c, 'a> FleetPass<'c, 'a> {
    /// Checks the entry file's `fleet { .. }`; `None` when it has none.
    pub(crate) fn run(ev: &'c mut Checker<'a>) -> Option<FleetOut> {
        let m = ev.module(0);
        let i = m.fleet?;
        let Some(ItemKind::Fleet(fields)) = m.item(i).map(|it| &it.kind) else {
            return None;
        };
        let mut pass = FleetPass {
            ev,
            fields: Vec::new(),
        };
        let mut fleet = Fleet::default();
        pass.fields_of(&mut fleet, fields);
        Some(FleetOut {
            fleet,
            fields: pass.fields,
            loc: Loc::new(0, m.items()[i].span),
        })
    }

    /// Each field once, in source order (unknown and repeated ones reported).
    fn fields_of(&mut self, fleet: &mut Fleet, fields: &[ast::Field]) {
        let mut seen: Vec<(&str, Span)> = Vec::new();
        for f in fields {
            let name = f.name.name.as_str();
            let unknown = |sp, n: &str, s: &Option<String>, acc: &[&str]| {
                codes::unknown_field(sp, "fleet", n, s, acc)
            };
            let Some(key) = self.ev.arg_key(0, FLEET_FIELDS, name, f.name.span, unknown) else {
                continue;
            };
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
                self.ev
                    .emit(0, codes::duplicate_field(f.name.span, name, *first));
                continue;
            }
            seen.push((name, f.name.span));
            self.fields
                .push((name.to_string(), Loc::new(0, f.name.span)));
            self.fleet_field(fleet, key, &f.value);
        }
    }

    fn const_str(&mut self, e: &ast::Expr, what: &str) -> Option<String> {
        match self
            .ev
            .const_of(0, e, &Type::Str, what, &format!("{what} is a string"))?
        {
            Const::Str(s) | Const::Url(s) => Some(s),
            _ => None,
        }
    }

    fn const_str_list(&mut self, e: &ast::Expr, what: &str) -> Option<Vec<(String, Span)>> {
        let items: Vec<&ast::Expr> = match &e.kind {
            A::List(items) => items.iter().collect(),
            _ => {
                return match self.ev.const_of(
                    0,
                    e,
                    &Type::list(Type::Str),
                    what,
                    &format!("{what} is a list of strings"),
                )? {
                    Const::List(xs) => Some(
                        xs.into_iter()
                            .map(|x| (crate::konst::to_text(&x), e.span))
                            .collect(),
                    ),
                    _ => None,
                };
            }
        };
        let mut out = Vec::new();
        for it in items {
            out.push((self.const_str(it, what)?, it.span));
        }
        Some(out)
    }

    fn fleet_field(&mut self, fleet: &mut Fleet, key: FleetField, v: &ast::Expr) {
        match key {
            FleetField::Runners => self.fleet_runners(fleet, v),
            FleetField::Namespace => self.fleet_namespace(fleet, v),
            FleetField::Image => self.fleet_image(fleet, v),
            FleetField::Resources => self.resources(fleet, v),
            FleetField::Placement => match word(v).as_deref() {
                Some("spread") => fleet.placement = Placement::Spread,
                Some("separate") => fleet.placement = Placement::Separate,
                Some("pack") => fleet.placement = Placement::Pack,
                other => {
                    let g = other
                        .map(String::from)
                        .unwrap_or_else(|| self.ev.source_text(0, v.span));
                    let s = did_you_mean(&g, PLACEMENTS.iter().copied());
                    self.ev.emit(
                        0,
                        codes::bad_choice(v.span, "placement", &g, &s, PLACEMENTS),
                    );
                }
            },
            FleetField::NodeSelector => {
                if let Some(m) = self.ev.const_string_map(0, v, "node selectors", Sink::Tag) {
                    fleet.node_selector = m;
                }
            }
            FleetField::Tolerations => {
                if let Some(xs) = self.const_str_list(v, "a toleration") {
                    fleet.tolerations = xs.into_iter().map(|(s, _)| s).collect();
                }
            }
            FleetField::Secrets => self.fleet_secrets(fleet, v),
            FleetField::Egress => self.fleet_egress(fleet, v),
            FleetField::Cleanup => self.fleet_cleanup(fleet, v),
            FleetField::StartTimeout => {
                if let Some(ms) = self.ev.const_duration_ms(0, v, "start_timeout") {
                    fleet.start_timeout_ms = ms;
                }
            }
            FleetField::Grace => {
                if let Some(ms) = self.ev.const_duration_ms(0, v, "grace") {
                    fleet.grace_ms = ms;
                }
            }
            FleetField::Env => self.fleet_env(fleet, v),
            FleetField::ServiceAccount => {
                fleet.service_account = self.k8s_name(v, "service account", "\"loadtest\"")
            }
            FleetField::ImagePullSecrets => self.pull_secrets(fleet, v),
            FleetField::Labels => {
                if let Some(m) = self.metadata(v, true) {
                    fleet.labels = m;
                }
            }
            FleetField::Annotations => {
                if let Some(m) = self.metadata(v, false) {
                    fleet.annotations = m;
                }
            }
            FleetField::PriorityClass => {
                fleet.priority_class = self.k8s_name(v, "priority class", "\"loadtest-low\"")
            }
            FleetField::Affinity => self.affinity(fleet, v),
            FleetField::ZoneSpread => {
                if let Some(Const::Bool(b)) =
                    self.ev
                        .const_of(0, v, &Type::Bool, "`zone_spread`", "write true or false")
                {
                    fleet.zone_spread = b;
                }
            }
        }
    }

    /// `runners = N | auto`.
    fn fleet_runners(&mut self, fleet: &mut Fleet, v: &ast::Expr) {
        if word(v).as_deref() == Some("auto") {
            fleet.runners = None;
            return;
        }
        if let A::Name(n) = &v.kind {
            if matches!(self.ev.resolve_global(0, &n.name), Resolved::Unknown) {
                let s = did_you_mean(&n.name, ["auto"]);
                self.ev.emit(
                    0,
                    codes::bad_choice(v.span, "runners", &n.name, &s, &["a number", "auto"]),
                );
                return;
            }
        }
        match self.ev.const_of(
            0,
            v,
            &Type::Int,
            "`runners`",
            "write a number of runners or `auto`",
        ) {
            Some(Const::Int(n)) if (1..=10_000).contains(&n) => fleet.runners = Some(n as u32),
            Some(_) => self.ev.emit(
                0,
                codes::out_of_range(v.span, "runners", "between 1 and 10000 runners, or `auto`"),
            ),
            None => {}
        }
    }

    /// `namespace = "NAME"`: a valid Kubernetes namespace.
    fn fleet_namespace(&mut self, fleet: &mut Fleet, v: &ast::Expr) {
        if let Some(ns) = self.const_str(v, "the namespace") {
            if valid_namespace(&ns) {
                fleet.namespace = Some(ns);
            } else {
                let why = "a namespace is lowercase letters, digits and `-`, at most 63 characters";
                self.ev.emit(
                    0,
                    codes::malformed(v.span, "Kubernetes namespace", &ns, why, "\"loadtest\""),
                );
            }
        }
    }

    /// `image = "REF"`: not empty, no spaces.
    fn fleet_image(&mut self, fleet: &mut Fleet, v: &ast::Expr) {
        if let Some(img) = self.const_str(v, "the image") {
            if img.trim().is_empty() || img.contains(char::is_whitespace) {
                self.ev.emit(
                    0,
                    codes::malformed(
                        v.span,
                        "image reference",
                        &img,
                        "it is empty or has spaces",
                        "\"ghcr.io/acme/volley:0.1.0\"",
                    ),
                );
            } else {
                fleet.image = img;
            }
        }
    }

    /// `egress = ["CIDR", ..]`.
    fn fleet_egress(&mut self, fleet: &mut Fleet, v: &ast::Expr) {
        if let Some(xs) = self.const_str_list(v, "an egress CIDR") {
            let mut out = Vec::new();
            for (cidr, span) in xs {
                match params::check_cidr(&cidr) {
                    Ok(()) => out.push(cidr),
                    Err(why) => self.ev.emit(
                        0,
                        codes::malformed(span, "CIDR", &cidr, &why, "\"10.20.0.0/16\""),
                    ),
                }
            }
            fleet.egress = out;
        }
    }

    /// `cleanup = after(DURATION) | on_success | never`.
    fn fleet_cleanup(&mut self, fleet: &mut Fleet, v: &ast::Expr) {
        match &v.kind {
            A::Call { callee, args } if matches!(&callee.kind, A::Name(n) if n.name == "after") => {
                match args.as_slice() {
                    [a] if a.name.is_none() => {
                        if let Some(ms) =
                            self.ev.const_duration_ms(0, &a.value, "the cleanup delay")
                        {
                            fleet.cleanup = Cleanup::After { ms };
                        }
                    }
                    _ => self.ev.emit(
                        0,
                        codes::arg_count(v.span, "after", "1 argument (a duration)", args.len()),
                    ),
                }
            }
            _ => match word(v).as_deref() {
                Some("on_success") => fleet.cleanup = Cleanup::OnSuccess,
                Some("never") => fleet.cleanup = Cleanup::Never,
                other => {
                    let g = other
                        .map(String::from)
                        .unwrap_or_else(|| self.ev.source_text(0, v.span));
                    let s = did_you_mean(&g, ["on_success", "never", "after"]);
                    self.ev
                        .emit(0, codes::bad_choice(v.span, "cleanup", &g, &s, CLEANUPS));
                }
            },
        }
    }

    /// `resources = {cpu:, memory:}` for both roles, with `coordinator: {..}` and
    /// `runners: {..}` overriding either role (keys they omit come from the flat ones).
    fn resources(&mut self, fleet: &mut Fleet, v: &ast::Expr) {
        let example = "{cpu: 2, memory: 512Mi}";
        let Some(fields) = self.ev.record_literal(0, v, example) else {
            return;
        };
        let mut shared = fleet.resources.clone();
        let (mut coordinator, mut runners) = (None, None);
        for f in fields {
            let unknown = |sp, n: &str, s: &Option<String>, acc: &[&str]| {
                codes::unknown_field(sp, "fleet resources", n, s, acc)
            };
            match self
                .ev
                .arg_key(0, RESOURCE_FIELDS, &f.key, f.key_span, unknown)
            {
                Some(ResourceField::Cpu) => self.cpu(&mut shared, &f.value),
                Some(ResourceField::Memory) => self.memory(&mut shared, &f.value),
                Some(ResourceField::Coordinator) => coordinator = Some(&f.value),
                Some(ResourceField::Runners) => runners = Some(&f.value),
                None => {}
            }
        }
        fleet.resources = match runners {
            Some(e) => self.role_resources(shared.clone(), e, "runners"),
            None => shared.clone(),
        };
        let coordinator = match coordinator {
            Some(e) => self.role_resources(shared, e, "coordinator"),
            None => shared,
        };
        fleet.coordinator_resources = (coordinator != fleet.resources).then_some(coordinator);
    }

    /// One role's `{cpu:, memory:}`, starting from the flat (or default) resources.
    fn role_resources(&mut self, mut r: Resources, v: &ast::Expr, role: &str) -> Resources {
        let Some(fields) = self.ev.record_literal(0, v, "{cpu: 500m, memory: 256Mi}") else {
            return r;
        };
        let owner = format!("fleet resources of the {role}");
        for f in fields {
            let unknown = |sp, n: &str, s: &Option<String>, acc: &[&str]| {
                codes::unknown_field(sp, &owner, n, s, acc)
            };
            match self
                .ev
                .arg_key(0, ROLE_RESOURCE_FIELDS, &f.key, f.key_span, unknown)
            {
                Some(ResourceField::Cpu) => self.cpu(&mut r, &f.value),
                Some(ResourceField::Memory) => self.memory(&mut r, &f.value),
                Some(ResourceField::Coordinator | ResourceField::Runners) | None => {}
            }
        }
        r
    }

    /// `cpu:` as Kubernetes writes it: `250m` (millicores; the literal reads as minutes
    /// elsewhere), `"500m"`, `2`, `1.5`, `"1.5"`.
    fn cpu(&mut self, r: &mut Resources, v: &ast::Expr) {
        const HELP: &str = "write cores (`2`, `0.5`) or millicores (`250m`)";
        let millis = match &strip_parens(v).kind {
            A::Duration {
                value,
                unit: DurationUnit::M,
            } => kube::millis_above_zero(*value, &self.ev.source_text(0, v.span)),
            A::Duration { value, unit } => {
                let n = crate::konst::to_text(&Const::Float(*value));
                let fix = format!("`{n}m` for {n} millicores, or `{}` cores", value / 1000.0);
                let d = codes::unexpected_unit(
                    v.span,
                    &format!("duration in `{}`", unit.as_str()),
                    "CPU cores or millicores",
                    &fix,
                );
                self.ev.emit(0, d);
                return;
            }
            _ => match super::items::literal_string(v) {
                Some(t) => kube::cpu_millis(&t),
                None => match self.quantity_const(v, &Type::Float, "`cpu`", HELP) {
                    Some(Const::Int(i)) => {
                        kube::millis_above_zero(i as f64 * 1000.0, &i.to_string())
                    }
                    Some(Const::Float(c)) => kube::millis_above_zero(
                        c * 1000.0,
                        &crate::konst::to_text(&Const::Float(c)),
                    ),
                    _ => return,
                },
            },
        };
        match millis {
            Ok(m) => r.cpu_millis = m,
            Err(e) => self.quantity_error(v, "cpu", "CPU quantity", e, HELP),
        }
    }

    /// A refused quantity: E0208 with the nearest valid form, or E0207 for its size.
    fn quantity_error(
        &mut self,
        v: &ast::Expr,
        field: &str,
        kind: &str,
        e: kube::QuantityError,
        help: &str,
    ) {
        let d = match e {
            kube::QuantityError::Malformed { why, fix } => {
                let shown = super::items::literal_string(v)
                    .unwrap_or_else(|| self.ev.source_text(0, v.span));
                codes::malformed(v.span, kind, &shown, &why, &fix)
            }
            kube::QuantityError::Range(why) => {
                codes::out_of_range(v.span, field, &format!("{why}; {help}"))
            }
        };
        self.ev.emit(0, d);
    }

    /// A constant `cpu` or `memory` expression of type `want` (`2 * 0.5`, a param). A
    /// duration there (`250m * 2`) is refused with the quantity's own help, not the
    /// generic "drop the unit" (which would read `250m` as 250 cores).
    fn quantity_const(
        &mut self,
        v: &ast::Expr,
        want: &Type,
        what: &str,
        help: &str,
    ) -> Option<Const> {
        let mut cx = Ctx::new(0, Mode::Const);
        let x = self.ev.expr(&mut cx, v);
        if x.ty.is_error() {
            return None;
        }
        if x.ty == Type::Duration {
            let expected = if *want == Type::Float {
                "CPU cores or millicores"
            } else {
                "a memory size"
            };
            let fix = help.trim_start_matches("write ");
            let d = codes::unexpected_unit(v.span, "duration", expected, fix);
            self.ev.emit(0, d);
            return None;
        }
        if !self.ev.expect(&cx, &x, want, help) || !self.ev.require_const(&cx, &x, what, help) {
            return None;
        }
        x.konst.map(|k| super::items::coerce(k, want))
    }

    /// `memory:` as a size (`512Mi`, `1Gi`, `1GB`) or a Kubernetes quantity string
    /// (`"1Gi"`, `"1G"`, `"512M"`).
    fn memory(&mut self, r: &mut Resources, v: &ast::Expr) {
        const HELP: &str = "write a size such as `512Mi` or `1Gi` (or \"1G\")";
        let bytes = match &strip_parens(v).kind {
            A::Duration {
                value,
                unit: DurationUnit::M,
            } => {
                let n = crate::konst::to_text(&Const::Float(*value));
                let d = codes::unexpected_unit(
                    v.span,
                    "duration",
                    "a memory size",
                    &format!(
                        "`{n}Mi` (mebibytes; `m` is minutes here and millibytes to Kubernetes)"
                    ),
                );
                self.ev.emit(0, d);
                return;
            }
            _ => match super::items::literal_string(v) {
                Some(t) => kube::memory_bytes(&t),
                None => match self.quantity_const(v, &Type::Size, "`memory`", HELP) {
                    Some(Const::Size(b)) if b >= 1.0 && b.is_finite() => Ok(b.round() as u64),
                    Some(_) => Err(kube::QuantityError::Range("it is not above zero".into())),
                    None => return,
                },
            },
        };
        match bytes {
            Ok(b) => r.memory_bytes = b,
            Err(e) => self.quantity_error(v, "memory", "memory quantity", e, HELP),
        }
    }

    fn fleet_secrets(&mut self, fleet: &mut Fleet, v: &ast::Expr) {
        let Some(fields) = self
            .ev
            .record_literal(0, v, "{token: k8s_secret(\"name\", \"key\")}")
        else {
            return;
        };
        let m = self.ev.module(0);
        let declared: Vec<String> = m
            .values
            .iter()
            .filter(|(_, i)| {
                matches!(
                    m.item(**i).map(|it| &it.kind),
                    Some(ItemKind::Secret { .. })
                )
            })
            .map(|(n, _)| n.clone())
            .collect();
        for f in fields {
            let secret_name = match m.values.get(&f.key) {
                Some(i)
                    if matches!(m.item(*i).map(|it| &it.kind), Some(ItemKind::Secret { .. })) =>
                {
                    match self.ev.ensure_secret(0, *i) {
                        super::ItemState::Secret(id) => {
                            Some(self.ev.prog.secrets[id as usize].name.clone())
                        }
                        _ => None,
                    }
                }
                _ => {
                    let s = did_you_mean(&f.key, declared.iter().map(String::as_str));
                    self.ev
                        .emit(0, codes::undeclared_fleet_secret(f.key_span, &f.key, &s));
                    None
                }
            };
            let reference = k8s_secret_ref(&f.value);
            match (secret_name, reference) {
                (Some(n), Some(r)) => {
                    fleet.secrets.insert(n, r);
                }
                (_, None) => {
                    let d = codes::mismatch(
                        f.value.span,
                        "`k8s_secret(\"SECRET\", \"KEY\")`",
                        "something else",
                        "name the Kubernetes secret and its key: `k8s_secret(\"payments\", \"card-token\")`".into(),
                    );
                    self.ev.emit(0, d);
                }
                _ => {}
            }
        }
    }
}

/// `k8s_secret("SECRET", "KEY")` with two non-empty literal strings.
fn k8s_secret_ref(e: &ast::Expr) -> Option<K8sSecretRef> {
    let A::Call { callee, args } = &e.kind else {
        return None;
    };
    if !matches!(&callee.kind, A::Name(n) if n.name == "k8s_secret") {
        return None;
    }
    let [a, b] = args.as_slice() else {
        return None;
    };
    if a.name.is_some() || b.name.is_some() {
        return None;
    }
    let secret = super::items::literal_string(&a.value)?;
    let key = super::items::literal_string(&b.value)?;
    (!secret.is_empty() && !key.is_empty()).then_some(K8sSecretRef { secret, key })
}
