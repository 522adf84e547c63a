// Drives a real VS Code (code-server) in headless Chromium for
// tests/editors/test_vscode_e2e.py. One scenario per run:
//
//   trusted:   the stackguard diagnostic appears in the Problems panel, its
//              quick fix applies (and the file is saved), "Show Detected
//              Stack" shows the framework, "Verify…" runs the picked step.
//              "Debug Info" opens the server's report.
//   untrusted: the workspace opens in Restricted Mode; the extension still
//              shows diagnostics, "Verify…" refuses, and a save does not
//              trigger verify.onSave (the test checks the marker file).
//   missing:   stackguard.path points nowhere: a notification says the
//              server was not found and offers the fix-it actions.
//
// Input comes from environment variables (see `need` below). Every step
// writes a screenshot to ARTIFACTS; on failure the last one is
// `failure.png` and the process exits 1 with the reason on stderr.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

function need(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`missing environment variable ${name}`);
  }
  return value;
}

const config = {
  url: need('E2E_URL'),
  workspace: need('E2E_WORKSPACE'),
  scenario: need('E2E_SCENARIO'),
  file: need('E2E_FILE'),
  code: need('E2E_CODE'),
  fixTitle: process.env.E2E_FIX_TITLE || '',
  framework: process.env.E2E_FRAMEWORK || '',
  verifyStep: process.env.E2E_VERIFY_STEP || '',
  artifacts: need('E2E_ARTIFACTS'),
  chromium: need('E2E_CHROMIUM'),
  playwright: need('E2E_PLAYWRIGHT_CORE'),
};

const { chromium } = require(config.playwright);

const STEP_TIMEOUT_MS = 60_000;
let page;
let shot = 0;

function log(message) {
  process.stdout.write(`[${new Date().toISOString()}] ${message}\n`);
}

async function screenshot(name) {
  shot += 1;
  const file = path.join(config.artifacts, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file }).catch(() => undefined);
}

async function step(name, work) {
  log(`step: ${name}`);
  await work();
  await screenshot(name.replace(/[^a-z0-9]+/gi, '-').toLowerCase());
}

/** Poll `read()` until `accept(value)`; throw with the last value on timeout. */
async function until(what, read, accept, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await read().catch((error) => `<${error.message}>`);
    if (accept(last)) {
      return last;
    }
    await page.waitForTimeout(250);
  }
  throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)?.slice(0, 2000)}`);
}

async function innerText(selector) {
  const element = await page.$(selector);
  return element ? element.innerText() : '';
}

async function runCommand(title) {
  await page.click('.monaco-workbench', { position: { x: 5, y: 300 } }).catch(() => undefined);
  await page.keyboard.press('F1');
  const input = await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
  await input.fill(`>${title}`);
  await page.waitForSelector(`.quick-input-list .monaco-list-row[aria-label*="${title}"]`, { state: 'visible' });
  await page.keyboard.press('Enter');
}

async function openFile(relative) {
  const name = path.basename(relative);
  await page.click('.monaco-workbench', { position: { x: 5, y: 300 } }).catch(() => undefined);
  await page.keyboard.press('Control+P');
  const input = await page.waitForSelector('.quick-input-widget input', { state: 'visible' });
  await input.fill(relative);
  // Quick open fills its list asynchronously: Enter before the row exists
  // opens nothing.
  await page.waitForSelector(`.quick-input-list .monaco-list-row[aria-label*="${name}"]`, { state: 'visible' });
  await page.keyboard.press('Enter');
  await page.waitForSelector(`.tabs-container .tab[aria-label*="${name}"]`, { state: 'visible' });
  await page.waitForSelector('.monaco-editor .view-lines', { state: 'visible' });
}

async function openProblems() {
  await page.click('.monaco-editor .view-lines');
  await page.keyboard.press('Control+Shift+M');
  try {
    await page.waitForSelector('.markers-panel', { state: 'visible', timeout: 10_000 });
  } catch {
    await runCommand('View: Focus Problems');
    await page.waitForSelector('.markers-panel', { state: 'visible' });
  }
}

async function problemsText() {
  return innerText('.markers-panel');
}

async function notificationsText() {
  return innerText('.notifications-toasts');
}

async function waitForWorkbench() {
  await page.goto(`${config.url}/?folder=${encodeURIComponent(config.workspace)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
  await page.waitForSelector('#workbench\\.parts\\.statusbar');
  await page.waitForSelector('.explorer-folders-view .monaco-list-row');
}

async function waitForDiagnostic() {
  await openProblems();
  const text = await until(
    `a stackguard ${config.code} diagnostic in the Problems panel`,
    problemsText,
    (value) => value.includes(config.code) && value.includes('stackguard'),
    120_000,
  );
  log(`problems: ${text.replace(/\s+/g, ' ').slice(0, 300)}`);
}

async function applyQuickFix() {
  // Clicking the problem puts the cursor on the diagnostic; Ctrl+. lists the
  // code actions there.
  const row = await page.waitForSelector(`.markers-panel .monaco-list-row:has-text("${config.code}")`);
  await row.click();
  await page.waitForTimeout(500);
  await page.keyboard.press('Control+.');
  // From the Problems panel VS Code lists the problem's quick fixes in a
  // context menu; from the editor in the action widget. Both live in a
  // context view.
  const item = page.locator('.context-view').getByText(config.fixTitle, { exact: true });
  await item.first().waitFor({ state: 'visible' });
  await screenshot('code-actions');
  await item.first().click();
  await until(
    `the ${config.code} problem to disappear after the quick fix`,
    problemsText,
    (value) => !value.includes(config.code),
  );
  await page.click('.monaco-editor .view-lines');
  await page.keyboard.press('Control+S');
  await until(
    'the editor to be saved',
    () => page.$$eval('.tabs-container .tab.dirty', (tabs) => tabs.length),
    (count) => count === 0,
  );
}

async function showStack() {
  await runCommand('stackguard: Show Detected Stack');
  const text = await until(
    `a notification naming ${config.framework}`,
    notificationsText,
    (value) => value.toLowerCase().includes(config.framework.toLowerCase()),
  );
  log(`stack notification: ${text.replace(/\s+/g, ' ').slice(0, 300)}`);
}

async function clearNotifications() {
  await runCommand('Notifications: Clear All Notifications').catch(() => undefined);
}

async function verifyTrusted() {
  await runCommand('stackguard: Verify…');
  // The palette's own rows linger for a moment: wait for the step picker.
  await page.waitForSelector('.quick-input-widget .quick-input-title:has-text("stackguard: verify")', { state: 'visible' });
  await page.waitForSelector('.quick-input-widget .quick-input-list .monaco-list-row', { state: 'visible' });
  if (config.verifyStep) {
    // Every step starts checked; clicking a row of a multi-select quick
    // pick toggles it. Uncheck all but the step the test wants.
    const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    const labels = await rows.evaluateAll((elements) => elements.map((e) => e.getAttribute('aria-label') || ''));
    if (!labels.some((label) => label.startsWith(config.verifyStep))) {
      throw new Error(`no "${config.verifyStep}" step offered: ${JSON.stringify(labels)}`);
    }
    for (const [index, label] of labels.entries()) {
      if (!label.startsWith(config.verifyStep)) {
        await rows.nth(index).click();
      }
    }
    await until(
      'one step to stay selected',
      () => innerText('.quick-input-widget .quick-input-count'),
      (value) => value.includes('1'),
      10_000,
    );
  }
  await screenshot('verify-pick');
  await page.keyboard.press('Enter');
  const text = await until(
    'the verify summary notification',
    notificationsText,
    (value) => /stackguard verify: .*(passed|failed)/.test(value),
    180_000,
  );
  log(`verify notification: ${text.replace(/\s+/g, ' ').slice(0, 300)}`);
}

async function debugInfo() {
  await runCommand('stackguard: Debug Info');
  await page.waitForSelector('.tabs-container .tab[aria-label*="Untitled"]', { state: 'visible' });
  const text = await until(
    'the debug info document',
    () => innerText('.editor-instance .monaco-editor .view-lines'),
    (value) => value.includes('stackguardVersion') && value.includes('"extension"'),
  );
  log(`debug info: ${text.replace(/\s+/g, ' ').slice(0, 200)}`);
}

async function serverMissing() {
  const text = await until(
    'the "server not found" notification',
    notificationsText,
    (value) => value.includes('language server was not found'),
  );
  log(`not found: ${text.replace(/\s+/g, ' ').slice(0, 300)}`);
  for (const action of ['Install with pip', 'Set stackguard.path', 'Show Logs']) {
    if (!text.includes(action)) {
      throw new Error(`the notification offers no "${action}" action: ${text}`);
    }
  }
  await page.locator('.notifications-toasts').getByRole('button', { name: 'Set stackguard.path' }).click();
  await page.waitForSelector('.settings-editor', { state: 'visible' });
}

async function verifyUntrusted() {
  // A save would trigger verify.onSave in a trusted workspace.
  await page.click('.monaco-editor .view-lines');
  await page.keyboard.press('End');
  await page.keyboard.type(' ');
  await page.keyboard.press('Control+S');
  await runCommand('stackguard: Verify…');
  const text = await until(
    'the "untrusted workspace" warning',
    notificationsText,
    (value) => value.includes('untrusted workspace'),
  );
  log(`verify refused: ${text.replace(/\s+/g, ' ').slice(0, 300)}`);
  // Give a wrongly started onSave run time to leave its marker.
  await page.waitForTimeout(5_000);
}

async function main() {
  fs.mkdirSync(config.artifacts, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sg-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: config.chromium,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  page = context.pages()[0] || (await context.newPage());
  try {
    await step('workbench', waitForWorkbench);
    await step('open file', () => openFile(config.file));
    if (config.scenario === 'missing') {
      await step('server missing', serverMissing);
    } else if (config.scenario === 'trusted') {
      await step('diagnostic', waitForDiagnostic);
      await step('show stack', showStack);
      await step('clear notifications', clearNotifications);
      await step('quick fix', applyQuickFix);
      await step('verify', verifyTrusted);
      await step('debug info', debugInfo);
    } else if (config.scenario === 'untrusted') {
      await step('diagnostic', waitForDiagnostic);
      await step('verify refused', verifyUntrusted);
    } else {
      throw new Error(`unknown scenario ${config.scenario}`);
    }
    log('ok');
  } catch (error) {
    await page.screenshot({ path: path.join(config.artifacts, 'failure.png') }).catch(() => undefined);
    process.stderr.write(`FAILED: ${error.stack || error}\n`);
    process.exitCode = 1;
  } finally {
    await context.close().catch(() => undefined);
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

void main();
