//! `env("NAME", "default")`: plain configuration read from the environment at run time,
//! on the machine or pod that runs the code (a string; the default when the variable is
//! unset). The name must be a constant variable name; a name that looks like a
//! credential (`API_TOKEN`, `DB_PASSWORD`, `SIGNING_KEY`...) is an error pointing to
//! `secret`, which keeps the value out of logs, tags and URLs.

use super::{Checker, Ctx};
use crate::codes;
use crate::ir::{Const, Expr, ExprKind, Intrinsic, Origin};
use crate::types::Type;
use volley_syntax::ast;

/// Words (between `_`) that make a variable name a credential's, and endings that do
/// inside one word (`APITOKEN`, `DBPASSWORD`).
const CREDENTIAL_WORDS: &[&str] = &[
    "TOKEN",
    "TOKENS",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "PASS",
    "PWD",
    "SECRET",
    "SECRETS",
    "KEY",
    "KEYS",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "AUTH",
    "AUTHORIZATION",
    "PRIVATE",
    "COOKIE",
    "SESSION",
    "JWT",
    "BEARER",
];
const CREDENTIAL_ENDINGS: &[&str] = &["TOKEN", "PASSWORD", "PASSWD", "SECRET", "APIKEY"];

/// Whether `name` looks like a credential's variable.
pub(crate) fn looks_like_credential(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper
        .split('_')
        .any(|w| CREDENTIAL_WORDS.contains(&w) || CREDENTIAL_ENDINGS.iter().any(|e| w.ends_with(e)))
}

fn valid_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl<'a> Checker<'a> {
    /// `env("NAME")` or `env("NAME", "default")` outside a `secret`.
    pub(crate) fn env_call(&mut self, cx: &mut Ctx, e: &ast::Expr, args: &[ast::Arg]) -> Expr {
        let loc = cx.loc(e.span);
        if args.is_empty() || args.len() > 2 || args.iter().any(|a| a.name.is_some()) {
            let d = codes::arg_count(e.span, "env", "a name and an optional default", args.len());
            return self.fail(cx, d, e.span);
        }
        let name_arg = &args[0].value;
        let name = super::items::literal_string(name_arg);
        let Some(name) = name.filter(|n| valid_name(n)) else {
            return self.fail(cx, codes::bad_env_name(name_arg.span), name_arg.span);
        };
        if looks_like_credential(&name) {
            return self.fail(
                cx,
                codes::env_credential(name_arg.span, &name),
                name_arg.span,
            );
        }
        let default = match args.get(1) {
            Some(a) => {
                let x = self.expr(cx, &a.value);
                if x.ty.is_error() || !self.expect(cx, &x, &Type::Str, "") {
                    return self.error_expr(loc);
                }
                x
            }
            None => self.const_expr(
                Const::Str(String::new()),
                Type::Str,
                vec![Origin::Literal],
                loc,
            ),
        };
        let mut origins = vec![Origin::Param(format!("env:{name}"))];
        crate::ir::merge_origins(&mut origins, &default.origins);
        let name = self.const_expr(
            Const::Str(name),
            Type::Str,
            vec![Origin::Literal],
            cx.loc(name_arg.span),
        );
        Expr {
            kind: ExprKind::Intrinsic(Intrinsic::Env, vec![name, default]),
            ty: Type::Str,
            konst: None,
            comptime: false,
            origins,
            loc,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_names_are_recognised() {
        for n in [
            "API_TOKEN",
            "db_password",
            "SIGNING_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "GITHUB_APITOKEN",
            "PASS",
            "SESSION_COOKIE",
        ] {
            assert!(looks_like_credential(n), "{n}");
        }
        for n in [
            "REGION",
            "BASE_URL",
            "MONKEY",
            "KEYBOARD_LAYOUT",
            "PAGE_SIZE",
            "PASSENGERS",
        ] {
            assert!(!looks_like_credential(n), "{n}");
        }
    }
}
