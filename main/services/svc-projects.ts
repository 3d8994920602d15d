// `projects` and `app` services: opening and creating projects, folder import, stats, host info.
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { AppError, contracts, type ProjectInfo, type ServiceImpl } from '../../common/contracts/index.js';
import { importFolder, initProject, openProject, PROJECT_FILE, type Project } from '../store/index.js';
import type { CallContext } from './host.js';
import { restoreUnfinishedJobs } from './svc-jobs.js';
import { isInside, realpathAllowMissing } from './paths.js';
import { acceptedByCategory } from '../store/summaries.js';
import type { BackendState } from './state.js';

function info(s: BackendState, p: Project): ProjectInfo {
  return {
    root: p.dir,
    name: s.projectName,
    createdAt: p.settings.getSettings().createdAt,
    imageCount: p.images.imageCounts().total,
  };
}

/** Closes the open project: its jobs are cancelled first. */
export async function closeProject(s: BackendState): Promise<void> {
  const p = s.project;
  if (!p) return;
  await s.jobs.cancelAll();
  s.engine.resetProjectState();
  s.project = null;
  p.close();
  s.bus.emit('projects', 'changed', null);
}

async function adopt(s: BackendState, p: Project, name: string | undefined): Promise<ProjectInfo> {
  await closeProject(s);
  s.project = p;
  s.guard.add(p.dir);
  // The image root normally is the project folder; one stored elsewhere is honoured only when it is
  // already an allowed folder, so a crafted project file cannot open the rest of the disk.
  if (existsSync(p.root) && (isInside(realpathSync(p.dir), realpathSync(p.root)) || s.guard.allows(p.root)))
    s.guard.add(p.root);
  else
    s.log(
      `project ${p.dir}: image root ${p.root} is outside the allowed folders; its images will not be served`,
    );
  const known = s.readRecent().find((r) => r.root === p.dir);
  s.projectName = name ?? known?.name ?? path.basename(p.dir);
  s.rememberRecent({ root: p.dir, name: s.projectName, openedAt: Date.now() });
  restoreUnfinishedJobs(s, p);
  const i = info(s, p);
  s.bus.emit('projects', 'changed', i);
  return i;
}

export function projectsService(s: BackendState): ServiceImpl<typeof contracts.projects, CallContext> {
  return {
    async create({ root, name }) {
      const dir = s.guard.confine(root, { what: 'project folder' });
      if (existsSync(path.join(dir, PROJECT_FILE)))
        throw new AppError('CONFLICT', `${dir} already holds a project; open it instead`);
      return adopt(s, await initProject(dir), name);
    },
    async open({ root }) {
      const abs = path.resolve(root);
      // Projects opened before stay reachable even when their folder is not an allowed root this session.
      const recent = s.readRecent().some((r) => r.root === abs);
      const dir = recent ? abs : s.guard.confine(root, { what: 'project folder', mustExist: 'dir' });
      return adopt(s, await openProject(dir), undefined);
    },
    async close() {
      await closeProject(s);
      return null;
    },
    current() {
      return s.project ? info(s, s.project) : null;
    },
    recent() {
      return s.readRecent().map((r) => ({ ...r, exists: existsSync(path.join(r.root, PROJECT_FILE)) }));
    },
    importFolder({ dir, recursive }) {
      const p = s.requireProject();
      if (!recursive)
        throw new AppError('UNSUPPORTED', 'folder import is always recursive; pass recursive: true');
      const folder = s.guard.confine(dir, { base: p.root, mustExist: 'dir', what: 'image folder' });
      if (!isInside(realpathSync(p.root), folder)) {
        throw new AppError(
          'PATH_OUTSIDE_ROOT',
          `images must be inside the project folder ${p.root}; copy them there first`,
        );
      }
      return s.jobs.start(
        'importFolder',
        `scanning ${path.basename(folder)}`,
        async (ctl) => {
          const r = await importFolder(p, folder, {
            signal: ctl.signal,
            onProgress: ({ done, total, path: file }) => ctl.progress(done, total, file),
          });
          s.bus.emit('images', 'changed', { imageIds: [] });
          if (s.project === p) s.bus.emit('projects', 'changed', info(s, p));
          const parts = [`${r.added.length} added`, `${r.unchanged} unchanged`];
          if (r.moved.length) parts.push(`${r.moved.length} moved`);
          if (r.duplicates.length) parts.push(`${r.duplicates.length} duplicates skipped`);
          if (r.missing.length) parts.push(`${r.missing.length} missing`);
          if (r.unreadable.length)
            parts.push(
              `${r.unreadable.length} unreadable (${r.unreadable[0]!.path}: ${r.unreadable[0]!.reason})`,
            );
          return parts.join(', ');
        },
        { pausable: false },
      );
    },
    stats() {
      const p = s.requireProject();
      const images = p.images.imageCounts();
      const anns = p.annotations.annotationCounts();
      return {
        images: images.total,
        imagesByStatus: {
          new: images.new,
          in_progress: images.in_progress,
          done: images.done,
          skipped: images.skipped,
        },
        annotations: anns.accepted,
        proposed: anns.proposed,
        categories: p.categories.listCategories().length,
        annotationsByCategory: acceptedByCategory(p.db),
      };
    },
  };
}

export function appService(s: BackendState): ServiceImpl<typeof contracts.app, CallContext> {
  return {
    info() {
      return {
        mode: s.opts.mode,
        version: s.opts.version ?? '0.1.0',
        allowedRoots: s.guard.roots(),
        sep: path.sep === '\\' ? '\\' : '/',
      };
    },
    async pickFolder({ title }) {
      if (!s.opts.pickFolder)
        throw new AppError(
          'UNSUPPORTED',
          'no folder picker in web mode: type a path inside an allowed folder',
        );
      const chosen = await s.opts.pickFolder(title);
      return { path: chosen === null ? null : s.guard.add(chosen) };
    },
    async pickFile({ title, extensions }) {
      if (!s.opts.pickFile)
        throw new AppError('UNSUPPORTED', 'no file picker in web mode: type a path inside an allowed folder');
      const chosen = await s.opts.pickFile(title, extensions);
      if (chosen === null) return { path: null };
      s.guard.add(path.dirname(chosen));
      return { path: realpathAllowMissing(chosen) };
    },
  };
}
