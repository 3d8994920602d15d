#!/usr/bin/env node
// `npm start`: the desktop app when Electron's binary is present, else web mode (same backend, any
// browser). Says which and why, builds what is missing first. Extra arguments go to web mode
// (`npm start -- --project ~/data/shapes --port 8080`). MASKROOM_MODE=web|electron forces a mode.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chooseMode, missingBuilds } from './start-mode.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const choice = chooseMode({ root });
console.log(
  `maskroom: starting ${choice.mode === 'electron' ? 'the desktop app' : 'web mode'} (${choice.reason})`,
);

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
for (const script of missingBuilds(root, choice.mode)) {
  console.log(`maskroom: ${script} output is missing, running "npm run ${script}"`);
  const r = spawnSync(npm, ['run', script], { cwd: root, stdio: 'inherit' });
  // tsc still emits on type errors; what matters is whether the output now exists.
  if (r.status !== 0 && missingBuilds(root, choice.mode).includes(script)) {
    console.error(`maskroom: "npm run ${script}" failed`);
    process.exit(r.status ?? 1);
  }
  if (r.status !== 0)
    console.warn(`maskroom: "npm run ${script}" reported errors; continuing with its output`);
}

const [cmd, args] =
  choice.mode === 'electron'
    ? [choice.electronPath, [root, ...process.argv.slice(2)]]
    : [process.execPath, [path.join(root, 'dist', 'main', 'server', 'cli.js'), ...process.argv.slice(2)]];
const child = spawn(cmd, args, { cwd: root, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
