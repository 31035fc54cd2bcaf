//! `fleet.affinity` as Kubernetes' `Affinity`, and how the runners' `placement` preset
//! joins it: the preset's pod (anti-)affinity term comes first, the file's terms after it
//! in source order, so both hold (required terms all must, preferred ones add weight).
//! Pure.

use k8s_openapi::api::core::v1::{
    Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodAffinity,
    PodAffinityTerm, PodAntiAffinity, PreferredSchedulingTerm, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use volley_plan::{FleetAffinity, MatchExpression, PodTerm};

fn requirement(e: &MatchExpression) -> NodeSelectorRequirement {
    NodeSelectorRequirement {
        key: e.key.clone(),
        operator: e.operator.clone(),
        values: (!e.values.is_empty()).then(|| e.values.clone()),
    }
}

fn pod_term(t: &PodTerm) -> PodAffinityTerm {
    PodAffinityTerm {
        label_selector: Some(LabelSelector {
            match_labels: Some(t.labels.clone()),
            ..Default::default()
        }),
        namespaces: (!t.namespaces.is_empty()).then(|| t.namespaces.clone()),
        topology_key: t.topology_key.clone(),
        ..Default::default()
    }
}

/// Required terms (no weight) and preferred ones (with theirs), in source order.
fn split(terms: &[PodTerm]) -> (Vec<PodAffinityTerm>, Vec<WeightedPodAffinityTerm>) {
    let mut required = Vec::new();
    let mut preferred = Vec::new();
    for t in terms {
        match t.weight {
            Some(weight) => preferred.push(WeightedPodAffinityTerm {
                pod_affinity_term: pod_term(t),
                weight,
            }),
            None => required.push(pod_term(t)),
        }
    }
    (required, preferred)
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// The file's affinity for both roles; `None` when it sets none.
pub fn of_fleet(a: &FleetAffinity) -> Option<Affinity> {
    if a.is_empty() {
        return None;
    }
    let node =
        (!a.node_required.is_empty() || !a.node_preferred.is_empty()).then(|| NodeAffinity {
            required_during_scheduling_ignored_during_execution: non_empty(
                a.node_required.iter().map(requirement).collect(),
            )
            .map(|exprs| NodeSelector {
                node_selector_terms: vec![NodeSelectorTerm {
                    match_expressions: Some(exprs),
                    ..Default::default()
                }],
            }),
            preferred_during_scheduling_ignored_during_execution: non_empty(
                a.node_preferred
                    .iter()
                    .map(|t| PreferredSchedulingTerm {
                        preference: NodeSelectorTerm {
                            match_expressions: Some(
                                t.expressions.iter().map(requirement).collect(),
                            ),
                            ..Default::default()
                        },
                        weight: t.weight,
                    })
                    .collect(),
            ),
        });
    let (req, pref) = split(&a.pod_affinity);
    let pod = (!req.is_empty() || !pref.is_empty()).then(|| PodAffinity {
        required_during_scheduling_ignored_during_execution: non_empty(req),
        preferred_during_scheduling_ignored_during_execution: non_empty(pref),
    });
    let (req, pref) = split(&a.pod_anti_affinity);
    let anti = (!req.is_empty() || !pref.is_empty()).then(|| PodAntiAffinity {
        required_during_scheduling_ignored_during_execution: non_empty(req),
        preferred_during_scheduling_ignored_during_execution: non_empty(pref),
    });
    Some(Affinity {
        node_affinity: node,
        pod_affinity: pod,
        pod_anti_affinity: anti,
    })
}

fn join<T>(first: Option<Vec<T>>, then: Option<Vec<T>>) -> Option<Vec<T>> {
    match (first, then) {
        (Some(mut a), Some(b)) => {
            a.extend(b);
            Some(a)
        }
        (a, b) => a.or(b),
    }
}

/// The runners' affinity: the `placement` preset's terms first, then the file's.
pub fn with_placement(preset: Affinity, fleet: Option<Affinity>) -> Affinity {
    let Some(f) = fleet else {
        return preset;
    };
    let pod = match (preset.pod_affinity, f.pod_affinity) {
        (Some(p), Some(q)) => Some(PodAffinity {
            required_during_scheduling_ignored_during_execution: join(
                p.required_during_scheduling_ignored_during_execution,
                q.required_during_scheduling_ignored_during_execution,
            ),
            preferred_during_scheduling_ignored_during_execution: join(
                p.preferred_during_scheduling_ignored_during_execution,
                q.preferred_during_scheduling_ignored_during_execution,
            ),
        }),
        (p, q) => p.or(q),
    };
    let anti = match (preset.pod_anti_affinity, f.pod_anti_affinity) {
        (Some(p), Some(q)) => Some(PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: join(
                p.required_during_scheduling_ignored_during_execution,
                q.required_during_scheduling_ignored_during_execution,
            ),
            preferred_during_scheduling_ignored_during_execution: join(
                p.preferred_during_scheduling_ignored_during_execution,
                q.preferred_during_scheduling_ignored_during_execution,
            ),
        }),
        (p, q) => p.or(q),
    };
    Affinity {
        node_affinity: preset.node_affinity.or(f.node_affinity),
        pod_affinity: pod,
        pod_anti_affinity: anti,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use volley_plan::WeightedNodeTerm;

    fn term(app: &str, weight: Option<i32>) -> PodTerm {
        PodTerm {
            labels: BTreeMap::from([("app".to_string(), app.to_string())]),
            topology_key: "kubernetes.io/hostname".into(),
            weight,
            namespaces: Vec::new(),
        }
    }

    #[test]
    fn no_affinity_writes_none() {
        assert_eq!(of_fleet(&FleetAffinity::default()), None);
    }

    #[test]
    fn node_requirements_are_one_term_and_preferences_keep_their_weight() {
        let e = |k: &str, op: &str, v: &[&str]| MatchExpression {
            key: k.into(),
            operator: op.into(),
            values: v.iter().map(|s| s.to_string()).collect(),
        };
        let a = of_fleet(&FleetAffinity {
            node_required: vec![e("pool", "In", &["load"]), e("spot", "DoesNotExist", &[])],
            node_preferred: vec![WeightedNodeTerm {
                weight: 30,
                expressions: vec![e("zone", "In", &["a"])],
            }],
            ..Default::default()
        })
        .unwrap();
        let n = a.node_affinity.unwrap();
        let req = n
            .required_during_scheduling_ignored_during_execution
            .unwrap();
        assert_eq!(req.node_selector_terms.len(), 1, "requirements all hold");
        let exprs = req.node_selector_terms[0]
            .match_expressions
            .clone()
            .unwrap();
        assert_eq!(exprs.len(), 2);
        assert_eq!(
            exprs[1].values, None,
            "Exists-like operators carry no values"
        );
        let pref = n
            .preferred_during_scheduling_ignored_during_execution
            .unwrap();
        assert_eq!(pref[0].weight, 30);
        assert!(a.pod_affinity.is_none() && a.pod_anti_affinity.is_none());
    }

    #[test]
    fn the_placement_preset_comes_first_and_the_files_terms_follow() {
        let preset = Affinity {
            pod_anti_affinity: Some(PodAntiAffinity {
                preferred_during_scheduling_ignored_during_execution: Some(vec![
                    WeightedPodAffinityTerm {
                        pod_affinity_term: pod_term(&term("runner", None)),
                        weight: 100,
                    },
                ]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let fleet = of_fleet(&FleetAffinity {
            pod_anti_affinity: vec![term("db", Some(40)), term("cache", None)],
            pod_affinity: vec![term("gateway", Some(10))],
            ..Default::default()
        });
        let a = with_placement(preset, fleet);
        let anti = a.pod_anti_affinity.unwrap();
        let pref = anti
            .preferred_during_scheduling_ignored_during_execution
            .unwrap();
        assert_eq!(
            pref.iter().map(|w| w.weight).collect::<Vec<_>>(),
            [100, 40],
            "preset first, then the file's"
        );
        assert_eq!(
            anti.required_during_scheduling_ignored_during_execution
                .unwrap()
                .len(),
            1
        );
        assert!(a.pod_affinity.is_some(), "the file's pod affinity is kept");
    }
}
