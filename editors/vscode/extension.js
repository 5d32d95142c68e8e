// The bmad extension: starts `bmad lsp` (the setting bmad.server.path names the binary)
// and hands it every .bmad file; the server does the rest (see README.md).
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration('bmad').get('server.path') || 'bmad';
  const run = { command, args: ['lsp'], transport: TransportKind.stdio };
  client = new LanguageClient(
    'bmad',
    'bmad language server',
    { run, debug: run },
    { documentSelector: [{ scheme: 'file', language: 'bmad' }, { scheme: 'untitled', language: 'bmad' }] }
  );
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
