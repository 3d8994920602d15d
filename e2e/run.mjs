#!/usr/bin/env node
// `npm run test:e2e`: starts the real web-mode server (built dist/) on port 0 with a temp project folder,
// runs the Playwright specs against it with Debian's Chromium, and tears everything down.
// Extra arguments go to `playwright test` (e.g. `npm run test:e2e -- security.spec.ts`).
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const chromium = process.env.MASKROOM_CHROMIUM ?? '/usr/bin/chromium';
const STARTUP_TIMEOUT_MS = 60_000;
const serverLog = path.join(root, 'e2e/artifacts/server.log');

function fail(message) {
  console.error(`e2e: ${message}`);
  process.exit(2);
}

/** How to start web mode: the server's own entry if built, else the `maskroom serve` CLI command. */
function serverCommand(projectDir, work) {
  // --root: specs create their own projects next to the starting one, inside the temp folder.
  const args = [
    '--port',
    '0',
    '--project',
    projectDir,
    '--root',
    work,
    '--data-dir',
    path.join(work, 'data'),
    '--test-hooks',
  ];
  const entry = path.join(root, 'dist/main/server/cli.js');
  if (existsSync(entry)) return [entry, ...args];
  return [path.join(root, 'bin/maskroom.js'), 'serve', ...args];
}

/** Starts the server and resolves with the URL it prints (`Maskroom web mode: http://127.0.0.1:PORT/?token=…`). */
function startServer(projectDir, work, home) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, serverCommand(projectDir, work), {
      cwd: root,
      env: {
        ...process.env,
        HOME: home,
        XDG_CONFIG_HOME: path.join(home, '.config'),
        XDG_DATA_HOME: path.join(home, '.local', 'share'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server printed no URL within ${STARTUP_TIMEOUT_MS / 1000} s; output:\n${out}`));
    }, STARTUP_TIMEOUT_MS);
    const onData = (chunk) => {
      const text = chunk.toString();
      out += text;
      // Server output goes to a log file (kept with the other artifacts), not into Playwright's report.
      appendFileSync(serverLog, text);
      const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_\-.~%]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${signal ?? code}) before printing its URL; output:\n${out}`));
    });
  });
}

function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function runPlaywright(env) {
  const cli = path.join(root, 'node_modules/@playwright/test/cli.js');
  const args = [
    cli,
    'test',
    '--config',
    path.join(root, 'e2e/playwright.config.ts'),
    ...process.argv.slice(2),
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: 'inherit',
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

if (!existsSync(path.join(root, 'dist/renderer/index.html')))
  fail('dist/renderer is missing: run `npm run build` first.');
if (!existsSync(path.join(root, 'dist/main'))) fail('dist/main is missing: run `npm run build` first.');
if (!existsSync(chromium))
  fail(
    `no Chromium at ${chromium}: install Debian's (apt-get install -y chromium) or set MASKROOM_CHROMIUM.`,
  );

mkdirSync(path.dirname(serverLog), { recursive: true });
writeFileSync(serverLog, '');
const work = mkdtempSync(path.join(tmpdir(), 'maskroom-e2e-'));
const home = path.join(work, 'home');
const projectDir = path.join(work, 'project');
mkdirSync(home, { recursive: true });
mkdirSync(projectDir, { recursive: true });
mkdirSync(path.join(work, 'exports'), { recursive: true });
cpSync(path.join(root, 'native-models/fixtures/shapes'), path.join(work, 'shapes'), { recursive: true });

let server;
let code = 1;
const cleanup = async () => {
  if (server) await stopServer(server.child);
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
try {
  server = await startServer(projectDir, work, home);
  const u = new URL(server.url);
  console.log(`e2e: server at ${u.origin} (work dir ${work})`);
  code = await runPlaywright({
    MASKROOM_E2E_URL: server.url,
    MASKROOM_E2E_TOKEN: u.searchParams.get('token') ?? '',
    MASKROOM_E2E_WORK: work,
    MASKROOM_E2E_PROJECT: projectDir,
    MASKROOM_CHROMIUM: chromium,
  });
} catch (e) {
  console.error(`e2e: ${e instanceof Error ? e.message : String(e)}`);
  code = 1;
} finally {
  await cleanup();
  // Keep the work dir of a failed run for inspection; screenshots and traces are in e2e/artifacts/.
  if (code === 0) rmSync(work, { recursive: true, force: true });
  else
    console.error(
      `e2e: failed; work dir kept at ${work}; server output in ${path.relative(root, serverLog)}`,
    );
}
process.exit(code);
