//! Completion. After a `.`: the fields of a record (a data row: `users.next().`, a `let`
//! bound to one), the members of a response, JSON, HTML, string or list value, the items
//! of an imported module, identity values (`vu.`) and setup's values. Inside a call:
//! the parameters of a workload, the options of a request, a flow's parameters. In a
//! `scenario` or `fleet` block: its fields. Everywhere: the names in scope, the built-in
//! functions and workloads, and the standard library's functions (with the import they
//! need when the file lacks it).
//!
//! A line being typed often does not parse (`user.`): the type of the value before the
//! dot then comes from analysing the text with the member access left out.

use crate::analysis::{normalise, Analysis};
use crate::index::{DefKind, Index, ModRef, Target};
use crate::nav::mod_key;
use crate::server::{doc_path, Server};
use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionResponse, Position, Range,
    TextDocumentPositionParams, TextEdit,
};
use std::collections::BTreeSet;
use volley_compiler::editor;
use volley_compiler::types::Type;
use volley_syntax::ast::ItemKind;

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The start of the identifier that ends at `end`.
fn word_start(text: &str, end: usize) -> usize {
    text[..end]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident(*c))
        .last()
        .map_or(end, |(i, _)| i)
}

/// The start of the postfix chain (`a.b(x)[1].c`) that ends at `end`.
fn chain_start(text: &str, end: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = end;
    loop {
        // A closing group: skip back to its opening bracket.
        if i > 0 && (bytes[i - 1] == b')' || bytes[i - 1] == b']') {
            let mut depth = 0i32;
            let mut j = i;
            while j > 0 {
                j -= 1;
                match bytes[j] {
                    b')' | b']' => depth += 1,
                    b'(' | b'[' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    b'\n' if depth > 0 && j + 2000 < i => return i,
                    _ => {}
                }
            }
            if depth != 0 {
                return i;
            }
            i = j;
        }
        let w = word_start(text, i);
        if w == i {
            return i;
        }
        i = w;
        if i > 0 && bytes[i - 1] == b'.' {
            i -= 1;
        } else {
            return i;
        }
    }
}

fn item(label: &str, kind: CompletionItemKind, detail: impl Into<String>) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: Some(detail.into()),
        ..Default::default()
    }
}

fn def_kind(k: DefKind) -> CompletionItemKind {
    match k {
        DefKind::Fn | DefKind::Flow => CompletionItemKind::FUNCTION,
        DefKind::Param | DefKind::Let => CompletionItemKind::CONSTANT,
        DefKind::Data | DefKind::Target | DefKind::Metric | DefKind::Secret => {
            CompletionItemKind::VALUE
        }
        DefKind::Scenario => CompletionItemKind::CLASS,
        _ => CompletionItemKind::VARIABLE,
    }
}

/// `json(path)` → `json`; `.field` and `[index]` are not members to insert.
fn member_name(m: &str) -> Option<&str> {
    let name = m.split('(').next().unwrap_or(m);
    (!name.is_empty() && name.chars().all(is_ident)).then_some(name)
}

fn members_of(ty: &Type) -> Vec<CompletionItem> {
    let mut out = Vec::new();
    if let Type::Record(fields) = ty {
        for (n, t) in fields {
            out.push(item(n, CompletionItemKind::FIELD, t.to_string()));
        }
        return out;
    }
    let mut fields: Vec<(&str, &str)> = Vec::new();
    if *ty == Type::Response {
        fields = vec![
            ("status", "int"),
            ("duration", "duration"),
            ("body", "string"),
            ("size", "size"),
            ("wire_size", "size"),
            ("cookies", "json"),
        ];
    }
    for (n, t) in &fields {
        out.push(item(n, CompletionItemKind::FIELD, *t));
    }
    for m in editor::members(ty) {
        let Some(name) = member_name(m) else { continue };
        if fields.iter().any(|(f, _)| *f == name) || out.iter().any(|i| i.label == name) {
            continue;
        }
        let kind = if m.contains('(') {
            CompletionItemKind::METHOD
        } else {
            CompletionItemKind::FIELD
        };
        out.push(item(name, kind, m));
    }
    out
}

/// The items of a module (its top-level definitions).
fn module_items(server: &Server, path: &std::path::Path, m: &ModRef) -> Vec<CompletionItem> {
    let Some(info) = server.module(&mod_key(path, m)) else {
        return Vec::new();
    };
    let Some(index) = &info.index else {
        return Vec::new();
    };
    index
        .defs
        .iter()
        .filter(|d| d.visible.is_none() && d.kind != DefKind::Scenario)
        .map(|d| {
            item(
                &d.name,
                def_kind(d.kind),
                crate::hover::signature(&info.text, d),
            )
        })
        .collect()
}

/// The type of the chain `start..end` (the text before a dot) from `a`.
fn chain_type(a: &Analysis, start: usize, end: usize) -> Option<Type> {
    a.types
        .iter()
        .filter(|t| t.loc.span.start == start && t.loc.span.end == end && !t.ty.is_error())
        .map(|t| t.ty.clone())
        .next()
}

/// Completion after `base.` where the text before the dot ends at `dot`.
fn after_dot(
    server: &mut Server,
    p: &TextDocumentPositionParams,
    a: &Analysis,
    dot: usize,
    offset: usize,
) -> Vec<CompletionItem> {
    let path = normalise(&doc_path(&p.text_document.uri));
    let start = chain_start(&a.text, dot);
    let base = &a.text[start..dot];
    // A bare name: a module, a namespace, setup or a data source.
    if base.chars().all(is_ident) {
        // The index of the text as it was before the dot, when the line does not parse.
        let fallback;
        let index: Option<&Index> = match a.index() {
            Some(ix) => Some(ix),
            None => {
                let mut text = a.text.clone();
                text.replace_range(dot..offset, "");
                let (file, _) = volley_syntax::parse(&text);
                fallback = file.as_ref().map(Index::build);
                fallback.as_ref()
            }
        };
        if let Some(index) = index {
            if let Some((_, Target::Module(m))) = index.imported.iter().find(|(n, _)| n == base) {
                return module_items(server, &path, m);
            }
            if base == "setup" {
                return index
                    .setup_values
                    .iter()
                    .map(|&i| {
                        item(
                            &index.defs[i].name,
                            CompletionItemKind::FIELD,
                            "setup value",
                        )
                    })
                    .collect();
            }
            let data = index
                .visible_at(dot)
                .into_iter()
                .any(|i| index.defs[i].name == base && index.defs[i].kind == DefKind::Data);
            if data {
                return vec![item(
                    "next",
                    CompletionItemKind::METHOD,
                    "next(): the next row",
                )];
            }
        }
        if let Some((ns, values)) = editor::identities().into_iter().find(|(n, _)| *n == base) {
            return values
                .iter()
                .map(|v| item(v, CompletionItemKind::FIELD, format!("{ns}.{v}")))
                .collect();
        }
    }
    // A value: its type, from this text or from the text without `.prefix`.
    let ty = chain_type(a, start, dot).or_else(|| {
        let mut text = a.text.clone();
        text.replace_range(dot..offset, "");
        let other = server.analyse_as(&p.text_document.uri, &text)?;
        chain_type(&other, start, dot)
    });
    ty.map(|t| members_of(&t)).unwrap_or_default()
}

/// The callee of the call whose argument list holds `offset`, if any (`constant_vus`).
fn enclosing_call(text: &str, offset: usize) -> Option<String> {
    let bytes = text.as_bytes();
    let mut depth = 0i32;
    let mut i = offset;
    let limit = offset.saturating_sub(4000);
    while i > limit {
        i -= 1;
        match bytes[i] {
            b')' | b']' | b'}' => depth += 1,
            b'[' | b'{' => {
                if depth == 0 {
                    return None;
                }
                depth -= 1;
            }
            b'(' => {
                if depth == 0 {
                    let w = word_start(text, i);
                    return (w < i).then(|| text[w..i].to_string());
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    None
}

fn named_args(a: &Analysis, callee: &str) -> Vec<CompletionItem> {
    let arg = |n: &str, detail: String| CompletionItem {
        insert_text: Some(format!("{n}: ")),
        ..item(n, CompletionItemKind::PROPERTY, detail)
    };
    if let Some((_, params)) = editor::workloads().into_iter().find(|(w, _)| *w == callee) {
        return params
            .iter()
            .map(|(n, has_default)| {
                let d = if *has_default { "optional" } else { "required" };
                arg(n, format!("{callee} parameter ({d})"))
            })
            .collect();
    }
    if editor::request_methods().contains(&callee) || callee == "request" {
        return editor::request_options()
            .iter()
            .map(|o| arg(o, "request option".into()))
            .collect();
    }
    if let Some(index) = a.index() {
        if let Some(i) = index.item(callee) {
            return index
                .defs
                .iter()
                .filter(|d| d.parent == Some(i) && d.kind == DefKind::Parameter)
                .map(|d| arg(&d.name, format!("parameter of {callee}")))
                .collect();
        }
    }
    Vec::new()
}

/// The block item (`scenario`, `fleet`) whose braces hold `offset` at their top level.
fn block_fields(a: &Analysis, offset: usize) -> Vec<CompletionItem> {
    let (file, _) = volley_syntax::parse(&a.text);
    let Some(file) = file else { return Vec::new() };
    for it in &file.items {
        if !(it.span.start < offset && offset < it.span.end) {
            continue;
        }
        let names = match &it.kind {
            ItemKind::Scenario { .. } => {
                let mut n = editor::scenario_fields();
                n.push("iteration");
                n
            }
            ItemKind::Fleet(_) => editor::fleet_fields(),
            _ => return Vec::new(),
        };
        return names
            .into_iter()
            .map(|n| item(n, CompletionItemKind::PROPERTY, "field"))
            .collect();
    }
    Vec::new()
}

/// Names in scope, built-ins and the standard library.
fn names(a: &Analysis, offset: usize) -> Vec<CompletionItem> {
    let mut out = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let push = |out: &mut Vec<CompletionItem>, seen: &mut BTreeSet<String>, i: CompletionItem| {
        if seen.insert(i.label.clone()) {
            out.push(i);
        }
    };
    if let Some(index) = a.index() {
        for i in index.visible_at(offset).into_iter().rev() {
            let d = &index.defs[i];
            let detail = crate::hover::signature(&a.text, d);
            push(&mut out, &mut seen, item(&d.name, def_kind(d.kind), detail));
        }
        for (n, t) in &index.imported {
            let kind = match t {
                Target::Module(_) => CompletionItemKind::MODULE,
                _ => CompletionItemKind::FUNCTION,
            };
            push(&mut out, &mut seen, item(n, kind, "imported"));
        }
    }
    for (ns, _) in editor::identities() {
        push(
            &mut out,
            &mut seen,
            item(ns, CompletionItemKind::MODULE, "identity values"),
        );
    }
    push(
        &mut out,
        &mut seen,
        item("setup", CompletionItemKind::MODULE, "setup values"),
    );
    for (w, _) in editor::workloads() {
        let sig = crate::vocab::workload_signature(w).unwrap_or_default();
        push(
            &mut out,
            &mut seen,
            item(w, CompletionItemKind::FUNCTION, sig),
        );
    }
    for m in editor::request_methods().iter().chain(["request"].iter()) {
        push(
            &mut out,
            &mut seen,
            item(m, CompletionItemKind::FUNCTION, "HTTP request"),
        );
    }
    for (b, place) in editor::placed_builtins() {
        push(
            &mut out,
            &mut seen,
            item(b, CompletionItemKind::FUNCTION, format!("used {place}")),
        );
    }
    for (m, kind) in editor::builtin_metrics() {
        push(
            &mut out,
            &mut seen,
            item(
                m,
                CompletionItemKind::VALUE,
                format!("built-in {kind} metric"),
            ),
        );
    }
    for k in crate::vocab::KEYWORDS {
        push(
            &mut out,
            &mut seen,
            item(k, CompletionItemKind::KEYWORD, "keyword"),
        );
    }
    // The standard library's functions, with their import when the file lacks it.
    let at = import_position(a);
    for (module, source) in editor::std_modules() {
        let (file, _) = volley_syntax::parse(source);
        let Some(file) = file else { continue };
        let index = Index::build(&file);
        for d in index.defs.iter().filter(|d| d.visible.is_none()) {
            if seen.contains(&d.name) || d.name.starts_with("__") {
                continue;
            }
            let mut it = item(
                &d.name,
                def_kind(d.kind),
                format!("std/{module}: {}", crate::hover::signature(source, d)),
            );
            if let Some(import) = editor::std_import_for(&d.name) {
                it.additional_text_edits = Some(vec![TextEdit::new(
                    Range::new(at, at),
                    format!("{import}\n"),
                )]);
            }
            push(&mut out, &mut seen, it);
        }
    }
    out
}

/// Where a new import line goes.
fn import_position(a: &Analysis) -> Position {
    let mut line = 0u32;
    for (i, l) in a.text.lines().enumerate() {
        if l.trim_start().starts_with("import ") {
            line = i as u32 + 1;
        }
    }
    Position::new(line, 0)
}

pub fn complete(server: &mut Server, p: &TextDocumentPositionParams) -> Option<CompletionResponse> {
    let a = server.analysis(&p.text_document.uri)?;
    let offset = a.lines.offset(&a.text, p.position);
    let start = word_start(&a.text, offset);
    let before = a.text[..start].chars().next_back();
    if before == Some('.') {
        let items = after_dot(server, p, &a, start - 1, offset);
        return Some(CompletionResponse::Array(items));
    }
    let mut items = Vec::new();
    if let Some(callee) = enclosing_call(&a.text, start) {
        items.extend(named_args(&a, &callee));
    } else {
        items.extend(block_fields(&a, start));
    }
    items.extend(names(&a, offset));
    Some(CompletionResponse::Array(items))
}
