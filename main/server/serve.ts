// `maskroom serve` / `node dist/main/server/cli.js`: starts a Backend and the web mode server, prints
// the URL with the token, and shuts both down on SIGINT / SIGTERM.
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { unwrap } from '../../common/contracts/index.js';
import { Backend } from '../services/backend.js';
import { startWebServer, type WebServer } from './server.js';

export interface ServeOptions {
  port: number;
  project?: string;
  root: string[];
  dataDir?: string;
  renderer?: string;
  provider: 'auto' | 'cpu' | 'cuda';
  testHooks: boolean;
}

/** The Maskroom checkout / install: the folder above this file that holds package.json. */
export function appRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

/** Per-user data folder (models, embeddings cache, recent projects); MASKROOM_DATA_DIR overrides it. */
export function defaultDataDir(): string {
  if (process.env.MASKROOM_DATA_DIR) return path.resolve(process.env.MASKROOM_DATA_DIR);
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Maskroom');
  if (process.platform === 'win32')
    return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Maskroom');
  return path.join(process.env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'maskroom');
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port must be 0–65535, got "${v}"`);
  return n;
}

/** Starts web mode; resolves once it listens. */
export async function serve(
  opts: ServeOptions,
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<{ server: WebServer; backend: Backend }> {
  const roots = opts.root.map((r) => path.resolve(r));
  const project = opts.project ? path.resolve(opts.project) : undefined;
  if (project) mkdirSync(project, { recursive: true });
  // Without --root, the project folder (or the current folder) is the only place path arguments may reach.
  if (roots.length === 0) roots.push(project ?? process.cwd());
  const backend = new Backend({
    mode: 'web',
    dataDir: opts.dataDir ? path.resolve(opts.dataDir) : defaultDataDir(),
    allowedRoots: [...roots, ...(project ? [project] : [])],
    provider: opts.provider,
    version: process.env.npm_package_version ?? '0.1.0',
    log,
  });
  try {
    if (project) {
      const ctx = { origin: 'web' as const, peer: 'cli' };
      const exists = existsSync(path.join(project, 'maskroom.db'));
      const r = exists
        ? await backend.dispatcher.handle('app:projects.open', { root: project }, ctx)
        : await backend.dispatcher.handle(
            'app:projects.create',
            { root: project, name: path.basename(project) },
            ctx,
          );
      unwrap(r);
    }
    const server = await startWebServer({
      backend,
      port: opts.port,
      rendererDir: opts.renderer ? path.resolve(opts.renderer) : path.join(appRoot(), 'dist', 'renderer'),
      testHooks: opts.testHooks,
      log,
    });
    return { server, backend };
  } catch (e) {
    await backend.close();
    throw e;
  }
}

/** Adds the web mode options to a commander command. */
export function withServeOptions(cmd: Command): Command {
  return cmd
    .option('--port <n>', 'port on 127.0.0.1 (0 = any free port)', parsePort, 0)
    .option('--project <dir>', 'project folder to open (created when it has no project yet)')
    .option(
      '--root <dir>',
      'folder path arguments may reach (repeatable; default: the project folder)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--data-dir <dir>', 'models, embedding cache and recent projects (default: per-user data folder)')
    .option('--renderer <dir>', 'built renderer to serve (default: dist/renderer)')
    .addOption(
      new Option('--provider <p>', 'execution provider').choices(['auto', 'cpu', 'cuda']).default('auto'),
    )
    .option('--test-hooks', 'serve GET /api/debug/state for end-to-end tests', false);
}

/** Runs until SIGINT / SIGTERM. */
export async function runServe(opts: ServeOptions): Promise<void> {
  const { server, backend } = await serve(opts);
  process.stdout.write(`Maskroom web mode: ${server.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  await backend.close();
}

/** Registers `maskroom serve` (main/cli COMMANDS). */
export function register(program: Command): void {
  withServeOptions(
    program
      .command('serve')
      .description('Web mode: serve the app on 127.0.0.1 with a token, for any browser'),
  ).action(async (opts: ServeOptions) => runServe(opts));
}
