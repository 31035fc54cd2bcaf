//! Parsing `--param NAME=VALUE` text per the param's declared type (`int`, `duration`
//! `2m`, `url`, `percent` `1%`, ...), and the literal syntax of units shared with it.
//! Pure: returns `None` when the text is not a value of the type.

use crate::ir::Const;
use crate::types::Type;

/// The param types a `param` may declare.
pub fn param_type(name: &str) -> Option<Type> {
    Some(match name {
        "int" => Type::Int,
        "float" => Type::Float,
        "bool" => Type::Bool,
        "string" => Type::Str,
        "duration" => Type::Duration,
        "url" => Type::Url,
        "percent" => Type::Percent,
        "rate" => Type::Rate,
        "size" => Type::Size,
        _ => return None,
    })
}

/// An example value of a type, for help texts.
pub fn example(ty: &Type) -> &'static str {
    match ty {
        Type::Int => "10",
        Type::Float => "1.5",
        Type::Bool => "true",
        Type::Duration => "2m",
        Type::Url => "https://staging.example.com",
        Type::Percent => "1%",
        Type::Rate => "200/s",
        Type::Size => "512Mi",
        _ => "text",
    }
}

/// Parses `text` as a value of `ty`.
pub fn parse_value(ty: &Type, text: &str) -> Option<Const> {
    let t = text.trim();
    match ty {
        Type::Int => t.parse::<i64>().ok().map(Const::Int),
        Type::Float => t
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Const::Float),
        Type::Bool => match t {
            "true" => Some(Const::Bool(true)),
            "false" => Some(Const::Bool(false)),
            _ => None,
        },
        Type::Str => Some(Const::Str(text.to_string())),
        Type::Url => check_url(t).ok().map(|_| Const::Url(t.to_string())),
        Type::Duration => parse_duration(t).map(Const::Duration),
        Type::Percent => {
            let n = t.strip_suffix('%')?;
            parse_number(n).map(|p| Const::Percent(p / 100.0))
        }
        Type::Rate => {
            let (n, per) = t.split_once('/')?;
            let unit = unit_ms(per.trim())?;
            parse_number(n.trim()).map(|v| Const::Rate(v * 1000.0 / unit))
        }
        Type::Size => parse_size(t).map(Const::Size),
        _ => None,
    }
}

fn parse_number(t: &str) -> Option<f64> {
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn unit_ms(u: &str) -> Option<f64> {
    Some(match u {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    })
}

/// `250ms`, `1.5s`, `2m`, `1h`, `10us` → milliseconds.
pub fn parse_duration(t: &str) -> Option<f64> {
    let split = t.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, u) = t.split_at(split);
    Some(parse_number(n)? * unit_ms(u)?)
}

/// `512Mi`, `1Gi`, `64KB`, `100B` → bytes.
pub fn parse_size(t: &str) -> Option<f64> {
    let split = t.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, u) = t.split_at(split);
    let unit = match u {
        "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(parse_number(n)? * unit)
}

/// Validates an absolute http(s) URL, or a WebSocket one (ws, wss: a target that only
/// `ws.connect` may use); the error says why not.
pub fn check_url(text: &str) -> Result<(), String> {
    let u = url::Url::parse(text).map_err(|e| e.to_string())?;
    if !matches!(u.scheme(), "http" | "https" | "ws" | "wss") {
        return Err(format!(
            "the scheme must be http or https (ws or wss for a WebSocket target), not `{}`",
            u.scheme()
        ));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("it has no host".into());
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err("a target URL has no query or fragment".into());
    }
    Ok(())
}

/// Validates an IPv4/IPv6 CIDR such as `10.20.0.0/16`.
pub fn check_cidr(text: &str) -> Result<(), String> {
    let (addr, bits) = text.split_once('/').ok_or("it has no `/PREFIX`")?;
    let bits: u8 = bits
        .parse()
        .map_err(|_| "the prefix length is not a number".to_string())?;
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) if bits <= 32 => Ok(()),
        Ok(std::net::IpAddr::V6(_)) if bits <= 128 => Ok(()),
        Ok(_) => Err("the prefix length is too long".into()),
        Err(_) => Err(format!("`{addr}` is not an IP address")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_per_type() {
        assert_eq!(parse_value(&Type::Int, "200"), Some(Const::Int(200)));
        assert_eq!(parse_value(&Type::Int, "abc"), None);
        assert_eq!(
            parse_value(&Type::Duration, "2m"),
            Some(Const::Duration(120_000.0))
        );
        assert_eq!(parse_value(&Type::Duration, "2"), None);
        assert_eq!(
            parse_value(&Type::Percent, "1%"),
            Some(Const::Percent(0.01))
        );
        assert_eq!(
            parse_value(&Type::Rate, "5/m"),
            Some(Const::Rate(5.0 / 60.0))
        );
        assert_eq!(
            parse_value(&Type::Size, "512Mi"),
            Some(Const::Size(512.0 * 1024.0 * 1024.0))
        );
        assert!(parse_value(&Type::Url, "https://x.example.com").is_some());
        assert!(parse_value(&Type::Url, "not a url").is_none());
        assert_eq!(parse_value(&Type::Bool, "yes"), None);
    }

    #[test]
    fn cidrs() {
        assert!(check_cidr("10.20.0.0/16").is_ok());
        assert!(check_cidr("10.20.0.0").is_err());
        assert!(check_cidr("10.20.0.0/33").is_err());
        assert!(check_cidr("::1/128").is_ok());
    }
}
