//! The server's loop: the capabilities it announces, the open documents, and each
//! request and notification sent to the file of its feature. A burst of edits is
//! analysed once: diagnostics are published when no message is waiting.

use super::document::Document;
use super::navigate::RenameError;
use super::{Error, actions, complete, diagnostics, format, hover, navigate, symbols, tokens};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, FoldingRangeRequest, Formatting,
    GotoDefinition, HoverRequest, PrepareRenameRequest, References, Rename, Request as _,
    SemanticTokensFullRequest,
};
use lsp_types::{
    CodeActionProviderCapability, CompletionOptions, HoverProviderCapability, OneOf,
    PublishDiagnosticsParams, RenameOptions, SemanticTokensFullOptions, SemanticTokensOptions,
    ServerCapabilities, TextDocumentPositionParams, TextDocumentSyncCapability,
    TextDocumentSyncKind, Uri,
};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// What the server can do.
fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(
            TextDocumentSyncKind::INCREMENTAL,
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: lsp_types::WorkDoneProgressOptions::default(),
        })),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![":".to_string(), ".".to_string()]),
            ..CompletionOptions::default()
        }),
        document_formatting_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        folding_range_provider: Some(lsp_types::FoldingRangeProviderCapability::Simple(true)),
        semantic_tokens_provider: Some(
            SemanticTokensOptions {
                legend: tokens::legend(),
                full: Some(SemanticTokensFullOptions::Bool(true)),
                range: None,
                work_done_progress_options: lsp_types::WorkDoneProgressOptions::default(),
            }
            .into(),
        ),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        ..ServerCapabilities::default()
    }
}

/// The open documents, by URI, and those whose diagnostics are to be published.
#[derive(Default)]
struct Server {
    docs: HashMap<String, Document>,
    unpublished: BTreeSet<String>,
}

/// A request's failure, as the protocol's error.
type Failure = (ErrorCode, String);

/// Answers the editor until it asks the server to exit.
pub(super) fn serve(connection: &Connection) -> Result<(), Error> {
    let caps = serde_json::to_value(capabilities())?;
    connection.initialize(caps)?;
    let mut server = Server::default();
    while let Ok(message) = connection.receiver.recv() {
        match message {
            Message::Request(req) => {
                if connection.handle_shutdown(&req)? {
                    return Ok(());
                }
                let id = req.id.clone();
                let response = match server.request(req) {
                    Ok(result) => Response::new_ok(id, result),
                    Err((code, message)) => Response::new_err(id, code as i32, message),
                };
                send(connection, Message::Response(response))?;
            }
            Message::Notification(n) => server.notify(n),
            Message::Response(_) => {}
        }
        if connection.receiver.is_empty() {
            server.publish(connection)?;
        }
    }
    Ok(())
}

fn send(connection: &Connection, message: Message) -> Result<(), Error> {
    connection.sender.send(message).map_err(|_| Error::Closed)
}

/// The params of a request or notification of `method`.
fn params<P: serde::de::DeserializeOwned>(value: Value) -> Result<P, Failure> {
    serde_json::from_value(value).map_err(|e| (ErrorCode::InvalidParams, e.to_string()))
}

fn json(value: impl serde::Serialize) -> Result<Value, Failure> {
    serde_json::to_value(value).map_err(|e| (ErrorCode::InternalError, e.to_string()))
}

impl Server {
    fn notify(&mut self, n: Notification) {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                if let Ok(p) = params::<lsp_types::DidOpenTextDocumentParams>(n.params) {
                    let d = p.text_document;
                    let key = d.uri.as_str().to_string();
                    self.docs
                        .insert(key.clone(), Document::new(d.uri, d.version, d.text));
                    self.unpublished.insert(key);
                }
            }
            DidChangeTextDocument::METHOD => {
                if let Ok(p) = params::<lsp_types::DidChangeTextDocumentParams>(n.params) {
                    let key = p.text_document.uri.as_str().to_string();
                    if let Some(doc) = self.docs.get_mut(&key) {
                        doc.change(p.text_document.version, p.content_changes);
                        self.unpublished.insert(key);
                    }
                }
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(p) = params::<lsp_types::DidCloseTextDocumentParams>(n.params) {
                    let key = p.text_document.uri.as_str().to_string();
                    self.docs.remove(&key);
                    self.unpublished.insert(key);
                }
            }
            _ => {}
        }
    }

    /// Publishes the diagnostics of every document that changed (none for one closed).
    fn publish(&mut self, connection: &Connection) -> Result<(), Error> {
        for key in std::mem::take(&mut self.unpublished) {
            let params = match self.docs.get_mut(&key) {
                Some(doc) => {
                    doc.refresh();
                    PublishDiagnosticsParams::new(
                        doc.uri.clone(),
                        diagnostics::of(doc, doc.analysis()),
                        Some(doc.version),
                    )
                }
                None => match key.parse::<Uri>() {
                    Ok(uri) => PublishDiagnosticsParams::new(uri, Vec::new(), None),
                    Err(_) => continue,
                },
            };
            let n = Notification::new(PublishDiagnostics::METHOD.to_string(), params);
            send(connection, Message::Notification(n))?;
        }
        Ok(())
    }

    /// The open document `uri`, analysed.
    fn doc(&mut self, uri: &Uri) -> Result<&Document, Failure> {
        let doc = self.docs.get_mut(uri.as_str()).ok_or_else(|| {
            (
                ErrorCode::InvalidParams,
                format!("`{}` is not open", uri.as_str()),
            )
        })?;
        doc.refresh();
        Ok(doc)
    }

    /// The document and byte offset of a position.
    fn at(&mut self, p: &TextDocumentPositionParams) -> Result<(&Document, usize), Failure> {
        let doc = self.doc(&p.text_document.uri)?;
        let offset = doc.offset(p.position);
        Ok((doc, offset))
    }

    fn request(&mut self, req: Request) -> Result<Value, Failure> {
        let p = req.params;
        match req.method.as_str() {
            HoverRequest::METHOD => {
                let p: lsp_types::HoverParams = params(p)?;
                let (doc, at) = self.at(&p.text_document_position_params)?;
                json(hover::at(doc, at))
            }
            GotoDefinition::METHOD => {
                let p: lsp_types::GotoDefinitionParams = params(p)?;
                let (doc, at) = self.at(&p.text_document_position_params)?;
                json(navigate::definition(doc, at))
            }
            References::METHOD => {
                let p: lsp_types::ReferenceParams = params(p)?;
                let (doc, at) = self.at(&p.text_document_position)?;
                json(navigate::references(doc, at, p.context.include_declaration))
            }
            PrepareRenameRequest::METHOD => {
                let p: TextDocumentPositionParams = params(p)?;
                let (doc, at) = self.at(&p)?;
                json(navigate::prepare(doc, at).map_err(|e| refused(&e))?)
            }
            Rename::METHOD => {
                let p: lsp_types::RenameParams = params(p)?;
                let (doc, at) = self.at(&p.text_document_position)?;
                json(navigate::rename(doc, at, &p.new_name).map_err(|e| refused(&e))?)
            }
            Completion::METHOD => {
                let p: lsp_types::CompletionParams = params(p)?;
                let (doc, at) = self.at(&p.text_document_position)?;
                json(complete::at(doc, at))
            }
            Formatting::METHOD => {
                let p: lsp_types::DocumentFormattingParams = params(p)?;
                json(format::edits(self.doc(&p.text_document.uri)?))
            }
            DocumentSymbolRequest::METHOD => {
                let p: lsp_types::DocumentSymbolParams = params(p)?;
                json(symbols::outline(self.doc(&p.text_document.uri)?))
            }
            FoldingRangeRequest::METHOD => {
                let p: lsp_types::FoldingRangeParams = params(p)?;
                json(symbols::folding(self.doc(&p.text_document.uri)?))
            }
            SemanticTokensFullRequest::METHOD => {
                let p: lsp_types::SemanticTokensParams = params(p)?;
                json(tokens::of(self.doc(&p.text_document.uri)?))
            }
            CodeActionRequest::METHOD => {
                let p: lsp_types::CodeActionParams = params(p)?;
                let doc = self.doc(&p.text_document.uri)?;
                json(actions::fixes(doc, &p.context.diagnostics))
            }
            other => Err((
                ErrorCode::MethodNotFound,
                format!("bmad lsp does not answer `{other}`"),
            )),
        }
    }
}

/// A refused rename, as the protocol's error.
fn refused(e: &RenameError) -> Failure {
    (ErrorCode::RequestFailed, e.to_string())
}
