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
//!
//! Where the shape of a JSON value is known ([`crate::shapes`]: a JSON data file, or the
//! paths the file reads from the same request), its keys complete after a dot
//! (`o.address.`) and inside the path string of `res.json("items[0].")`.

use crate::analysis::{normalise, Analysis};
use crate::index::{DefKind, Index, ModRef, Target};
use crate::nav::mod_key;
use crate::server::{doc_path, Server};
use crate::shapes;
use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionResponse, Position, Range,
    TextDocumentPositionParams, TextEdit,
};
use std::collections::BTreeSet;
use volley_compiler::editor;
use volley_compiler::types::Type;
use volley_syntax::ast::{ItemKind, Span};

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
            ("url", "string"),
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
    let keys = json_keys(
        server,
        p,
        a,
        Span::new(start, dot),
        offset,
        KeyPlace::AfterDot,
    );
    let members = ty.as_ref().map(members_of).unwrap_or_default();
    // A record's own fields come first (the compiler's types); a json value's known
    // keys before its methods.
    let (first, second) = match ty {
        Some(Type::Record(_)) => (members, keys),
        _ => (keys, members),
    };
    let mut out = first;
    for i in second {
        if !out.iter().any(|o| o.label == i.label) {
            out.push(i);
        }
    }
    out
}

/// Where JSON keys are being completed.
#[derive(Clone, Copy, PartialEq)]
enum KeyPlace {
    /// After `value.`: the text from the dot to the cursor is replaced (a key that is not a
    /// word is written `["a key"]`).
    AfterDot,
    /// Inside the path string of `.json("..")`, after `path` (the steps before the word
    /// being typed).
    PathString { word: usize },
}

/// The texts to look for the value before the dot in: as it is, without the member
/// being typed, and without the rest of the line (a line being typed rarely parses).
/// Each with the cursor's offset in it when the text being typed is still there.
fn candidate_texts(text: &str, dot: usize, offset: usize) -> Vec<(String, Option<usize>)> {
    let eol = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let mut cut = text.to_string();
    cut.replace_range(dot..offset.max(dot), "");
    let mut line = text.to_string();
    line.replace_range(dot..eol.max(dot), "");
    vec![(text.to_string(), Some(offset)), (cut, None), (line, None)]
}

/// The keys of the JSON value `base` (with `path` more steps, in a path string) where its
/// shape is known.
fn json_keys(
    server: &Server,
    p: &TextDocumentPositionParams,
    a: &Analysis,
    base: Span,
    offset: usize,
    place: KeyPlace,
) -> Vec<CompletionItem> {
    let path_steps = match place {
        KeyPlace::AfterDot => Vec::new(),
        KeyPlace::PathString { word } => {
            let written = a.text[base.end..word]
                .split_once('"')
                .map_or("", |(_, w)| w)
                .trim_end_matches('.');
            match shapes::parse_path(written) {
                Some(steps) => steps,
                None => return Vec::new(),
            }
        }
    };
    for (text, typing) in candidate_texts(&a.text, base.end, offset) {
        let (file, _) = volley_syntax::parse(&text);
        let Some(file) = file else { continue };
        let walk = shapes::Walk::new(&file);
        let Some(expr) = walk.expr_at(base) else {
            continue;
        };
        let Some(mut origin) = walk.origin(expr) else {
            return Vec::new();
        };
        // In a path string the value before `.json(` is the response itself.
        if let KeyPlace::PathString { .. } = place {
            if !origin.response {
                return Vec::new();
            }
            origin.response = false;
            origin.path = path_steps.clone();
        } else if origin.response {
            return Vec::new();
        }
        let (shape, source) = match &origin.root {
            shapes::Root::Data(file) => {
                let dir = crate::analysis::Place::of(&doc_path(&p.text_document.uri)).dir;
                match shapes::data_shape(&dir, server.allowed_paths(), file) {
                    Some(s) => (s.at(&origin.path).cloned(), format!("in {file}")),
                    None => return Vec::new(),
                }
            }
            shapes::Root::Request(key) => {
                let usage = walk.usage(typing);
                (
                    usage.get(key).and_then(|s| s.at(&origin.path)).cloned(),
                    format!("read from {key} in this file"),
                )
            }
        };
        let Some(shape) = shape else {
            return Vec::new();
        };
        return shape
            .fields
            .iter()
            .filter_map(|(k, s)| {
                let detail = format!("json {}: {source}", s.describe());
                let word = !k.is_empty() && k.chars().all(is_ident);
                match (place, word) {
                    (_, true) => Some(item(k, CompletionItemKind::FIELD, detail)),
                    (KeyPlace::AfterDot, false) => {
                        let new = format!("[{}]", serde_json::Value::from(k.as_str()));
                        let range = a.lines.range(&a.text, Span::new(base.end, offset));
                        Some(CompletionItem {
                            filter_text: Some(k.clone()),
                            text_edit: Some(lsp_types::CompletionTextEdit::Edit(TextEdit::new(
                                range,
                                new.clone(),
                            ))),
                            ..item(&new, CompletionItemKind::FIELD, detail)
                        })
                    }
                    (KeyPlace::PathString { .. }, false) => None,
                }
            })
            .collect();
    }
    Vec::new()
}

/// Inside the path string of `X.json("..`: the span of `X` and the start of the word
/// being typed.
fn in_json_path(text: &str, offset: usize) -> Option<(Span, usize)> {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let mut open = None;
    let mut escaped = false;
    for (i, c) in text[line_start..offset].char_indices() {
        match c {
            '\\' if open.is_some() && !escaped => {
                escaped = true;
                continue;
            }
            '"' if !escaped => {
                open = match open {
                    Some(_) => None,
                    None => Some(line_start + i),
                }
            }
            _ => {}
        }
        escaped = false;
    }
    let quote = open?;
    let dot = text[..quote].strip_suffix(".json(").map(str::len)?;
    let written = &text[quote + 1..offset];
    if written.contains(['{', '"']) {
        return None;
    }
    let start = chain_start(text, dot);
    (start < dot).then(|| (Span::new(start, dot), word_start(text, offset)))
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
    if let Some((base, word)) = in_json_path(&a.text, offset) {
        let place = KeyPlace::PathString { word };
        return Some(CompletionResponse::Array(json_keys(
            server, p, &a, base, offset, place,
        )));
    }
    if a.text[..offset].ends_with('"') {
        // A string just opened (`"` is a trigger character, for JSON paths).
        return Some(CompletionResponse::Array(Vec::new()));
    }
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
