//! Kubernetes' own syntax, for the `fleet` block: CPU and memory quantities as Kubernetes
//! writes them (`250m`, `1.5`, `1Gi`, `1G`), DNS-1123 names, qualified label and
//! annotation keys, label values, environment variable names, and the names Volley sets
//! itself (refused in a user's labels and env). Pure; every error says why in words the
//! checker puts in its diagnostic.

/// The label and annotation key prefix Volley owns.
pub const VOLLEY_PREFIX: &str = "volley.dev/";

/// The `app.kubernetes.io/` labels Volley sets on every object (k8s/src/manifests/names.rs).
pub const RESERVED_LABELS: &[&str] = &[
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/version",
];

/// The environment variables the pods get from Volley or Kubernetes and the binary reads.
pub const RESERVED_ENV: &[&str] = &["JOB_COMPLETION_INDEX"];

/// Why a quantity was refused: its form (with the nearest valid form), or its size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuantityError {
    /// Not a quantity at all: why, and a valid form to propose.
    Malformed { why: String, fix: String },
    /// A quantity, but not one Kubernetes accepts here (zero, a fraction of a millicore).
    Range(String),
}

/// A CPU quantity as text (`"500m"`, `"1.5"`, `"2"`) in millicores, above zero and whole.
pub fn cpu_millis(text: &str) -> Result<u64, QuantityError> {
    let t = text.trim();
    let (n, scale) = match t.strip_suffix('m') {
        Some(n) => (n, 1.0),
        None => (t, 1000.0),
    };
    let v = number(n).ok_or_else(|| QuantityError::Malformed {
        why: "CPU is cores (`2`, `0.5`) or millicores (`500m`)".into(),
        fix: "\"500m\"".into(),
    })?;
    millis_above_zero(v * scale, t)
}

/// Millicores from a number of them (`250` of `250m`, or cores × 1000): at least 1, whole.
pub fn millis_above_zero(m: f64, shown: &str) -> Result<u64, QuantityError> {
    if !m.is_finite() || m < 1.0 {
        return Err(QuantityError::Range(format!(
            "`{shown}` is below one millicore: Kubernetes' smallest CPU is `1m`"
        )));
    }
    if (m - m.round()).abs() > 1e-6 {
        return Err(QuantityError::Range(format!(
            "`{shown}` is a fraction of a millicore: Kubernetes counts CPU in whole millicores"
        )));
    }
    Ok(m.round() as u64)
}

/// The suffixes of a memory quantity and their bytes: Kubernetes' binary (`Ki`…`Ei`) and
/// decimal (`k`…`E`) ones, and Volley's size units (`KB`, `MB`, `GB`, `B`).
const MEMORY_UNITS: &[(&str, f64)] = &[
    ("Ki", 1024.0),
    ("Mi", 1048576.0),
    ("Gi", 1073741824.0),
    ("Ti", 1099511627776.0),
    ("Pi", 1125899906842624.0),
    ("Ei", 1152921504606846976.0),
    ("k", 1e3),
    ("M", 1e6),
    ("G", 1e9),
    ("T", 1e12),
    ("P", 1e15),
    ("E", 1e18),
    ("KB", 1e3),
    ("MB", 1e6),
    ("GB", 1e9),
    ("B", 1.0),
    ("", 1.0),
];

/// A memory quantity as text (`"1Gi"`, `"512Mi"`, `"1G"`, `"1500"`) in bytes, above zero.
pub fn memory_bytes(text: &str) -> Result<u64, QuantityError> {
    let t = text.trim();
    let split = t
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e')
        .unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let Some((_, size)) = MEMORY_UNITS.iter().find(|(u, _)| *u == unit) else {
        let close = match unit {
            "m" => Some("Mi"),
            _ => MEMORY_UNITS
                .iter()
                .find(|(u, _)| !u.is_empty() && u.eq_ignore_ascii_case(unit))
                .map(|(u, _)| *u),
        };
        let n = if number(n).is_some() { n } else { "512" };
        return Err(QuantityError::Malformed {
            why: format!(
                "`{unit}` is not a memory unit: write `Ki`, `Mi`, `Gi`, `Ti` or `k`, `M`, `G`, `T`"
            ),
            fix: format!("\"{n}{}\"", close.unwrap_or("Mi")),
        });
    };
    let v = number(n).ok_or_else(|| QuantityError::Malformed {
        why: "a memory quantity is a number and a unit".into(),
        fix: "\"512Mi\"".into(),
    })?;
    let b = v * size;
    if !b.is_finite() || b < 1.0 {
        return Err(QuantityError::Range(format!("`{t}` is not above zero")));
    }
    Ok(b.round() as u64)
}

fn number(t: &str) -> Option<f64> {
    if t.is_empty() || t.starts_with(['+', '-']) {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// A DNS-1123 label: lowercase letters, digits and `-`, starting and ending alphanumeric,
/// at most 63 characters.
pub fn check_dns_label(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 63 {
        return Err(format!("it has {} characters, not 1 to 63", s.len()));
    }
    if !s.chars().all(|c| alnum(c) || c == '-') {
        return Err("it may hold only lowercase letters, digits and `-`".into());
    }
    if !s.starts_with(alnum) || !s.ends_with(alnum) {
        return Err("it starts and ends with a lowercase letter or digit".into());
    }
    Ok(())
}

/// A DNS-1123 subdomain (names of Secrets, ConfigMaps, service accounts, priority
/// classes): DNS-1123 labels joined by `.`, at most 253 characters.
pub fn check_dns_subdomain(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 253 {
        return Err(format!("it has {} characters, not 1 to 253", s.len()));
    }
    for part in s.split('.') {
        check_dns_label(part).map_err(|why| {
            if part.is_empty() {
                "it has an empty part between dots".to_string()
            } else {
                format!("`{part}`: {why}")
            }
        })?;
    }
    Ok(())
}

/// The name part of a qualified name, or a label value when not empty: at most 63
/// characters, alphanumerics, `-`, `_` and `.`, starting and ending alphanumeric.
fn check_name_part(s: &str, what: &str) -> Result<(), String> {
    if s.len() > 63 {
        return Err(format!("{what} has {} characters, at most 63", s.len()));
    }
    let edge = |c: char| c.is_ascii_alphanumeric();
    if !s.chars().all(|c| edge(c) || "-_.".contains(c)) {
        return Err(format!(
            "{what} may hold only letters, digits, `-`, `_` and `.`"
        ));
    }
    if !s.starts_with(edge) || !s.ends_with(edge) {
        return Err(format!("{what} starts and ends with a letter or digit"));
    }
    Ok(())
}

/// A qualified name (a label or annotation key): `[PREFIX/]NAME`, the prefix a DNS-1123
/// subdomain, the name at most 63 characters.
pub fn check_qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if name.is_empty() {
        return Err("the name after the prefix is empty".into());
    }
    check_name_part(name, "the name")?;
    if let Some(p) = prefix {
        check_dns_subdomain(p)
            .map_err(|why| format!("the prefix `{p}` is not a DNS subdomain: {why}"))?;
    }
    Ok(())
}

/// A label value: empty, or at most 63 characters as [`check_name_part`] says.
pub fn check_label_value(v: &str) -> Result<(), String> {
    if v.is_empty() {
        return Ok(());
    }
    check_name_part(v, "a label value")
}

/// The closest DNS-1123 subdomain to `name` (lowercase, other characters as `-`), for a
/// fix-it: `Load_Test` → `load-test`.
pub fn dns_fix(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if alnum(c) || c == '.' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches(|c| c == '-' || c == '.');
    let fixed: String = out.chars().take(253).collect();
    if fixed.is_empty() {
        "loadtest".into()
    } else {
        fixed
    }
}

/// The closest label value to `value` (other characters as `-`, alphanumeric at both
/// ends, at most 63 characters): `-bad` → `bad`.
pub fn label_value_fix(value: &str) -> String {
    let mapped: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    mapped
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

/// The closest qualified name to `key`: the prefix as [`dns_fix`], the name as
/// [`label_value_fix`] (`Acme.com/Team Name` → `acme.com/Team-Name`).
pub fn qualified_name_fix(key: &str) -> String {
    let fix_name = |n: &str| {
        let n = label_value_fix(n);
        if n.is_empty() {
            "team".to_string()
        } else {
            n
        }
    };
    match key.rsplit_once('/') {
        Some((p, n)) => format!("{}/{}", dns_fix(p), fix_name(n)),
        None => fix_name(key),
    }
}

/// Why a label or annotation key is Volley's own, if it is.
pub fn reserved_key(key: &str, labels: bool) -> Option<String> {
    if key.starts_with(VOLLEY_PREFIX) {
        return Some(format!(
            "Volley keeps the `{VOLLEY_PREFIX}` prefix for its run labels"
        ));
    }
    (labels && RESERVED_LABELS.contains(&key))
        .then(|| format!("Volley sets `{key}` on every pod of the run"))
}

/// An environment variable name as Kubernetes accepts it: letters, digits, `_`, `-` and
/// `.`, not starting with a digit.
pub fn check_env_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    {
        return Err("it may hold only letters, digits, `_`, `-` and `.`".into());
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err("it starts with a digit".into());
    }
    Ok(())
}

/// Why an environment variable name is Volley's own, if it is.
pub fn reserved_env(name: &str) -> Option<String> {
    if name.starts_with("VOLLEY_") {
        return Some("`VOLLEY_*` variables are set and read by Volley".into());
    }
    RESERVED_ENV
        .contains(&name)
        .then(|| format!("Kubernetes sets `{name}` and the runner reads it"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities_read_as_kubernetes_writes_them() {
        assert_eq!(cpu_millis("500m"), Ok(500));
        assert_eq!(cpu_millis("1.5"), Ok(1500));
        assert_eq!(cpu_millis("2"), Ok(2000));
        assert_eq!(cpu_millis(" 250m "), Ok(250));
        assert!(cpu_millis("0.1m").is_err());
        assert!(cpu_millis("0.0005").is_err());
        assert!(
            matches!(cpu_millis("1.0005"), Err(QuantityError::Range(why)) if why.contains("fraction"))
        );
        assert!(matches!(
            cpu_millis("lots"),
            Err(QuantityError::Malformed { .. })
        ));
        assert!(cpu_millis("-1").is_err());
        assert!(cpu_millis("250ms").is_err());
        assert!(cpu_millis("m").is_err());
    }

    #[test]
    fn memory_quantities_take_every_suffix() {
        assert_eq!(memory_bytes("1Gi"), Ok(1 << 30));
        assert_eq!(memory_bytes("512Mi"), Ok(512 << 20));
        assert_eq!(memory_bytes("1G"), Ok(1_000_000_000));
        assert_eq!(memory_bytes("1.5Gi"), Ok(3 << 29));
        assert_eq!(memory_bytes("128974848"), Ok(128974848));
        assert_eq!(memory_bytes("129e6"), Ok(129_000_000));
        assert_eq!(memory_bytes("64KB"), Ok(64_000));
        let fix = |t| match memory_bytes(t) {
            Err(QuantityError::Malformed { fix, .. }) => fix,
            other => panic!("{t}: {other:?}"),
        };
        assert_eq!(fix("1gi"), "\"1Gi\"");
        assert_eq!(fix("512m"), "\"512Mi\"", "millibytes are never meant");
        assert_eq!(fix("1Xi"), "\"1Mi\"");
        assert!(matches!(memory_bytes("0Mi"), Err(QuantityError::Range(_))));
        assert!(memory_bytes("0Mi").is_err());
        assert!(memory_bytes("Mi").is_err());
        assert!(memory_bytes("1Xi").is_err());
    }

    #[test]
    fn names_follow_dns_1123() {
        assert!(check_dns_label("api-keys").is_ok());
        assert!(check_dns_label("Api").is_err());
        assert!(check_dns_label("-a").is_err());
        assert!(check_dns_label(&"a".repeat(64)).is_err());
        assert!(check_dns_subdomain("registry.acme-1").is_ok());
        assert!(check_dns_subdomain("a..b").is_err());
        assert!(check_dns_subdomain("a_b").is_err());
    }

    #[test]
    fn label_keys_and_values_follow_kubernetes() {
        assert!(check_qualified_name("team").is_ok());
        assert!(check_qualified_name("acme.com/cost-center").is_ok());
        assert!(check_qualified_name("Team_A.b").is_ok());
        assert!(check_qualified_name("acme.com/").is_err());
        assert!(check_qualified_name("ACME.com/x").is_err());
        assert!(check_qualified_name("a b").is_err());
        assert!(check_qualified_name(&"k".repeat(64)).is_err());
        assert!(check_label_value("").is_ok());
        assert!(check_label_value("eu-west_1.a").is_ok());
        assert!(check_label_value("-x").is_err());
        assert!(check_label_value("a/b").is_err());
        assert!(reserved_key("volley.dev/run", false).is_some());
        assert!(reserved_key("app.kubernetes.io/component", true).is_some());
        assert!(reserved_key("app.kubernetes.io/component", false).is_none());
        assert!(reserved_key("app.kubernetes.io/team", true).is_none());
    }

    #[test]
    fn env_names_and_volleys_own() {
        assert!(check_env_name("REGION").is_ok());
        assert!(check_env_name("my.var-1").is_ok());
        assert!(check_env_name("1X").is_err());
        assert!(check_env_name("A B").is_err());
        assert!(reserved_env("VOLLEY_TOKEN").is_some());
        assert!(reserved_env("JOB_COMPLETION_INDEX").is_some());
        assert!(reserved_env("REGION").is_none());
    }

    #[test]
    fn fixes_are_valid_names() {
        assert_eq!(dns_fix("Load_Test"), "load-test");
        assert_eq!(dns_fix("__"), "loadtest");
        assert!(check_dns_subdomain(&dns_fix("Reg Cred!")).is_ok());
        assert_eq!(label_value_fix("-bad"), "bad");
        assert_eq!(
            qualified_name_fix("Acme.com/Team Name"),
            "acme.com/Team-Name"
        );
        assert!(check_qualified_name(&qualified_name_fix("a/-")).is_ok());
        assert_eq!(label_value_fix("eu west/1"), "eu-west-1");
        assert!(check_label_value(&label_value_fix(&"x".repeat(80))).is_ok());
    }
}
