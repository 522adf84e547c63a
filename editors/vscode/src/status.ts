// One LanguageStatusItem per workspace folder: the detected stack, and the
// server's busy / error state.
import * as vscode from 'vscode';

export interface StackRoot {
  root: string;
  relativeRoot: string;
  summary: string;
  profile?: { verify?: { name: string; cmd: string }[] } & Record<string, unknown>;
}

export interface StackPayload {
  folder: string;
  roots: StackRoot[];
}

export type ServerState = 'starting' | 'running' | 'stopped' | 'error';

export function normaliseUri(uri: string): string {
  return vscode.Uri.parse(uri).toString();
}

export function stackText(payload: StackPayload | undefined): string {
  if (payload === undefined) {
    return 'detecting…';
  }
  if (payload.roots.length === 0) {
    return 'no stack detected';
  }
  if (payload.roots.length === 1) {
    return payload.roots[0].summary;
  }
  return `${payload.roots.length} projects`;
}

export class StatusItems implements vscode.Disposable {
  private readonly items = new Map<string, vscode.LanguageStatusItem>();
  private readonly stacks = new Map<string, StackPayload>();
  private readonly busyReasons = new Map<string, Set<string>>();
  private state: ServerState = 'starting';
  private errorMessage = '';

  constructor() {
    this.syncFolders();
  }

  /** The latest stack of `folderUri` (any URI spelling). */
  stack(folderUri: string): StackPayload | undefined {
    return this.stacks.get(normaliseUri(folderUri));
  }

  allStacks(): StackPayload[] {
    return [...this.stacks.values()];
  }

  updateStack(payload: StackPayload): void {
    this.stacks.set(normaliseUri(payload.folder), payload);
    this.render();
  }

  setState(state: ServerState, message = ''): void {
    this.state = state;
    this.errorMessage = message;
    this.render();
  }

  /** Mark `key` (a folder URI, or '*' for all) busy while `work` runs. */
  async busy<T>(key: string, reason: string, work: () => Thenable<T>): Promise<T> {
    const reasons = this.busyReasons.get(key) ?? new Set<string>();
    reasons.add(reason);
    this.busyReasons.set(key, reasons);
    this.render();
    try {
      return await work();
    } finally {
      reasons.delete(reason);
      this.render();
    }
  }

  syncFolders(): void {
    const wanted = new Map<string, vscode.DocumentSelector>();
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      wanted.set(folder.uri.toString(), { scheme: 'file', pattern: new vscode.RelativePattern(folder, '**/*') });
    }
    if (wanted.size === 0) {
      wanted.set('*', { language: 'python' });
    }
    for (const [key, item] of this.items) {
      if (!wanted.has(key)) {
        item.dispose();
        this.items.delete(key);
      }
    }
    for (const [key, selector] of wanted) {
      if (!this.items.has(key)) {
        const item = vscode.languages.createLanguageStatusItem(`stackguard.stack.${key}`, selector);
        item.name = 'stackguard';
        this.items.set(key, item);
      }
    }
    this.render();
  }

  private render(): void {
    const anyBusy = (this.busyReasons.get('*')?.size ?? 0) > 0;
    for (const [key, item] of this.items) {
      const reasons = [...(this.busyReasons.get(key) ?? []), ...(this.busyReasons.get('*') ?? [])];
      const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.toString() === key);
      if (this.state === 'error') {
        item.text = '$(error) stackguard';
        item.detail = this.errorMessage;
        item.severity = vscode.LanguageStatusSeverity.Error;
        item.busy = false;
        item.command = { title: 'Show Logs', command: 'stackguard.showLogs' };
        continue;
      }
      item.severity = vscode.LanguageStatusSeverity.Information;
      if (this.state === 'stopped') {
        item.text = 'stackguard stopped';
        item.detail = '';
        item.busy = false;
        item.command = { title: 'Restart', command: 'stackguard.restart' };
        continue;
      }
      item.text = stackText(key === '*' ? this.allStacks()[0] : this.stacks.get(key));
      item.detail = reasons.length > 0 ? `stackguard: ${reasons.join(', ')}` : 'stackguard: detected stack';
      item.busy = this.state === 'starting' || reasons.length > 0 || anyBusy;
      item.command = {
        title: 'Show Stack',
        command: 'stackguard.showDetectedStack',
        arguments: folder ? [folder.uri.toString()] : [],
      };
    }
  }

  dispose(): void {
    for (const item of this.items.values()) {
      item.dispose();
    }
    this.items.clear();
  }
}
