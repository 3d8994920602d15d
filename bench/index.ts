// `npm run bench [-- --suite <name>[,<name>]] [--provider cpu|cuda] [--quick]`
// Each suite lives in bench/<name>.ts and exports `run(opts): Promise<SuiteResult>`.
// Results print as tables and are written to bench/results/<suite>-<provider>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchOptions, SuiteResult } from './types.js';

const SUITES = ['engine', 'rle', 'store', 'amg', 'app', 'gpu', 'gpucopy'] as const;
type SuiteName = (typeof SUITES)[number];
// The default run skips suites that need a GPU host.
const DEFAULT: SuiteName[] = ['engine', 'rle', 'store', 'amg', 'app'];

const { values } = parseArgs({
  options: {
    suite: { type: 'string' },
    provider: { type: 'string', default: 'cpu' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results' },
  },
  allowPositionals: true,
});

const provider = values.provider === 'cuda' ? 'cuda' : 'cpu';
const names = (values.suite ? values.suite.split(',') : DEFAULT) as SuiteName[];
for (const n of names) {
  if (!SUITES.includes(n)) {
    console.error(`unknown suite "${n}"; known: ${SUITES.join(', ')}`);
    process.exit(2);
  }
}

const opts: BenchOptions = {
  provider,
  quick: values.quick ?? false,
  outDir: path.resolve(values.out ?? 'bench/results'),
};
mkdirSync(opts.outDir, { recursive: true });
let failed = false;
for (const name of names) {
  console.log(`\n## ${name} (${provider})`);
  try {
    const mod = (await import(`./${name}.js`)) as { run: (o: BenchOptions) => Promise<SuiteResult> };
    const result = await mod.run(opts);
    console.table(result.rows);
    for (const note of result.notes ?? []) console.log(`note: ${note}`);
    const file = path.join(opts.outDir, `${name}-${provider}.json`);
    writeFileSync(
      file,
      JSON.stringify({ suite: name, provider, date: new Date().toISOString(), ...result }, null, 2),
    );
    console.log(`wrote ${path.relative(process.cwd(), file)}`);
  } catch (err) {
    failed = true;
    console.error(`suite ${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
}
process.exit(failed ? 1 : 0);
