// The shared state of one backend: options, allowed roots, the event bus, the open project, the engine
// host, the model store, jobs and the recent-projects list. Each service file gets this object.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppError, type EventBus } from '../../common/contracts/index.js';
import type { ProviderChoice } from '../engine/index.js';
import type { Project } from '../store/index.js';
import type { EngineHost } from './engine-host.js';
import type { JobRegistry } from './job-registry.js';
import type { ModelStore } from './models-store.js';
import type { PathGuard } from './paths.js';

export interface BackendOptions {
  mode: 'electron' | 'web' | 'test';
  /** App data: recent.json, state.json, models/, the embedding cache. */
  dataDir: string;
  /** Folders path arguments may point into besides the open project (web mode: `--root`). */
  allowedRoots?: string[];
  /** Execution provider preference (default auto). */
  provider?: ProviderChoice;
  /** Embedding disk cache folder; default `<dataDir>/embeddings`; false disables it. */
  embeddingCacheDir?: string | false;
  /** URL the renderer uses for an image (custom protocol in Electron, same-origin path in web mode). */
  imageUrl?: (imageId: number) => string;
  /** Native dialogs (Electron only). Return null when the user cancels. */
  pickFolder?: (title?: string) => Promise<string | null>;
  pickFile?: (title?: string, extensions?: string[]) => Promise<string | null>;
  /** Bundled fixture model folder (default: native-models/fixtures/tinysam-shapes). */
  fixtureModelDir?: string;
  version?: string;
  log?: (line: string) => void;
}

export interface RecentEntry {
  root: string;
  name: string;
  openedAt: number;
}

const RECENT_MAX = 20;

export class BackendState {
  project: Project | null = null;
  /** Name of the open project (kept in recent.json; defaults to the folder name). */
  projectName = '';
  readonly log: (line: string) => void;

  constructor(
    readonly opts: BackendOptions,
    readonly guard: PathGuard,
    readonly bus: EventBus,
    readonly engine: EngineHost,
    readonly models: ModelStore,
    readonly jobs: JobRegistry,
  ) {
    this.log = opts.log ?? (() => undefined);
    mkdirSync(opts.dataDir, { recursive: true });
  }

  /** The open project, or NO_PROJECT. */
  requireProject(): Project {
    if (!this.project) throw new AppError('NO_PROJECT', 'no project is open');
    return this.project;
  }

  private recentFile(): string {
    return path.join(this.opts.dataDir, 'recent.json');
  }

  readRecent(): RecentEntry[] {
    try {
      const raw = JSON.parse(readFileSync(this.recentFile(), 'utf8')) as unknown;
      if (!Array.isArray(raw)) return [];
      return raw.filter(
        (r): r is RecentEntry =>
          typeof r === 'object' &&
          r !== null &&
          typeof r.root === 'string' &&
          typeof r.name === 'string' &&
          typeof r.openedAt === 'number',
      );
    } catch {
      return [];
    }
  }

  rememberRecent(entry: RecentEntry): void {
    const list = [entry, ...this.readRecent().filter((r) => r.root !== entry.root)].slice(0, RECENT_MAX);
    writeFileSync(this.recentFile(), JSON.stringify(list, null, 2));
  }
}
