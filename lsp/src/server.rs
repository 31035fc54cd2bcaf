//! The message loop, the open documents and the requests that need no more than one
//! document (diagnostics, code actions, symbols, formatting); hover, completion and
//! navigation live in their own modules.

use crate::actions;
use crate::analysis::{self, normalise, Analysis, Place};
use crate::index::{DefKind, Index};
use crate::line_index::LineIndex;
use crate::nav::Files;
use lsp_server::{Connection, Message, Notification, Request, Response};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams,
    CodeActionProviderCapability, CompletionOptions, CompletionParams, Diagnostic as LspDiag,
    DiagnosticRelatedInformation, DiagnosticSeverity, DidChangeTextDocumentParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, DocumentFormattingParams,
    DocumentSymbol, DocumentSymbolParams, DocumentSymbolResponse, GotoDefinitionParams,
    HoverParams, HoverProviderCapability, InitializeParams, Location, NumberOrString, OneOf,
    Position, PositionEncodingKind, PublishDiagnosticsParams, Range, ReferenceParams,
    RenameOptions, RenameParams, ServerCapabilities, SymbolKind, TextDocumentPositionParams,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextEdit, Url, WorkspaceEdit,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;
use volley_syntax::{Diagnostic, Severity};

/// One open document.
pub struct Doc {
    pub path: PathBuf,
    pub text: String,
    pub version: i32,
    /// The analysis of `text`, once made (dropped at each change).
    pub analysis: Option<Rc<Analysis>>,
}

pub struct Server {
    pub docs: HashMap<Url, Doc>,
    /// Documents changed since their diagnostics were last published, oldest first.
    dirty: Vec<Url>,
    pub files: Files,
    /// The directories `--allow-path` opened outside a test's folder.
    allowed: Vec<PathBuf>,
    /// The last parse of every file analysed (for reparsing only what an edit changed),
    /// and what analyses are done with, freed after publishing.
    kept: analysis::Kept,
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(PositionEncodingKind::UTF16),
        text_document_sync: Some(TextDocumentSyncCapability::Kind(
            TextDocumentSyncKind::INCREMENTAL,
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), "(".into(), "\"".into()]),
            ..Default::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        ..Default::default()
    }
}

/// Runs the server on `connection` until `shutdown` and `exit`; `allowed` are the
/// directories `--allow-path` opened (data and imports outside a test's folder).
pub fn serve(connection: &Connection, allowed: Vec<PathBuf>) -> Result<(), String> {
    let caps = serde_json::to_value(capabilities()).map_err(|e| e.to_string())?;
    let init = connection.initialize(caps).map_err(|e| e.to_string())?;
    let params: InitializeParams = serde_json::from_value(init).map_err(|e| e.to_string())?;
    let mut server = Server {
        docs: HashMap::new(),
        dirty: Vec::new(),
        files: Files::new(roots(&params)),
        allowed,
        kept: Default::default(),
    };
    server.run(connection)
}

/// The workspace folders the client opened (for references across files).
fn roots(params: &InitializeParams) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = params
        .workspace_folders
        .iter()
        .flatten()
        .filter_map(|f| f.uri.to_file_path().ok())
        .collect();
    #[allow(
        deprecated,
        reason = "clients that send no workspace folders send root_uri"
    )]
    let root = params.root_uri.as_ref();
    if out.is_empty() {
        out.extend(root.and_then(|u| u.to_file_path().ok()));
    }
    out
}

type Handled = Result<serde_json::Value, (i32, String)>;

fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, (i32, String)> {
    serde_json::from_value(v)
        .map_err(|e| (lsp_server::ErrorCode::InvalidParams as i32, e.to_string()))
}

fn json<T: serde::Serialize>(v: T) -> Handled {
    serde_json::to_value(v)
        .map_err(|e| (lsp_server::ErrorCode::InternalError as i32, e.to_string()))
}

impl Server {
    fn run(&mut self, conn: &Connection) -> Result<(), String> {
        loop {
            // Publish diagnostics only once no message waits: edits typed together are
            // analysed once.
            let msg = if self.dirty.is_empty() {
                match conn.receiver.recv() {
                    Ok(m) => m,
                    Err(_) => return Ok(()),
                }
            } else {
                match conn.receiver.try_recv() {
                    Ok(m) => m,
                    Err(e) if e.is_empty() => {
                        self.publish_dirty(conn)?;
                        continue;
                    }
                    Err(_) => return Ok(()),
                }
            };
            match msg {
                Message::Request(req) => {
                    if conn.handle_shutdown(&req).map_err(|e| e.to_string())? {
                        return Ok(());
                    }
                    let id = req.id.clone();
                    let resp = match self.request(req) {
                        Ok(v) => Response::new_ok(id, v),
                        Err((code, message)) => Response::new_err(id, code, message),
                    };
                    send(conn, Message::Response(resp))?;
                }
                Message::Notification(n) => {
                    if n.method == "exit" {
                        return Ok(());
                    }
                    self.notification(n);
                }
                Message::Response(_) => {}
            }
        }
    }

    fn request(&mut self, req: Request) -> Handled {
        let Request { method, params, .. } = req;
        match method.as_str() {
            "textDocument/hover" => {
                let p: HoverParams = parse(params)?;
                json(crate::hover::hover(self, &p.text_document_position_params))
            }
            "textDocument/completion" => {
                let p: CompletionParams = parse(params)?;
                json(crate::complete::complete(self, &p.text_document_position))
            }
            "textDocument/definition" => {
                let p: GotoDefinitionParams = parse(params)?;
                json(crate::nav::definition(
                    self,
                    &p.text_document_position_params,
                ))
            }
            "textDocument/references" => {
                let p: ReferenceParams = parse(params)?;
                json(crate::nav::references(
                    self,
                    &p.text_document_position,
                    p.context.include_declaration,
                ))
            }
            "textDocument/prepareRename" => {
                let p: TextDocumentPositionParams = parse(params)?;
                json(crate::nav::prepare_rename(self, &p))
            }
            "textDocument/rename" => {
                let p: RenameParams = parse(params)?;
                crate::nav::rename(self, &p.text_document_position, &p.new_name)
                    .map_err(|e| (lsp_server::ErrorCode::InvalidRequest as i32, e))
                    .and_then(json)
            }
            "textDocument/documentSymbol" => {
                let p: DocumentSymbolParams = parse(params)?;
                json(self.symbols(&p.text_document.uri))
            }
            "textDocument/formatting" => {
                let p: DocumentFormattingParams = parse(params)?;
                json(self.format(&p.text_document.uri))
            }
            "textDocument/codeAction" => {
                let p: CodeActionParams = parse(params)?;
                json(self.code_actions(&p))
            }
            _ => Err((
                lsp_server::ErrorCode::MethodNotFound as i32,
                format!("unsupported request {method}"),
            )),
        }
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            "textDocument/didOpen" => {
                if let Ok(p) = serde_json::from_value::<DidOpenTextDocumentParams>(n.params) {
                    let d = p.text_document;
                    let path = doc_path(&d.uri);
                    self.docs.insert(
                        d.uri.clone(),
                        Doc {
                            path,
                            text: d.text,
                            version: d.version,
                            analysis: None,
                        },
                    );
                    self.changed(&d.uri);
                }
            }
            "textDocument/didChange" => {
                if let Ok(p) = serde_json::from_value::<DidChangeTextDocumentParams>(n.params) {
                    let uri = p.text_document.uri;
                    if let Some(doc) = self.docs.get_mut(&uri) {
                        for c in p.content_changes {
                            match c.range {
                                Some(r) => {
                                    let ix = LineIndex::new(&doc.text);
                                    let s = ix.span(&doc.text, r);
                                    if s.start <= s.end {
                                        doc.text.replace_range(s.start..s.end, &c.text);
                                    }
                                }
                                None => doc.text = c.text,
                            }
                        }
                        doc.version = p.text_document.version;
                        self.changed(&uri);
                    }
                }
            }
            "textDocument/didClose" => {
                if let Ok(p) = serde_json::from_value::<DidCloseTextDocumentParams>(n.params) {
                    let path = self.docs.remove(&p.text_document.uri).map(|d| d.path);
                    self.dirty.retain(|u| *u != p.text_document.uri);
                    if let Some(path) = path {
                        self.dependents_changed(&path);
                    }
                }
            }
            "workspace/didChangeWatchedFiles" => {
                // A file changed on disk (an import saved elsewhere, `volley.toml`): every
                // open document is analysed again (files that are not open are read
                // afresh when their modification time changed).
                let uris: Vec<Url> = self.docs.keys().cloned().collect();
                for u in uris {
                    if let Some(d) = self.docs.get_mut(&u) {
                        d.analysis = None;
                    }
                    if !self.dirty.contains(&u) {
                        self.dirty.push(u);
                    }
                }
            }
            _ => {}
        }
    }

    /// A document's text changed: it and the open documents importing it are analysed
    /// again.
    fn changed(&mut self, uri: &Url) {
        let path = match self.docs.get_mut(uri) {
            Some(doc) => {
                if let Some(mut old) = doc.analysis.take() {
                    // The next parse reuses the AST's items when it alone holds them.
                    if let Some(a) = Rc::get_mut(&mut old) {
                        a.ast = None;
                    }
                    self.kept.spent.borrow_mut().push(Box::new(old));
                }
                doc.path.clone()
            }
            None => return,
        };
        self.files.forget(&path);
        if !self.dirty.contains(uri) {
            self.dirty.push(uri.clone());
        }
        self.dependents_changed(&path);
    }

    fn dependents_changed(&mut self, path: &Path) {
        let dependents: Vec<Url> = self
            .docs
            .iter()
            .filter(|(_, d)| {
                d.path != path && d.analysis.as_ref().is_some_and(|a| a.deps.contains(path))
            })
            .map(|(u, _)| u.clone())
            .collect();
        for u in dependents {
            if let Some(d) = self.docs.get_mut(&u) {
                d.analysis = None;
            }
            if !self.dirty.contains(&u) {
                self.dirty.push(u);
            }
        }
    }

    /// The open documents' texts by path, for the loader.
    fn open_texts(&self) -> HashMap<PathBuf, String> {
        self.docs
            .values()
            .map(|d| (normalise(&d.path), d.text.clone()))
            .collect()
    }

    /// The analysis of an open document's current text (made now if it is out of date).
    pub fn analysis(&mut self, uri: &Url) -> Option<Rc<Analysis>> {
        if let Some(a) = self.docs.get(uri).and_then(|d| d.analysis.clone()) {
            return Some(a);
        }
        let open = self.open_texts();
        let doc = self.docs.get_mut(uri)?;
        let started = Instant::now();
        let a = Rc::new(analysis::analyse(
            &Place::of(&doc.path),
            &doc.text,
            &open,
            &self.allowed,
            &self.kept,
        ));
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        doc.analysis = Some(a.clone());
        tracing::debug!("analysed {} in {ms:.1} ms", doc.path.display());
        Some(a)
    }

    /// Analyses `text` as if it were the document `uri`'s (for completion on a line
    /// being typed, which may not parse).
    pub fn analyse_as(&self, uri: &Url, text: &str) -> Option<Analysis> {
        let open = self.open_texts();
        let doc = self.docs.get(uri)?;
        Some(analysis::analyse(
            &Place::of(&doc.path),
            text,
            &open,
            &self.allowed,
            &self.kept,
        ))
    }

    fn publish_dirty(&mut self, conn: &Connection) -> Result<(), String> {
        let dirty = std::mem::take(&mut self.dirty);
        for uri in dirty {
            let Some(a) = self.analysis(&uri) else {
                continue;
            };
            let version = self.docs.get(&uri).map(|d| d.version);
            let diagnostics = lsp_diagnostics(&uri, &a);
            let params = PublishDiagnosticsParams::new(uri, diagnostics, version);
            let note = Notification::new("textDocument/publishDiagnostics".into(), params);
            send(conn, Message::Notification(note))?;
        }
        // Freed once the diagnostics are on their way.
        self.kept.spent.borrow_mut().clear();
        Ok(())
    }

    fn symbols(&mut self, uri: &Url) -> Option<DocumentSymbolResponse> {
        let a = self.analysis(uri)?;
        let index = a.index()?;
        Some(DocumentSymbolResponse::Nested(document_symbols(&a, index)))
    }

    fn format(&mut self, uri: &Url) -> Option<Vec<TextEdit>> {
        let doc = self.docs.get(uri)?;
        let formatted = volley_syntax::format(&doc.text).ok()?;
        if formatted == doc.text {
            return Some(Vec::new());
        }
        let ix = LineIndex::new(&doc.text);
        let end = ix.position(&doc.text, doc.text.len());
        Some(vec![TextEdit::new(
            Range::new(Position::new(0, 0), end),
            formatted,
        )])
    }

    fn code_actions(&mut self, p: &CodeActionParams) -> Option<Vec<CodeActionOrCommand>> {
        let uri = &p.text_document.uri;
        let a = self.analysis(uri)?;
        let want = a.lines.span(&a.text, p.range);
        let mut out = Vec::new();
        for d in &a.diagnostics {
            let Some(span) = d.span() else { continue };
            // The diagnostic's span touches the range asked about.
            if span.start > want.end || span.end < want.start {
                continue;
            }
            let shown = lsp_diagnostic(uri, &a, d);
            for fix in actions::fixes(d, &a.text) {
                let edits = fix
                    .edits
                    .iter()
                    .map(|(s, t)| TextEdit::new(a.lines.range(&a.text, *s), t.clone()))
                    .collect();
                out.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: fix.title,
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![shown.clone()]),
                    edit: Some(WorkspaceEdit {
                        changes: Some(HashMap::from([(uri.clone(), edits)])),
                        ..Default::default()
                    }),
                    is_preferred: Some(fix.preferred),
                    ..Default::default()
                }));
            }
        }
        Some(out)
    }
}

impl Server {
    /// The directories `--allow-path` opened outside a test's folder.
    pub fn allowed_paths(&self) -> &[PathBuf] {
        &self.allowed
    }
}

fn send(conn: &Connection, msg: Message) -> Result<(), String> {
    conn.sender.send(msg).map_err(|e| e.to_string())
}

/// The file a document URI names (an `untitled:` document lives in the current
/// directory).
pub fn doc_path(uri: &Url) -> PathBuf {
    uri.to_file_path().unwrap_or_else(|_| {
        let name = uri
            .path_segments()
            .and_then(|mut s| s.next_back().map(str::to_string))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "untitled.load".into());
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(name)
    })
}

fn severity(s: Severity) -> DiagnosticSeverity {
    match s {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Info => DiagnosticSeverity::INFORMATION,
    }
}

/// One compiler diagnostic of the document as LSP shows it: the message with its help,
/// secondary labels and places in other files as related information.
fn lsp_diagnostic(uri: &Url, a: &Analysis, d: &Diagnostic) -> LspDiag {
    let range = d
        .span()
        .map(|s| a.lines.range(&a.text, s))
        .unwrap_or_default();
    let mut message = d.message.clone();
    if let Some(l) = d.labels.iter().find(|l| l.primary && !l.text.is_empty()) {
        message.push_str(&format!(" ({})", l.text));
    }
    if let Some(h) = &d.help {
        message.push_str(&format!("\nhelp: {h}"));
    }
    let mut related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .filter(|l| !l.primary)
        .map(|l| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), a.lines.range(&a.text, l.span)),
            message: l.text.clone(),
        })
        .collect();
    let dir = doc_path(uri)
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    for r in &d.related {
        let path = normalise(&dir.join(&r.file));
        let Ok(other) = Url::from_file_path(&path) else {
            continue;
        };
        let range = std::fs::read_to_string(&path)
            .map(|t| LineIndex::new(&t).range(&t, r.span))
            .unwrap_or_default();
        related.push(DiagnosticRelatedInformation {
            location: Location::new(other, range),
            message: r.text.clone(),
        });
    }
    LspDiag {
        range,
        severity: Some(severity(d.severity)),
        code: Some(NumberOrString::String(d.code.clone())),
        source: Some("volley".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Default::default()
    }
}

/// Every diagnostic of the document, and the errors of the files it imports (on the
/// import that brings them in).
pub fn lsp_diagnostics(uri: &Url, a: &Analysis) -> Vec<LspDiag> {
    let mut out: Vec<LspDiag> = a
        .diagnostics
        .iter()
        .map(|d| lsp_diagnostic(uri, a, d))
        .collect();
    for d in &a.elsewhere {
        let quoted = format!("\"{}\"", d.file);
        let range = a
            .text
            .find(&quoted)
            .map(|i| {
                a.lines
                    .range(&a.text, volley_syntax::ast::Span::new(i, i + quoted.len()))
            })
            .unwrap_or_default();
        out.push(LspDiag {
            range,
            severity: Some(DiagnosticSeverity::ERROR),
            code: Some(NumberOrString::String(d.code.clone())),
            source: Some("volley".into()),
            message: format!("in the imported file {}: {}", d.file, d.message),
            ..Default::default()
        });
    }
    out
}

fn symbol_kind(k: DefKind) -> SymbolKind {
    match k {
        DefKind::Param | DefKind::Let => SymbolKind::CONSTANT,
        DefKind::Target => SymbolKind::OBJECT,
        DefKind::Data => SymbolKind::STRUCT,
        DefKind::Secret => SymbolKind::KEY,
        DefKind::Metric => SymbolKind::EVENT,
        DefKind::Fn => SymbolKind::FUNCTION,
        DefKind::Flow => SymbolKind::METHOD,
        DefKind::Scenario => SymbolKind::CLASS,
        DefKind::Parameter | DefKind::Local | DefKind::Var | DefKind::LoopVar => {
            SymbolKind::VARIABLE
        }
    }
}

#[allow(
    deprecated,
    reason = "DocumentSymbol's `deprecated` field must be written"
)]
fn symbol(
    name: String,
    detail: Option<String>,
    kind: SymbolKind,
    range: Range,
    selection_range: Range,
    children: Option<Vec<DocumentSymbol>>,
) -> DocumentSymbol {
    DocumentSymbol {
        name,
        detail,
        kind,
        tags: None,
        deprecated: None,
        range,
        selection_range,
        children,
    }
}

/// The items of the file, each with its parameters and locals; `setup`, `teardown`,
/// `thresholds` and `fleet` blocks as namespaces.
fn document_symbols(a: &Analysis, index: &Index) -> Vec<DocumentSymbol> {
    let mut out: Vec<(usize, DocumentSymbol)> = Vec::new();
    for (i, d) in index.defs.iter().enumerate() {
        if d.parent.is_some() || d.visible.is_some() {
            continue;
        }
        let children: Vec<DocumentSymbol> = index
            .defs
            .iter()
            .filter(|c| c.parent == Some(i))
            .map(|c| {
                symbol(
                    c.name.clone(),
                    Some(c.kind.word().into()),
                    symbol_kind(c.kind),
                    a.lines.range(&a.text, c.full),
                    a.lines.range(&a.text, c.span),
                    None,
                )
            })
            .collect();
        let s = symbol(
            d.name.clone(),
            Some(d.kind.word().into()),
            symbol_kind(d.kind),
            a.lines.range(&a.text, d.full),
            a.lines.range(&a.text, d.span),
            (!children.is_empty()).then_some(children),
        );
        out.push((d.full.start, s));
    }
    for b in &index.sections {
        let head = volley_syntax::ast::Span::new(b.full.start, b.full.start + b.word.len());
        let s = symbol(
            b.word.to_string(),
            None,
            SymbolKind::NAMESPACE,
            a.lines.range(&a.text, b.full),
            a.lines.range(&a.text, head),
            None,
        );
        out.push((b.full.start, s));
    }
    out.sort_by_key(|(start, _)| *start);
    out.into_iter().map(|(_, s)| s).collect()
}
