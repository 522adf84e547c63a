// Finding the stackguard executable: stackguard.path, else the selected
// Python environment (python -m stackguard), else `stackguard` on PATH.
import * as childProcess from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export type ServerSource = 'stackguard.path' | 'interpreter' | 'PATH';

export interface ServerCommand {
  command: string;
  args: string[];
  source: ServerSource;
}

export interface ServerLookup {
  /** The command to run, when one was found. */
  server?: ServerCommand;
  /** Why each candidate was rejected, for the log and the notification. */
  rejected: string[];
  /** The interpreter that was tried, so the fix-it action can pip install into it. */
  interpreter?: string[];
}

const IMPORT_CHECK_TIMEOUT_MS = 15_000;

export function expandPath(value: string, workspaceFolder: string | undefined): string {
  let expanded = value.trim();
  if (expanded === '~' || expanded.startsWith('~/')) {
    expanded = path.join(os.homedir(), expanded.slice(1));
  }
  if (workspaceFolder !== undefined) {
    expanded = expanded.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  }
  return expanded;
}

export function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) {
      return false;
    }
    if (process.platform === 'win32') {
      return true;
    }
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `name` resolved against PATH (and PATHEXT on Windows), like a shell would. */
export function whichSync(name: string, envPath: string | undefined = process.env.PATH): string | undefined {
  const extensions = process.platform === 'win32' ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const directory of (envPath ?? '').split(path.delimiter)) {
    if (!directory) {
      continue;
    }
    for (const extension of extensions) {
      const candidate = path.join(directory, name + extension);
      if (isExecutableFile(candidate)) {
        return candidate;
      }
    }
  }
  return undefined;
}

/** Whether `interpreter` can import stackguard (it is installed in that environment). */
export function canImportStackguard(interpreter: string[]): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const [command, ...prefix] = interpreter;
    childProcess.execFile(
      command,
      [...prefix, '-c', 'import stackguard, sys; sys.stdout.write(stackguard.__version__)'],
      { timeout: IMPORT_CHECK_TIMEOUT_MS, windowsHide: true },
      (error, stdout, stderr) => {
        if (error) {
          const reason = stderr.trim().split('\n').pop() || error.message;
          resolve({ ok: false, detail: reason });
        } else {
          resolve({ ok: true, detail: stdout.trim() });
        }
      },
    );
  });
}

export async function findServer(options: {
  configuredPath: string | undefined;
  interpreter: string[] | undefined;
  workspaceFolder: string | undefined;
  serveArgs: string[];
}): Promise<ServerLookup> {
  const rejected: string[] = [];
  if (options.configuredPath) {
    const configured = expandPath(options.configuredPath, options.workspaceFolder);
    if (isExecutableFile(configured)) {
      return { server: { command: configured, args: options.serveArgs, source: 'stackguard.path' }, rejected };
    }
    // An explicit setting that points nowhere is a mistake to report, not a
    // reason to silently run some other stackguard.
    rejected.push(`stackguard.path "${configured}" is not an executable file`);
    return { rejected, interpreter: options.interpreter };
  }
  if (options.interpreter && options.interpreter.length > 0) {
    const check = await canImportStackguard(options.interpreter);
    if (check.ok) {
      return {
        server: {
          command: options.interpreter[0],
          args: [...options.interpreter.slice(1), '-m', 'stackguard', ...options.serveArgs],
          source: 'interpreter',
        },
        rejected,
        interpreter: options.interpreter,
      };
    }
    rejected.push(`${options.interpreter.join(' ')} cannot import stackguard (${check.detail})`);
  }
  const onPath = whichSync('stackguard');
  if (onPath !== undefined) {
    return { server: { command: onPath, args: options.serveArgs, source: 'PATH' }, rejected, interpreter: options.interpreter };
  }
  rejected.push('no stackguard executable on PATH');
  return { rejected, interpreter: options.interpreter };
}
