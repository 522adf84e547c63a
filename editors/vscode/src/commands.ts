// Palette commands. Each calls one server command (workspace/executeCommand)
// with the single argument object the server expects; the server applies
// edits itself through workspace/applyEdit.
import * as vscode from 'vscode';
import { StackguardClient } from './client';

export const COMMANDS = {
  restart: 'stackguard.restart',
  showStack: 'stackguard.showDetectedStack',
  verify: 'stackguard.runVerify',
  extractToService: 'stackguard.extractSelectionToService',
  addRepositoryMethod: 'stackguard.promptAddRepositoryMethod',
  generateMigration: 'stackguard.promptGenerateMigration',
  showLogs: 'stackguard.showLogs',
  debugInfo: 'stackguard.showDebugInfo',
} as const;

// Server command names (server/stackguard/lsp). The extension's own command
// ids differ because vscode-languageclient registers these ids itself.
export const SERVER_COMMANDS = {
  showStack: 'stackguard.showStack',
  debugInfo: 'stackguard.debugInfo',
  verify: 'stackguard.verify',
  extractToService: 'stackguard.extractToService',
  addRepositoryMethod: 'stackguard.addRepositoryMethod',
  generateMigration: 'stackguard.generateMigration',
} as const;

export function registerCommands(context: vscode.ExtensionContext, sg: StackguardClient): void {
  const register = (id: string, handler: (...args: unknown[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, handler));

  register(COMMANDS.restart, () => sg.restart('requested'));
  register(COMMANDS.showLogs, () => sg.log.show());
  register(COMMANDS.showStack, (folderArg?: unknown) => showStack(sg, typeof folderArg === 'string' ? folderArg : undefined));
  register(COMMANDS.verify, () => verify(sg));
  register(COMMANDS.extractToService, () => extractToService(sg));
  register(COMMANDS.addRepositoryMethod, () => addRepositoryMethod(sg));
  register(COMMANDS.generateMigration, () => generateMigration(sg));
  register(COMMANDS.debugInfo, () => debugInfo(context, sg));
}

function serverUri(sg: StackguardClient, uri: vscode.Uri): string {
  return sg.client ? sg.client.code2ProtocolConverter.asUri(uri) : uri.toString();
}

async function run<T>(sg: StackguardClient, folder: string, what: string, work: () => Promise<T>): Promise<T | undefined> {
  try {
    return await sg.status.busy(folder, what, work);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    sg.log.error(`${what} failed: ${message}`);
    void vscode.window
      .showErrorMessage(`stackguard: ${what} failed: ${message}`, 'Show Logs')
      .then((choice) => choice && sg.log.show());
    return undefined;
  }
}

/** The folder of the active editor, the only folder, or the user's pick. */
async function pickFolder(placeHolder: string): Promise<vscode.WorkspaceFolder | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  const active = vscode.window.activeTextEditor?.document.uri;
  const ofActive = active && vscode.workspace.getWorkspaceFolder(active);
  if (ofActive) {
    return ofActive;
  }
  if (folders.length <= 1) {
    return folders[0];
  }
  return vscode.window.showWorkspaceFolderPick({ placeHolder });
}

function pythonEditor(action: string): vscode.TextEditor | undefined {
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== 'python' || editor.document.uri.scheme !== 'file') {
    void vscode.window.showWarningMessage(`stackguard: open a Python file to ${action}.`);
    return undefined;
  }
  return editor;
}

async function showStack(sg: StackguardClient, folderUri: string | undefined): Promise<void> {
  let folder: string | undefined = folderUri;
  if (folder === undefined && (vscode.workspace.workspaceFolders?.length ?? 0) > 0) {
    const picked = await pickFolder('Show the stack of which folder?');
    if (picked === undefined) {
      return;
    }
    folder = serverUri(sg, picked.uri);
  }
  const argument = folder === undefined ? {} : { folder };
  const result = (await run(sg, folder ?? '*', 'showing the stack', () =>
    sg.executeCommand('stackguard.showStack', argument),
  )) as { roots?: { summary: string }[]; folders?: { roots: unknown[] }[] } | undefined;
  if (result === undefined) {
    return;
  }
  // The server shows the summary itself (window/showMessage); say so when
  // there is nothing to show, so the command never looks like it did nothing.
  const roots = result.roots ?? result.folders?.flatMap((f) => f.roots) ?? [];
  if (roots.length === 0) {
    void vscode.window.showInformationMessage('stackguard: no project stack detected in this folder.');
  }
}

interface StepItem extends vscode.QuickPickItem {
  step: string;
}

async function verify(sg: StackguardClient): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    // The server refuses too (it gets trusted=false); saying it here avoids a
    // round trip and offers the way out.
    const choice = await vscode.window.showWarningMessage(
      'stackguard: verification runs the project\'s own commands, so it is disabled in an untrusted workspace.',
      'Manage Workspace Trust',
    );
    if (choice) {
      await vscode.commands.executeCommand('workbench.trust.manage');
    }
    return;
  }
  const folder = await pickFolder('Verify which folder?');
  if (folder === undefined) {
    void vscode.window.showWarningMessage('stackguard: open a folder to verify it.');
    return;
  }
  const folderUri = serverUri(sg, folder.uri);
  const stack = sg.status.stack(folderUri);
  const steps = new Map<string, string>();
  for (const root of stack?.roots ?? []) {
    for (const step of root.profile?.verify ?? []) {
      if (!steps.has(step.name)) {
        steps.set(step.name, step.cmd);
      }
    }
  }
  let chosen: string[] | undefined;
  if (steps.size > 0) {
    const items: StepItem[] = [...steps].map(([name, cmd]) => ({ label: name, description: cmd, step: name, picked: true }));
    const picked = await vscode.window.showQuickPick(items, {
      canPickMany: true,
      title: `stackguard: verify ${folder.name}`,
      placeHolder: 'Steps to run',
    });
    if (picked === undefined || picked.length === 0) {
      return;
    }
    chosen = picked.length === items.length ? undefined : picked.map((item) => item.step);
  }
  sg.verifyChannel.show(true);
  sg.verifyChannel.appendLine(`── verify ${folder.name}${chosen ? ` (${chosen.join(', ')})` : ''} ──`);
  const argument: Record<string, unknown> = { folder: folderUri };
  if (chosen) {
    argument.steps = chosen;
  }
  const result = await run(sg, folderUri, 'verify', () => sg.executeCommand('stackguard.verify', argument));
  if (result !== undefined) {
    // The server announces the outcome itself (window/showMessage).
    sg.verifyChannel.appendLine(describeVerifyResult(result).text);
  }
}

interface StepResult {
  name?: string;
  step?: string;
  status?: string;
  passed?: boolean;
  ok?: boolean;
}

/** A one-line summary of whatever the server returned for stackguard.verify. */
export function describeVerifyResult(result: unknown): { ok: boolean; text: string } {
  const value = (result ?? {}) as { ok?: boolean; passed?: boolean; steps?: StepResult[]; results?: StepResult[] };
  const steps = value.steps ?? value.results ?? [];
  const parts = steps.map((step) => `${step.name ?? step.step ?? '?'}: ${step.status ?? (step.passed ?? step.ok ? 'passed' : 'failed')}`);
  const ok = value.ok ?? value.passed ?? steps.every((step) => (step.status ? ['passed', 'skipped'].includes(step.status) : step.passed ?? step.ok ?? false));
  return { ok, text: `verify ${ok ? 'passed' : 'failed'}${parts.length ? ` (${parts.join(', ')})` : ''}` };
}

async function extractToService(sg: StackguardClient): Promise<void> {
  const editor = pythonEditor('extract code to a service');
  if (!editor || !sg.client) {
    return;
  }
  const argument = {
    uri: serverUri(sg, editor.document.uri),
    range: sg.client.code2ProtocolConverter.asRange(editor.selection),
  };
  await run(sg, folderKey(editor.document.uri), 'extract to service', () =>
    sg.executeCommand('stackguard.extractToService', argument),
  );
}

async function addRepositoryMethod(sg: StackguardClient): Promise<void> {
  const editor = pythonEditor('add a repository method');
  if (!editor || !sg.client) {
    return;
  }
  // The server moves the selected query expression into the repository as
  // a named method; the description guides the agent variant.
  if (editor.selection.isEmpty) {
    void vscode.window.showWarningMessage(
      'stackguard: select the query expression (in a route handler or service) to move into a repository method.',
    );
    return;
  }
  const description = await vscode.window.showInputBox({
    title: 'stackguard: add repository method',
    prompt: 'What should the method do? (optional)',
    placeHolder: 'e.g. find the orders of a customer by email, newest first',
  });
  if (description === undefined) {
    return;
  }
  const argument: Record<string, unknown> = {
    uri: serverUri(sg, editor.document.uri),
    range: sg.client.code2ProtocolConverter.asRange(editor.selection),
  };
  if (description.trim()) {
    argument.description = description.trim();
  }
  await run(sg, folderKey(editor.document.uri), 'add repository method', () =>
    sg.executeCommand('stackguard.addRepositoryMethod', argument),
  );
}

async function generateMigration(sg: StackguardClient): Promise<void> {
  const folder = await pickFolder('Generate a migration in which folder?');
  if (folder === undefined) {
    void vscode.window.showWarningMessage('stackguard: open a folder to generate a migration.');
    return;
  }
  const message = await vscode.window.showInputBox({
    title: `stackguard: generate migration in ${folder.name}`,
    prompt: 'Migration message',
    placeHolder: 'e.g. add order status',
  });
  if (message === undefined) {
    return;
  }
  const argument: Record<string, unknown> = { folder: serverUri(sg, folder.uri) };
  if (message.trim()) {
    argument.message = message.trim();
  }
  await run(sg, serverUri(sg, folder.uri), 'generate migration', () =>
    sg.executeCommand('stackguard.generateMigration', argument),
  );
}

async function debugInfo(context: vscode.ExtensionContext, sg: StackguardClient): Promise<void> {
  const server = await run(sg, '*', 'debug info', () => sg.executeCommand('stackguard.debugInfo', {}));
  const report = {
    extension: {
      version: (context.extension.packageJSON as { version?: string }).version,
      vscode: vscode.version,
      trusted: vscode.workspace.isTrusted,
      pythonExtension: sg.python.available,
      server: sg.lastLookup?.server,
      rejectedCandidates: sg.lastLookup?.rejected,
    },
    server: server ?? null,
  };
  const document = await vscode.workspace.openTextDocument({ language: 'json', content: JSON.stringify(report, null, 2) });
  await vscode.window.showTextDocument(document, { preview: false });
}

function folderKey(uri: vscode.Uri): string {
  const folder = vscode.workspace.getWorkspaceFolder(uri);
  return folder ? folder.uri.toString() : '*';
}
