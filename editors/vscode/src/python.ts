// The interpreter selected in the Python extension, when it is installed.
// stackguard works without it: the dependency is optional (no
// extensionDependencies), as in ruff-vscode.
import * as vscode from 'vscode';
import { PythonExtension } from '@vscode/python-extension';

const PYTHON_EXTENSION_ID = 'ms-python.python';

export class PythonEnvironments implements vscode.Disposable {
  private api: PythonExtension | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[] = [this.changed];

  /** Fires when the user selects another interpreter. */
  readonly onDidChangeInterpreter = this.changed.event;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  async initialize(): Promise<void> {
    if (vscode.extensions.getExtension(PYTHON_EXTENSION_ID) === undefined) {
      this.log.info('Python extension not installed; using stackguard.path, stackguard.interpreter or PATH');
      return;
    }
    try {
      this.api = await PythonExtension.api();
      this.disposables.push(this.api.environments.onDidChangeActiveEnvironmentPath(() => this.changed.fire()));
    } catch (error) {
      this.log.warn(`Python extension API unavailable: ${String(error)}`);
    }
  }

  get available(): boolean {
    return this.api !== undefined;
  }

  /** argv of the selected interpreter for `resource`, or undefined. */
  async interpreterFor(resource: vscode.Uri | undefined): Promise<string[] | undefined> {
    if (this.api === undefined) {
      return undefined;
    }
    try {
      const active = this.api.environments.getActiveEnvironmentPath(resource);
      const resolved = await this.api.environments.resolveEnvironment(active);
      const executable = resolved?.executable.uri?.fsPath;
      return executable ? [executable] : undefined;
    } catch (error) {
      this.log.warn(`could not resolve the selected Python environment: ${String(error)}`);
      return undefined;
    }
  }

  dispose(): void {
    for (const disposable of this.disposables) {
      disposable.dispose();
    }
  }
}
