//! Hover: what a name is (its declaration, or a built-in's description) and the type of
//! the expression under the cursor with its unit and, when known at compile time, its
//! value (`duration = 2m`).

use crate::analysis::normalise;
use crate::index::{Def, DefKind, Occurrence, Target};
use crate::nav::mod_key;
use crate::server::{doc_path, Server};
use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind, TextDocumentPositionParams};
use volley_compiler::editor::{self, TypeAt};
use volley_compiler::types::Type;
use volley_syntax::ast::Span;

/// What a type's values measure.
fn unit_note(ty: &Type) -> Option<&'static str> {
    Some(match ty {
        Type::Duration => "a time span (milliseconds at run time)",
        Type::Rate => "a rate (per second at run time)",
        Type::Size => "a size (bytes at run time)",
        Type::Percent => "a percentage (a fraction at run time)",
        Type::Int => "a whole number",
        Type::Float => "a number",
        _ => return None,
    })
}

/// `type: duration (a time span …) = 2m`
pub fn type_line(t: &TypeAt) -> String {
    let mut s = format!("type: `{}`", t.ty);
    if let Some(n) = unit_note(&t.ty) {
        s.push_str(&format!(", {n}"));
    }
    if let Some(k) = &t.konst {
        let text = editor::const_text(k);
        if text.chars().count() <= 80 {
            s.push_str(&format!("; value `{text}`"));
        }
    }
    s
}

/// The declaration of `d` as one line: a flow's head without its body, a `let`'s line.
pub fn signature(text: &str, d: &Def) -> String {
    let full = text.get(d.full.start..d.full.end).unwrap_or("");
    let first = full.lines().next().unwrap_or("").trim();
    let head = match d.kind {
        DefKind::Flow | DefKind::Fn | DefKind::Scenario => {
            first.trim_end_matches('{').trim_end().to_string()
        }
        DefKind::LoopVar => format!("for {} in …", d.name),
        DefKind::Parameter => format!("{} (parameter)", full.trim()),
        _ => {
            if full.lines().count() > 1 {
                format!("{first} …")
            } else {
                first.to_string()
            }
        }
    };
    let mut head: String = head.chars().take(200).collect();
    if head.is_empty() {
        head = d.name.clone();
    }
    head
}

fn markdown(value: String, range: Option<lsp_types::Range>) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range,
    }
}

fn code(s: &str) -> String {
    format!("```volley\n{s}\n```")
}

pub fn hover(server: &mut Server, p: &TextDocumentPositionParams) -> Option<Hover> {
    let uri = &p.text_document.uri;
    let a = server.analysis(uri)?;
    let offset = a.lines.offset(&a.text, p.position);
    let path = normalise(&doc_path(uri));
    let mut parts: Vec<String> = Vec::new();
    let mut span: Option<Span> = None;
    let mut typed: Option<&TypeAt> = None;
    // The type a declaration writes (a parameter's), when the checker did not reach it.
    let mut declared: Option<String> = None;
    if let Some(index) = a.index() {
        match index.at(offset) {
            Some(Occurrence::Def(i)) => {
                let d = &index.defs[i];
                span = Some(d.span);
                parts.push(code(&signature(&a.text, d)));
                typed = d.value.and_then(|v| a.type_of(v));
                declared = declared_type(&a.text, d);
            }
            Some(Occurrence::Ref(r)) => {
                let r = &index.refs[r];
                span = Some(r.span);
                match &r.target {
                    Target::Def(i) => {
                        let d = &index.defs[*i];
                        parts.push(code(&signature(&a.text, d)));
                        typed = a
                            .type_of(r.span)
                            .or_else(|| d.value.and_then(|v| a.type_of(v)));
                        declared = declared_type(&a.text, d);
                    }
                    Target::Item(m, name) => {
                        let key = mod_key(&path, m);
                        if let Some(info) = server.module(&key) {
                            if let Some(d) = info
                                .index
                                .as_ref()
                                .and_then(|ix| ix.item(name).map(|i| ix.defs[i].clone()))
                            {
                                parts.push(code(&signature(&info.text, &d)));
                            }
                        }
                        parts.push(format!("from `{}`", module_name(m)));
                        typed = a.type_of(r.span);
                    }
                    Target::Module(m) => parts.push(format!("module `{}`", module_name(m))),
                    Target::Namespace(ns) => parts.push(crate::vocab::describe_namespace(ns)),
                    Target::Builtin(b) => parts.extend(crate::vocab::describe(b)),
                }
            }
            None => {}
        }
    }
    if typed.is_none() && span.is_none() {
        typed = a.type_at(offset);
        span = typed.map(|t| t.loc.span);
    }
    if let Some(t) = typed.filter(|t| !t.ty.is_error()) {
        parts.push(type_line(t));
    } else if let Some(ty) = declared {
        parts.push(format!("type: `{ty}`"));
    }
    if parts.is_empty() {
        return None;
    }
    let range = span.map(|s| a.lines.range(&a.text, s));
    Some(markdown(parts.join("\n\n"), range))
}

fn declared_type(text: &str, d: &Def) -> Option<String> {
    let s = d.declared?;
    text.get(s.start..s.end).map(str::to_string)
}

fn module_name(m: &crate::index::ModRef) -> String {
    match m {
        crate::index::ModRef::Std(n) => format!("std/{n}"),
        crate::index::ModRef::File(p) => p.clone(),
    }
}
