// The Volley extension: starts `volley lsp` (the path is the `volley.path` setting) for
// `.load` files and lets vscode-languageclient speak the Language Server Protocol with
// it over stdio. Everything else (diagnostics, fixes, hover, completion, navigation,
// formatting, rename) is the server's.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration('volley').get('path') || 'volley';
  const run = { command, args: ['lsp'], transport: TransportKind.stdio };
  const serverOptions = { run, debug: run };
  const clientOptions = {
    documentSelector: [{ scheme: 'file', language: 'volley' }, { scheme: 'untitled', language: 'volley' }],
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher('**/{*.load,volley.toml}'),
    },
  };
  client = new LanguageClient('volley', 'Volley', serverOptions, clientOptions);
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start().catch((err) => {
    vscode.window.showErrorMessage(
      `Volley: cannot start \`${command} lsp\` (${err.message}). Install volley or set "volley.path".`
    );
  });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
