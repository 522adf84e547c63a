// The server's settings as this editor holds them (section "stackguard").
//
// Only values the user actually set are sent: the server merges editor
// settings above [tool.stackguard] and stack.yaml, so sending every default
// would silently override the project's own configuration.
import * as vscode from 'vscode';

export const SECTION = 'stackguard';

// Settings that only this extension reads; every other contributed
// "stackguard.*" setting is a server setting (server/stackguard/config.py)
// and is forwarded as is.
export const CLIENT_ONLY_KEYS: ReadonlySet<string> = new Set(['path', 'trace.server']);

interface PackageJson {
  contributes?: { configuration?: { properties?: Record<string, unknown> } };
}

/** Dotted keys (without "stackguard.") of the server settings this extension contributes. */
export function serverSettingKeys(packageJson: PackageJson): string[] {
  const properties = packageJson.contributes?.configuration?.properties ?? {};
  return Object.keys(properties)
    .filter((key) => key.startsWith(`${SECTION}.`))
    .map((key) => key.slice(SECTION.length + 1))
    .filter((key) => !CLIENT_ONLY_KEYS.has(key));
}

let keys: readonly string[] = [];

/** Called once at activation with the extension's package.json. */
export function setServerSettingKeys(packageJson: PackageJson): void {
  keys = serverSettingKeys(packageJson);
}

// Settings that decide what gets executed or where code is sent; mirrors
// capabilities.untrustedWorkspaces.restrictedConfigurations in package.json.
export const RESTRICTED_KEYS: ReadonlySet<string> = new Set([
  'path',
  'interpreter',
  'verify.onSave',
  'verify.steps',
  'agent.baseUrl',
  'agent.apiKeyEnv',
]);

export type JsonObject = { [key: string]: unknown };

interface Inspected {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

/** The most specific value the user set, honouring workspace trust. */
export function explicitValue(inspected: Inspected | undefined, trusted: boolean, restricted: boolean): unknown {
  if (inspected === undefined) {
    return undefined;
  }
  if (!trusted && restricted) {
    // A repository must not choose executables or API endpoints before the
    // user trusts it; only the user's own (global) value counts.
    return inspected.globalValue;
  }
  return inspected.workspaceFolderValue ?? inspected.workspaceValue ?? inspected.globalValue;
}

export function setDotted(target: JsonObject, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      node[part] = {};
    }
    node = node[part] as JsonObject;
  }
  node[parts[parts.length - 1]] = value;
}

/**
 * The settings object sent to the server for `scope` (a folder or file URI;
 * undefined for the window): explicit values only, plus `trusted` and the
 * interpreter the Python extension selected when none is configured.
 */
export function serverSettings(scope: vscode.Uri | undefined, selectedInterpreter: string[] | undefined): JsonObject {
  const config = vscode.workspace.getConfiguration(SECTION, scope ?? null);
  const trusted = vscode.workspace.isTrusted;
  const settings: JsonObject = {};
  for (const key of keys) {
    const value = explicitValue(config.inspect(key), trusted, RESTRICTED_KEYS.has(key));
    if (value !== undefined) {
      setDotted(settings, key, value);
    }
  }
  if (settings.interpreter === undefined && selectedInterpreter && selectedInterpreter.length > 0) {
    settings.interpreter = selectedInterpreter;
  }
  settings.trusted = trusted;
  return settings;
}

/** A restricted setting the extension itself reads (e.g. `path`), honouring trust. */
export function clientSetting<T>(key: string, scope: vscode.Uri | undefined): T | undefined {
  const config = vscode.workspace.getConfiguration(SECTION, scope ?? null);
  return explicitValue(config.inspect<T>(key), vscode.workspace.isTrusted, RESTRICTED_KEYS.has(key)) as T | undefined;
}
