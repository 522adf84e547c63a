// The language client's lifetime: start, stop, restart on interpreter or
// executable changes, settings pushed to the server with `trusted` added.
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import { PythonEnvironments } from './python';
import { findServer, ServerCommand, ServerLookup } from './server';
import { clientSetting, SECTION, serverSettings } from './settings';
import { StackPayload, StatusItems } from './status';

export const CLIENT_ID = 'stackguard';
export const STACK_NOTIFICATION = 'stackguard/stack';
export const VERIFY_OUTPUT_NOTIFICATION = 'stackguard/verifyOutput';

// Python sources plus the manifests whose diagnostics and hovers come from
// stack detection.
const MANIFEST_PATTERN =
  '**/{pyproject.toml,setup.cfg,Pipfile,alembic.ini,manage.py,stack.yaml,requirements*.txt,package.json,go.mod,Cargo.toml,pom.xml,build.gradle,docker-compose*.yml,docker-compose*.yaml,compose*.yml,compose*.yaml}';
export const DOCUMENT_SELECTOR = [
  { scheme: 'file', language: 'python' },
  { scheme: 'file', pattern: MANIFEST_PATTERN },
];

// Settings that change how the process is started, not what it computes.
const RESTART_KEYS = ['path', 'interpreter', 'logLevel'];
const RESTART_DEBOUNCE_MS = 300;

interface VerifyOutput {
  folder: string;
  step: string;
  line: string;
}

export class StackguardClient implements vscode.Disposable {
  client: LanguageClient | undefined;
  lastLookup: ServerLookup | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restarting: Promise<void> = Promise.resolve();
  private readonly disposables: vscode.Disposable[] = [];
  private notFoundShown = false;

  constructor(
    readonly log: vscode.LogOutputChannel,
    readonly verifyChannel: vscode.OutputChannel,
    readonly status: StatusItems,
    readonly python: PythonEnvironments,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((event) => this.onConfigurationChanged(event)),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.scheduleRestart('workspace trusted')),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.status.syncFolders()),
      python.onDidChangeInterpreter(() => this.scheduleRestart('Python interpreter changed')),
    );
  }

  get running(): boolean {
    return this.client?.state === State.Running;
  }

  /** The folder that decides which interpreter and executable to use. */
  private primaryFolder(): vscode.WorkspaceFolder | undefined {
    const active = vscode.window.activeTextEditor?.document.uri;
    return (active && vscode.workspace.getWorkspaceFolder(active)) || vscode.workspace.workspaceFolders?.[0];
  }

  private async selectedInterpreter(scope: vscode.Uri | undefined): Promise<string[] | undefined> {
    const configured = clientSetting<string[]>('interpreter', scope);
    if (configured && configured.length > 0) {
      return configured;
    }
    return this.python.interpreterFor(scope);
  }

  async start(): Promise<void> {
    const folder = this.primaryFolder();
    this.status.setState('starting');
    const interpreter = await this.selectedInterpreter(folder?.uri);
    const logLevel = vscode.workspace.getConfiguration(SECTION, folder?.uri ?? null).get<string>('logLevel', 'info');
    const lookup = await findServer({
      configuredPath: clientSetting<string>('path', folder?.uri),
      interpreter,
      workspaceFolder: folder?.uri.fsPath,
      serveArgs: ['serve', '--stdio', '--log-level', logLevel],
    });
    this.lastLookup = lookup;
    for (const reason of lookup.rejected) {
      this.log.info(`server lookup: ${reason}`);
    }
    if (lookup.server === undefined) {
      this.status.setState('error', 'stackguard executable not found');
      void this.showNotFound(lookup);
      return;
    }
    this.notFoundShown = false;
    await this.startClient(lookup.server, interpreter, folder);
  }

  private async startClient(
    server: ServerCommand,
    interpreter: string[] | undefined,
    folder: vscode.WorkspaceFolder | undefined,
  ): Promise<void> {
    this.log.info(`starting ${server.command} ${server.args.join(' ')} (from ${server.source})`);
    const serverOptions: ServerOptions = {
      command: server.command,
      args: server.args,
      transport: TransportKind.stdio,
      options: { cwd: folder?.uri.fsPath, env: { ...process.env } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: DOCUMENT_SELECTOR,
      outputChannel: this.log,
      traceOutputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: { settings: serverSettings(undefined, interpreter) },
      middleware: {
        workspace: {
          configuration: async (params, token, next) => {
            const answers = await next(params, token);
            if (!Array.isArray(answers)) {
              return answers;
            }
            const results: unknown[] = [];
            for (let index = 0; index < params.items.length; index++) {
              const item = params.items[index];
              if (item.section !== SECTION) {
                results.push(answers[index]);
                continue;
              }
              const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
              results.push(serverSettings(scope, await this.selectedInterpreter(scope)));
            }
            return results;
          },
        },
      },
    };
    const client = new LanguageClient(CLIENT_ID, 'stackguard', serverOptions, clientOptions);
    client.onNotification(STACK_NOTIFICATION, (payload: StackPayload) => this.status.updateStack(payload));
    client.onNotification(VERIFY_OUTPUT_NOTIFICATION, (output: VerifyOutput) => {
      this.verifyChannel.appendLine(`[${output.step}] ${output.line}`);
    });
    client.onDidChangeState((event) => {
      if (event.newState === State.Running) {
        this.status.setState('running');
      } else if (event.newState === State.Stopped && this.client === client) {
        this.status.setState('error', 'stackguard server stopped; see the logs');
      }
    });
    this.client = client;
    try {
      await client.start();
    } catch (error) {
      this.log.error(`stackguard server failed to start: ${String(error)}`);
      this.status.setState('error', 'stackguard server failed to start');
      void vscode.window
        .showErrorMessage(`stackguard: the server failed to start (${String(error)}).`, 'Show Logs')
        .then((choice) => choice && this.log.show());
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) {
      return;
    }
    try {
      await client.stop(5_000);
    } catch (error) {
      this.log.warn(`stopping the server: ${String(error)}`);
    }
  }

  restart(reason: string): Promise<void> {
    this.restarting = this.restarting.then(async () => {
      this.log.info(`restarting the server: ${reason}`);
      await this.stop();
      await this.start();
    });
    return this.restarting;
  }

  scheduleRestart(reason: string): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.restart(reason), RESTART_DEBOUNCE_MS);
  }

  /** workspace/executeCommand with the one argument object every stackguard command takes. */
  async executeCommand(command: string, argument: Record<string, unknown>): Promise<unknown> {
    if (!this.client || !this.running) {
      throw new Error('the stackguard server is not running');
    }
    return this.client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] });
  }

  private onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
    if (!event.affectsConfiguration(SECTION)) {
      return;
    }
    if (RESTART_KEYS.some((key) => event.affectsConfiguration(`${SECTION}.${key}`))) {
      this.scheduleRestart('settings changed');
      return;
    }
    if (this.client && this.running) {
      // The server answers this by asking workspace/configuration per folder,
      // which the middleware above fills in.
      void this.client.sendNotification(DidChangeConfigurationNotification.type, {
        settings: { [SECTION]: serverSettings(undefined, undefined) },
      });
    }
  }

  private async showNotFound(lookup: ServerLookup): Promise<void> {
    if (this.notFoundShown) {
      return;
    }
    this.notFoundShown = true;
    const why = lookup.rejected.join('; ');
    const install = lookup.interpreter ? 'Install with pip' : undefined;
    const actions = [install, 'Set stackguard.path', 'Show Logs'].filter((a): a is string => a !== undefined);
    const choice = await vscode.window.showErrorMessage(
      `stackguard: the language server was not found (${why}). Install it into your Python environment or set stackguard.path.`,
      ...actions,
    );
    if (choice === install && lookup.interpreter) {
      const terminal = vscode.window.createTerminal({ name: 'stackguard install' });
      terminal.show();
      terminal.sendText([...lookup.interpreter, '-m', 'pip', 'install', 'stackguard'].map(shellQuote).join(' '));
      const closed = vscode.window.onDidCloseTerminal((closedTerminal) => {
        if (closedTerminal === terminal) {
          closed.dispose();
          void this.restart('install terminal closed');
        }
      });
      this.disposables.push(closed);
      void vscode.window
        .showInformationMessage('stackguard: restart the server when the install has finished.', 'Restart Server')
        .then((restart) => restart && this.restart('installed'));
    } else if (choice === 'Set stackguard.path') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'stackguard.path');
    } else if (choice === 'Show Logs') {
      this.log.show();
    }
  }

  async dispose(): Promise<void> {
    clearTimeout(this.restartTimer);
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
    await this.stop();
  }
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
