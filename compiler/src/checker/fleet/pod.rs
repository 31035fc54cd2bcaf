//! The `fleet` fields that shape the pods for a cluster, as k6-operator users set them:
//! extra `env` (plain, `k8s_secret(..)`, `k8s_configmap(..)`), `service_account`,
//! `image_pull_secrets`, pod `labels` and `annotations`, `priority_class` and `affinity`
//! (node requirements and pod (anti-)affinity terms). Every name is checked against
//! Kubernetes' syntax (`crate::kube`) at its span, and names Volley sets itself (its
//! `VOLLEY_*` variables, `volley.dev/` and its `app.kubernetes.io/` labels) are refused.

use super::super::args::{
    AffinityField, ExpressionField, PodTermField, AFFINITY_FIELDS, EXPRESSION_FIELDS,
    POD_TERM_FIELDS,
};
use super::{word, FleetPass};
use crate::codes;
use crate::ir::Const;
use crate::kube;
use crate::suggest::did_you_mean;
use crate::types::Type;
use std::collections::BTreeMap;
use volley_plan::{EnvValue, Fleet, FleetAffinity, MatchExpression, PodTerm, WeightedNodeTerm};
use volley_syntax::ast::{self, ExprKind as A, ItemKind, Span};

const OPERATORS: &[&str] = &["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"];

/// `callee("A", "B")` with two non-empty literal strings, when `e` calls `callee`.
fn ref_call(e: &ast::Expr, callee: &str) -> Option<Option<(String, String)>> {
    let A::Call { callee: c, args } = &e.kind else {
        return None;
    };
    if !matches!(&c.kind, A::Name(n) if n.name == callee) {
        return None;
    }
    let pair = match args.as_slice() {
        [a, b] if a.name.is_none() && b.name.is_none() => {
            let a = super::super::items::literal_string(&a.value);
            let b = super::super::items::literal_string(&b.value);
            a.zip(b).filter(|(a, b)| !a.is_empty() && !b.is_empty())
        }
        _ => None,
    };
    Some(pair)
}

/// A key of a Secret or ConfigMap: letters, digits, `-`, `_` and `.`.
fn valid_data_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 253
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

impl FleetPass<'_, '_> {
    /// A DNS-1123 subdomain name (service account, priority class, pull secret).
    pub(super) fn k8s_name(&mut self, v: &ast::Expr, what: &str, example: &str) -> Option<String> {
        let name = self.const_str(v, &format!("the {what}"))?;
        self.checked_name(name, v, what, example)
    }

    fn checked_name(
        &mut self,
        name: String,
        v: &ast::Expr,
        what: &str,
        example: &str,
    ) -> Option<String> {
        match kube::check_dns_subdomain(&name) {
            Ok(()) => Some(name),
            Err(why) => {
                let kind = format!("Kubernetes {what} name");
                let fix = format!("\"{}\"", kube::dns_fix(&name));
                let example = if fix.len() > 2 { fix.as_str() } else { example };
                self.ev
                    .emit(0, codes::malformed(v.span, &kind, &name, &why, example));
                None
            }
        }
    }

    /// `image_pull_secrets = ["regcred", ..]`.
    pub(super) fn pull_secrets(&mut self, fleet: &mut Fleet, v: &ast::Expr) {
        let Some(xs) = self.const_str_list(v, "an image pull secret") else {
            return;
        };
        let mut out = Vec::new();
        for (name, span) in xs {
            match kube::check_dns_subdomain(&name) {
                Ok(()) => out.push(name),
                Err(why) => self.ev.emit(
                    0,
                    codes::malformed(
                        span,
                        "Kubernetes Secret name",
                        &name,
                        &why,
                        &format!("\"{}\"", kube::dns_fix(&name)),
                    ),
                ),
            }
        }
        fleet.image_pull_secrets = out;
    }

    /// Pod `labels` (`labels = true`) or `annotations`: qualified keys, label values of
    /// at most 63 characters, never a key Volley sets.
    pub(super) fn metadata(
        &mut self,
        v: &ast::Expr,
        labels: bool,
    ) -> Option<BTreeMap<String, String>> {
        let (what, example) = if labels {
            ("label", "{team: \"payments\"}")
        } else {
            ("annotation", "{\"acme.com/owner\": \"payments\"}")
        };
        let fields = self.ev.record_literal(0, v, example)?;
        let mut out = BTreeMap::new();
        for f in fields {
            if let Err(why) = kube::check_qualified_name(&f.key) {
                let kind = format!("{what} key");
                let fix = kube::qualified_name_fix(&f.key);
                let d = codes::malformed(f.key_span, &kind, &f.key, &why, &fix);
                self.ev.emit(0, d);
                continue;
            }
            if let Some(why) = kube::reserved_key(&f.key, labels) {
                let fix = format!("use a key of your own, such as `acme.com/{}`", base(&f.key));
                let d =
                    codes::reserved_name(f.key_span, &format!("{what} key"), &f.key, &why, &fix);
                self.ev.emit(0, d);
                continue;
            }
            let Some(value) = self.const_str(&f.value, &format!("a pod {what}")) else {
                continue;
            };
            if labels {
                if let Err(why) = kube::check_label_value(&value) {
                    let d = codes::malformed(
                        f.value.span,
                        "label value",
                        &value,
                        &why,
                        &format!("\"{}\"", kube::label_value_fix(&value)),
                    );
                    self.ev.emit(0, d);
                    continue;
                }
            }
            out.insert(f.key.clone(), value);
        }
        Some(out)
    }

    /// The environment variables of the file's declared secrets (`secret x = env("X")`).
    fn secret_envs(&self) -> Vec<String> {
        let m = self.ev.module(0);
        m.values
            .values()
            .filter_map(|i| match m.item(*i).map(|it| &it.kind) {
                Some(ItemKind::Secret { source, .. }) => match &source.kind {
                    A::Call { args, .. } => args
                        .first()
                        .and_then(|a| super::super::items::literal_string(&a.value)),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    /// `env = {NAME: "value" | k8s_secret("SECRET", "KEY") | k8s_configmap("MAP", "KEY")}`.
    pub(super) fn fleet_env(&mut self, fleet: &mut Fleet, v: &ast::Expr) {
        let example = "{REGION: \"eu\", API_KEY: k8s_secret(\"api\", \"key\")}";
        let Some(fields) = self.ev.record_literal(0, v, example) else {
            return;
        };
        let secret_envs = self.secret_envs();
        for f in fields {
            if let Err(why) = kube::check_env_name(&f.key) {
                let d = codes::malformed(
                    f.key_span,
                    "environment variable name",
                    &f.key,
                    &why,
                    "REGION",
                );
                self.ev.emit(0, d);
                continue;
            }
            let reserved = kube::reserved_env(&f.key).or_else(|| {
                secret_envs.contains(&f.key).then(|| {
                    "a declared secret reads it (`secret .. = env(..)`), from `fleet.secrets`"
                        .into()
                })
            });
            if let Some(why) = reserved {
                let d = codes::reserved_name(
                    f.key_span,
                    "environment variable",
                    &f.key,
                    &why,
                    "give the variable another name",
                );
                self.ev.emit(0, d);
                continue;
            }
            if let Some(value) = self.env_value(&f.value) {
                fleet.env.insert(f.key.clone(), value);
            }
        }
    }

    fn env_value(&mut self, v: &ast::Expr) -> Option<EnvValue> {
        for (callee, what) in [("k8s_secret", "Secret"), ("k8s_configmap", "ConfigMap")] {
            let Some(pair) = ref_call(v, callee) else {
                continue;
            };
            let Some((name, key)) = pair else {
                let help = format!(
                    "name the Kubernetes {what} and its key: `{callee}(\"api\", \"region\")`"
                );
                let expected = format!("`{callee}(\"NAME\", \"KEY\")`");
                self.ev.emit(
                    0,
                    codes::mismatch(v.span, &expected, "something else", help),
                );
                return None;
            };
            let kind = format!("Kubernetes {what} name");
            if let Err(why) = kube::check_dns_subdomain(&name) {
                self.ev.emit(
                    0,
                    codes::malformed(
                        v.span,
                        &kind,
                        &name,
                        &why,
                        &format!("\"{}\"", kube::dns_fix(&name)),
                    ),
                );
                return None;
            }
            if !valid_data_key(&key) {
                let kind = format!("{what} key");
                let why = "a key holds letters, digits, `-`, `_` and `.`";
                self.ev
                    .emit(0, codes::malformed(v.span, &kind, &key, why, "\"api-key\""));
                return None;
            }
            return Some(match callee {
                "k8s_secret" => EnvValue::Secret { secret: name, key },
                _ => EnvValue::ConfigMap {
                    config_map: name,
                    key,
                },
            });
        }
        let value = self.const_str(v, "an environment value")?;
        Some(EnvValue::Value { value })
    }

    /// `affinity = {node_required:, node_preferred:, pod_affinity:, pod_anti_affinity:}`.
    pub(super) fn affinity(&mut self, fleet: &mut Fleet, v: &ast::Expr) {
        let example = "{node_required: [{key: \"pool\", operator: In, values: [\"load\"]}]}";
        let Some(fields) = self.ev.record_literal(0, v, example) else {
            return;
        };
        let mut out = FleetAffinity::default();
        for f in fields {
            let unknown = |sp, n: &str, s: &Option<String>, acc: &[&str]| {
                codes::unknown_field(sp, "fleet affinity", n, s, acc)
            };
            let Some(key) = self
                .ev
                .arg_key(0, AFFINITY_FIELDS, &f.key, f.key_span, unknown)
            else {
                continue;
            };
            let items = self.records(&f.value, &f.key);
            for item in items {
                match key {
                    AffinityField::NodeRequired => {
                        if let Some((e, _)) = self.expression(item, false) {
                            out.node_required.push(e);
                        }
                    }
                    AffinityField::NodePreferred => {
                        if let Some((e, w)) = self.expression(item, true) {
                            out.node_preferred.push(WeightedNodeTerm {
                                weight: w.unwrap_or(1),
                                expressions: vec![e],
                            });
                        }
                    }
                    AffinityField::PodAffinity => {
                        if let Some(t) = self.pod_term(item) {
                            out.pod_affinity.push(t);
                        }
                    }
                    AffinityField::PodAntiAffinity => {
                        if let Some(t) = self.pod_term(item) {
                            out.pod_anti_affinity.push(t);
                        }
                    }
                }
            }
        }
        fleet.affinity = out;
    }

    /// The records of a list literal (`[{..}, {..}]`).
    fn records<'e>(&mut self, v: &'e ast::Expr, field: &str) -> Vec<&'e ast::Expr> {
        match &v.kind {
            A::List(items) => items.iter().collect(),
            A::Paren(inner) => self.records(inner, field),
            _ => {
                let d = codes::mismatch(
                    v.span,
                    "a list of records",
                    "something else",
                    format!("write `{field}: [{{..}}, ..]`"),
                );
                self.ev.emit(0, d);
                Vec::new()
            }
        }
    }

    /// A weight between 1 and 100.
    fn weight(&mut self, v: &ast::Expr) -> Option<i32> {
        match self.ev.const_of(
            0,
            v,
            &Type::Int,
            "`weight`",
            "a weight is a number from 1 to 100",
        )? {
            Const::Int(w) if (1..=100).contains(&w) => Some(w as i32),
            _ => {
                self.ev.emit(
                    0,
                    codes::out_of_range(v.span, "weight", "a weight is 1 to 100"),
                );
                None
            }
        }
    }

    /// `{key:, operator:, values:}` (with `weight:` when `preferred`).
    fn expression(
        &mut self,
        v: &ast::Expr,
        preferred: bool,
    ) -> Option<(MatchExpression, Option<i32>)> {
        let example = "{key: \"pool\", operator: In, values: [\"load\"]}";
        let fields = self.ev.record_literal(0, v, example)?;
        let (mut key, mut operator, mut values, mut weight) = (None, None, None, None);
        let mut ok = true;
        for f in fields {
            let unknown = |sp, n: &str, s: &Option<String>, acc: &[&str]| {
                codes::unknown_field(sp, "a node requirement", n, s, acc)
            };
            match self
                .ev
                .arg_key(0, EXPRESSION_FIELDS, &f.key, f.key_span, unknown)
            {
                Some(ExpressionField::Key) => {
                    key = self.label_key(&f.value, "node label key");
                    ok &= key.is_some();
                }
                Some(ExpressionField::Operator) => {
                    operator = self.operator(&f.value);
                    ok &= operator.is_some();
                }
                Some(ExpressionField::Values) => {
                    values = self
                        .const_str_list(&f.value, "a label value")
                        .map(|xs| (xs, f.value.span));
                    ok &= values.is_some();
                }
                Some(ExpressionField::Weight) if preferred => {
                    weight = self.weight(&f.value);
                    ok &= weight.is_some();
                }
                Some(ExpressionField::Weight) => {
                    let d = codes::unknown_field(
                        f.key_span,
                        "a required node requirement",
                        "weight",
                        &None,
                        &["key", "operator", "values"],
                    )
                    .with_help("a required requirement has no weight: move it to `node_preferred`");
                    self.ev.emit(0, d);
                    ok = false;
                }
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        if preferred && weight.is_none() {
            self.ev.emit(
                0,
                codes::missing(
                    v.span,
                    "a preferred node requirement",
                    "field",
                    "weight",
                    "weight: 50",
                ),
            );
            return None;
        }
        let (Some(key), Some(operator)) = (key, operator) else {
            {
                let name = if fields.iter().any(|f| f.key == "key") {
                    "operator"
                } else {
                    "key"
                };
                let ex = if name == "key" {
                    "key: \"pool\""
                } else {
                    "operator: In"
                };
                self.ev.emit(
                    0,
                    codes::missing(v.span, "a node requirement", "field", name, ex),
                );
            }
            return None;
        };
        let (values, span) = match values {
            Some((xs, span)) => (xs.into_iter().map(|(s, _)| s).collect(), span),
            None => (Vec::new(), v.span),
        };
        self.operator_values(&operator, &values, span)?;
        Some((
            MatchExpression {
                key,
                operator,
                values,
            },
            weight,
        ))
    }

    /// The values fit the operator (`In` some, `Exists` none, `Gt` one integer) and are
    /// label values.
    fn operator_values(&mut self, operator: &str, values: &[String], span: Span) -> Option<()> {
        let why = match operator {
            "In" | "NotIn" if values.is_empty() => Some("`In` and `NotIn` need at least one value"),
            "Exists" | "DoesNotExist" if !values.is_empty() => {
                Some("`Exists` and `DoesNotExist` take no values")
            }
            "Gt" | "Lt" if values.len() != 1 || values[0].parse::<i64>().is_err() => {
                Some("`Gt` and `Lt` take one value, an integer such as [\"4\"]")
            }
            _ => None,
        };
        if let Some(why) = why {
            self.ev.emit(0, codes::out_of_range(span, "values", why));
            return None;
        }
        for x in values {
            if let Err(why) = kube::check_label_value(x) {
                let fix = format!("\"{}\"", kube::label_value_fix(x));
                self.ev
                    .emit(0, codes::malformed(span, "label value", x, &why, &fix));
                return None;
            }
        }
        Some(())
    }

    fn label_key(&mut self, v: &ast::Expr, what: &str) -> Option<String> {
        let key = self.const_str(v, &format!("the {what}"))?;
        match kube::check_qualified_name(&key) {
            Ok(()) => Some(key),
            Err(why) => {
                let d =
                    codes::malformed(v.span, what, &key, &why, "\"topology.kubernetes.io/zone\"");
                self.ev.emit(0, d);
                None
            }
        }
    }

    /// `In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt` or `Lt` (bare or quoted).
    fn operator(&mut self, v: &ast::Expr) -> Option<String> {
        let given = word(v);
        if let Some(op) = given.as_deref().filter(|o| OPERATORS.contains(o)) {
            return Some(op.to_string());
        }
        let g = given.unwrap_or_else(|| self.ev.source_text(0, v.span));
        let s = OPERATORS
            .iter()
            .find(|o| o.eq_ignore_ascii_case(&g))
            .map(|o| o.to_string())
            .or_else(|| did_you_mean(&g, OPERATORS.iter().copied()));
        self.ev
            .emit(0, codes::bad_choice(v.span, "operator", &g, &s, OPERATORS));
        None
    }

    /// `{labels: {..}, topology_key: "..", weight: N, namespaces: [..]}`: preferred with a
    /// weight, required without.
    fn pod_term(&mut self, v: &ast::Expr) -> Option<PodTerm> {
        let example = "{labels: {app: \"payments\"}, topology_key: \"kubernetes.io/hostname\"}";
        let fields = self.ev.record_literal(0, v, example)?;
        let mut term = PodTerm {
            labels: BTreeMap::new(),
            topology_key: String::new(),
            weight: None,
            namespaces: Vec::new(),
        };
        let mut ok = true;
        for f in fields {
            let unknown = |sp, n: &str, s: &Option<String>, acc: &[&str]| {
                codes::unknown_field(sp, "a pod affinity term", n, s, acc)
            };
            let got = match self
                .ev
                .arg_key(0, POD_TERM_FIELDS, &f.key, f.key_span, unknown)
            {
                Some(PodTermField::Labels) => self.selector(&f.value).map(|m| term.labels = m),
                Some(PodTermField::TopologyKey) => self
                    .label_key(&f.value, "topology key")
                    .map(|k| term.topology_key = k),
                Some(PodTermField::Weight) => self.weight(&f.value).map(|w| term.weight = Some(w)),
                Some(PodTermField::Namespaces) => {
                    self.namespaces(&f.value).map(|n| term.namespaces = n)
                }
                None => None,
            };
            ok &= got.is_some();
        }
        if !ok {
            return None;
        }
        for (name, ex) in [
            ("labels", "labels: {app: \"payments\"}"),
            ("topology_key", "topology_key: \"kubernetes.io/hostname\""),
        ] {
            if !fields.iter().any(|f| f.key == name) {
                self.ev.emit(
                    0,
                    codes::missing(v.span, "a pod affinity term", "field", name, ex),
                );
                return None;
            }
        }
        Some(term)
    }

    /// The labels a pod term selects: qualified keys, label values.
    fn selector(&mut self, v: &ast::Expr) -> Option<BTreeMap<String, String>> {
        let fields = self.ev.record_literal(0, v, "{app: \"payments\"}")?;
        let mut out = BTreeMap::new();
        for f in fields {
            if let Err(why) = kube::check_qualified_name(&f.key) {
                let fix = kube::qualified_name_fix(&f.key);
                let d = codes::malformed(f.key_span, "label key", &f.key, &why, &fix);
                self.ev.emit(0, d);
                return None;
            }
            let value = self.const_str(&f.value, "a label value")?;
            if let Err(why) = kube::check_label_value(&value) {
                let fix = format!("\"{}\"", kube::label_value_fix(&value));
                let d = codes::malformed(f.value.span, "label value", &value, &why, &fix);
                self.ev.emit(0, d);
                return None;
            }
            out.insert(f.key.clone(), value);
        }
        if out.is_empty() {
            let d = codes::out_of_range(v.span, "labels", "select pods by at least one label");
            self.ev.emit(0, d);
            return None;
        }
        Some(out)
    }

    fn namespaces(&mut self, v: &ast::Expr) -> Option<Vec<String>> {
        let xs = self.const_str_list(v, "a namespace")?;
        let mut out = Vec::new();
        for (ns, span) in xs {
            if let Err(why) = kube::check_dns_label(&ns) {
                let d = codes::malformed(span, "Kubernetes namespace", &ns, &why, "\"payments\"");
                self.ev.emit(0, d);
                return None;
            }
            out.push(ns);
        }
        Some(out)
    }
}

/// The name part of a qualified key (`component` of `app.kubernetes.io/component`).
fn base(key: &str) -> &str {
    key.rsplit_once('/').map_or(key, |(_, n)| n)
}
