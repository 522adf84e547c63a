// stackguard for VS Code: starts `stackguard serve` and adds the palette
// commands, a per-folder language status item and the verify output channel.
import * as vscode from 'vscode';
import { StackguardClient } from './client';
import { registerCommands } from './commands';
import { PythonEnvironments } from './python';
import { setServerSettingKeys } from './settings';
import { StatusItems } from './status';

let controller: StackguardClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  setServerSettingKeys(context.extension.packageJSON as Parameters<typeof setServerSettingKeys>[0]);
  const log = vscode.window.createOutputChannel('stackguard', { log: true });
  const verifyChannel = vscode.window.createOutputChannel('stackguard: verify');
  const status = new StatusItems();
  const python = new PythonEnvironments(log);
  context.subscriptions.push(log, verifyChannel, status, python);
  await python.initialize();
  controller = new StackguardClient(log, verifyChannel, status, python);
  registerCommands(context, controller);
  await controller.start();
}

export async function deactivate(): Promise<void> {
  // Stop the server process with the extension host, or it outlives the window.
  await controller?.dispose();
  controller = undefined;
}
