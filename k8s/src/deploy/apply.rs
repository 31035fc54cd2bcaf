//! Server-side apply of a run (field manager `volley`; `force` only when asked): the token
//! Secret (kept when it exists, so a re-apply changes nothing), then every object in the
//! manifests' order. Everything but the coordinator Job is owned by that Job, so the
//! clean-up of `ttlSecondsAfterFinished` takes the whole run with it; the objects applied
//! before the Job existed get their owner in a second pass. It must not wait on pods.

use super::error::{classify, Ctx, DeployError};
use crate::manifests::{token_secret, Manifests, Object};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, Patch, PatchParams};
use kube::Client;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;
use std::time::Duration;

/// The field manager of every apply.
pub const FIELD_MANAGER: &str = "volley";

/// What was applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// `(kind, name)` in apply order (second-pass re-applies not repeated).
    pub objects: Vec<(String, String)>,
    /// Whether the token Secret was made now (false: an earlier deploy's was kept).
    pub new_token: bool,
}

/// A fresh random run token: 32 bytes from the OS, hex.
pub fn random_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

struct Applier<'a> {
    client: &'a Client,
    m: &'a Manifests,
    params: PatchParams,
}

impl Applier<'_> {
    fn ctx<'b>(
        &'b self,
        verb: &'b str,
        kind: &'b str,
        resource: &'b str,
        name: &'b str,
    ) -> Ctx<'b> {
        Ctx::new(
            verb,
            kind,
            resource,
            name,
            &self.m.namespace,
            &self.m.names.run,
        )
    }

    async fn apply<K>(&self, obj: &K, kind: &str, resource: &str) -> Result<K, DeployError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + Debug
            + Serialize
            + DeserializeOwned,
        K::DynamicType: Default,
    {
        let name = obj.meta().name.clone().unwrap_or_default();
        tracing::debug!(
            kind,
            name = %name,
            namespace = %self.m.namespace,
            "applying {kind} `{name}`"
        );
        let api: Api<K> = Api::namespaced(self.client.clone(), &self.m.namespace);
        let patch = Patch::Apply(obj);
        retrying(|| api.patch(&name, &self.params, &patch))
            .await
            .map_err(|e| classify(e, self.ctx("patch", kind, resource, &name)))
    }

    async fn apply_object(&self, o: &Object) -> Result<Option<String>, DeployError> {
        let uid = match o {
            Object::ConfigMap(x) => {
                self.apply::<ConfigMap>(x, "ConfigMap", "configmaps")
                    .await?
                    .metadata
                    .uid
            }
            Object::Service(x) => {
                self.apply::<Service>(x, "Service", "services")
                    .await?
                    .metadata
                    .uid
            }
            Object::NetworkPolicy(x) => {
                self.apply::<NetworkPolicy>(x, "NetworkPolicy", "networkpolicies.networking.k8s.io")
                    .await?
                    .metadata
                    .uid
            }
            Object::PodDisruptionBudget(x) => {
                self.apply::<PodDisruptionBudget>(
                    x,
                    "PodDisruptionBudget",
                    "poddisruptionbudgets.policy",
                )
                .await?
                .metadata
                .uid
            }
            Object::Job(x) => {
                self.apply::<Job>(x, "Job", "jobs.batch")
                    .await?
                    .metadata
                    .uid
            }
        };
        Ok(uid)
    }

    async fn get_opt<K>(
        &self,
        name: &str,
        kind: &str,
        resource: &str,
    ) -> Result<Option<K>, DeployError>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + Debug
            + DeserializeOwned,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), &self.m.namespace);
        retrying(|| api.get_opt(name))
            .await
            .map_err(|e| classify(e, self.ctx("get", kind, resource, name)))
    }
}

/// Waits before each retry of an idempotent call (a server-side apply, a get): the client
/// itself does not retry (see `connect`), so a transient answer of the API server
/// (429, 5xx, a dropped connection) is retried here a bounded number of times.
const RETRY_BACKOFF: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// Whether an API error is worth another try: throttling, a server error or no answer.
fn transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(s) => s.code == 429 || (500..600).contains(&s.code),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// Runs `call` until it succeeds, fails for good, or `RETRY_BACKOFF` is used up.
async fn retrying<T, F, Fut>(mut call: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let mut waits = RETRY_BACKOFF.iter();
    loop {
        match call().await {
            Err(e) if transient(&e) => match waits.next() {
                Some(w) => {
                    match &e {
                        kube::Error::Api(s) => {
                            tracing::warn!(
                                "the API server answered {} ({}); retrying in {w:?}",
                                s.code,
                                s.message
                            )
                        }
                        // No answer: the connection failed or broke.
                        _ => {
                            tracing::warn!("no answer from the API server ({e}); retrying in {w:?}")
                        }
                    }
                    tokio::time::sleep(*w).await;
                }
                None => return Err(e),
            },
            r => return r,
        }
    }
}

fn owner(run_job: &str, uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: "batch/v1".into(),
        kind: "Job".into(),
        name: run_job.into(),
        uid: uid.into(),
        ..Default::default()
    }
}

fn with_owner(meta: &mut ObjectMeta, o: &Option<OwnerReference>) {
    meta.owner_references = o.clone().map(|o| vec![o]);
}

/// Applies the run. `make_token` is called only when the run has no token Secret yet.
pub async fn apply(
    client: &Client,
    m: &Manifests,
    force: bool,
    make_token: impl FnOnce() -> String,
) -> Result<Applied, DeployError> {
    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = force;
    let a = Applier { client, m, params };
    let coordinator = m.names.coordinator();
    tracing::info!(
        run = %m.names.run,
        namespace = %m.namespace,
        objects = m.objects.len() + 1,
        force,
        "applying run `{}` to namespace `{}`",
        m.names.run,
        m.namespace
    );
    let existing: Option<Job> = a.get_opt(&coordinator, "Job", "jobs.batch").await?;
    let mut own = existing
        .and_then(|j| j.metadata.uid)
        .map(|uid| owner(&coordinator, &uid));
    let secret_owned = own.is_some();
    let secret: Option<Secret> = a.get_opt(&m.names.token(), "Secret", "secrets").await?;
    let old = secret
        .and_then(|s| s.data)
        .and_then(|d| d.get(crate::manifests::pod::TOKEN_KEY).cloned())
        .and_then(|b| String::from_utf8(b.0).ok())
        .filter(|t| !t.is_empty());
    let new_token = old.is_none();
    // The token's value is never logged: only whether it is new.
    tracing::debug!(
        new_token,
        "run token Secret `{}`: {}",
        m.names.token(),
        if new_token { "made now" } else { "kept" }
    );
    let token = old.unwrap_or_else(make_token);
    let mut secret = token_secret(secret_meta(m), &token);
    with_owner(&mut secret.metadata, &own);
    a.apply(&secret, "Secret", "secrets").await?;
    let mut objects = vec![("Secret".to_string(), m.names.token())];
    let mut unowned: Vec<Object> = Vec::new();
    for o in &m.objects {
        let mut o = o.clone();
        let is_coordinator = matches!(&o, Object::Job(_)) && o.name() == coordinator;
        if !is_coordinator {
            with_owner(o.metadata_mut(), &own);
        }
        let uid = a.apply_object(&o).await?;
        objects.push((o.kind().to_string(), o.name().to_string()));
        if is_coordinator {
            own = uid.map(|uid| owner(&coordinator, &uid));
        } else if own.is_none() {
            unowned.push(o);
        }
    }
    if own.is_some() {
        // Second pass: what was applied before the coordinator Job existed.
        tracing::debug!(
            objects = unowned.len(),
            "owning the objects applied before the coordinator Job"
        );
        if !secret_owned {
            with_owner(&mut secret.metadata, &own);
            a.apply(&secret, "Secret", "secrets").await?;
        }
        for mut o in unowned {
            with_owner(o.metadata_mut(), &own);
            a.apply_object(&o).await?;
        }
    }
    tracing::info!(
        run = %m.names.run,
        objects = objects.len(),
        "applied {} objects",
        objects.len()
    );
    Ok(Applied { objects, new_token })
}

fn secret_meta(m: &Manifests) -> ObjectMeta {
    ObjectMeta {
        name: Some(m.names.token()),
        namespace: Some(m.namespace.clone()),
        labels: Some(m.names.labels("token")),
        ..Default::default()
    }
}
