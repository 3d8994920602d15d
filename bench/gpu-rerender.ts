// Re-renders a GPU benchmark's markdown from its committed JSON (the table, the goals section, the notes),
// e.g. after the report format changed: node --import tsx bench/gpu-rerender.ts docs/benchmarks/gpu-nvidia-h200.json
import { readFileSync, writeFileSync } from 'node:fs';
import { renderReport } from './gpu-report.js';
import type { SuiteResult } from './types.js';

const file = process.argv[2];
if (!file || !file.endsWith('.json')) {
  console.error('usage: node --import tsx bench/gpu-rerender.ts <gpu-….json>');
  process.exit(2);
}
const run = JSON.parse(readFileSync(file, 'utf8')) as SuiteResult & { device: string; date: string };
const md = renderReport(run.device, run.date, 'cuda', run, '1.29.0');
writeFileSync(file.replace(/\.json$/, '.md'), md);
console.log(`wrote ${file.replace(/\.json$/, '.md')}`);
