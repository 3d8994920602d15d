// `annotations` and `categories` services. Every mutation is one undo step of the project history.
import {
  AppError,
  contracts,
  type Annotation as ApiAnnotation,
  type Category as ApiCategory,
  type ServiceImpl,
} from '../../common/contracts/index.js';
import { area as rleArea, compress, fromBbox } from '../../common/rle/index.js';
import type { Annotation, Category, Project } from '../store/index.js';
import type { CallContext } from './host.js';
import { requireImage } from './svc-images.js';
import { annotationIdsOfCategory, imageIdsOfStep } from '../store/summaries.js';
import type { BackendState } from './state.js';

/** Name of the category a `null` categoryId stands for. */
export const DEFAULT_CATEGORY = 'object';

/** Store annotation → contract annotation. */
export function toApiAnnotation(a: Annotation): ApiAnnotation {
  const [h, w] = a.size;
  return {
    id: a.id,
    imageId: a.imageId,
    categoryId: a.categoryId,
    // A box-only annotation is drawn as its filled box until boxes→masks replaces it.
    rle: a.rle ?? compress(fromBbox(a.bbox, h, w)),
    bbox: a.bbox,
    area: Math.round(a.area),
    score: a.predictedIou ?? a.score,
    status: a.state === 'proposed' ? 'proposed' : 'accepted',
    boxOnly: a.boxOnly,
    source:
      a.source === 'imported'
        ? 'import'
        : a.source === 'auto'
          ? a.fromBoxId !== null
            ? 'boxesToMasks'
            : 'auto'
          : 'click',
    createdAt: a.createdAt,
    updatedAt: a.updatedAt,
  };
}

export function toApiCategory(c: Category): ApiCategory {
  return { id: c.id, name: c.name, color: c.color, key: c.hotkey };
}

function resolveCategory(p: Project, categoryId: number | null): number {
  if (categoryId === null) return p.categories.ensureCategory({ name: DEFAULT_CATEGORY }).id;
  if (!p.categories.getCategory(categoryId)) throw new AppError('NOT_FOUND', `no category ${categoryId}`);
  return categoryId;
}

function requireAnnotation(p: Project, id: number): Annotation {
  const a = p.annotations.getAnnotation(id);
  if (!a || a.state === 'rejected') throw new AppError('NOT_FOUND', `no annotation ${id}`);
  return a;
}

function scoreOf(a: Annotation): number | null {
  return a.predictedIou ?? a.score;
}

export function annotationsService(s: BackendState): ServiceImpl<typeof contracts.annotations, CallContext> {
  const changed = (imageIds: Iterable<number>): void => {
    const ids = [...new Set(imageIds)].sort((a, b) => a - b);
    if (ids.length === 0) return;
    s.bus.emit('annotations', 'changed', { imageIds: ids });
    s.bus.emit('images', 'changed', { imageIds: ids });
  };

  /** Proposals chosen by ids and/or image, filtered by score. */
  const proposals = (
    p: Project,
    args: { ids?: number[]; imageId?: number },
    keep: (score: number | null) => boolean,
  ): Annotation[] => {
    let list: Annotation[];
    if (args.ids) {
      list = args.ids.map((id) => requireAnnotation(p, id));
      if (args.imageId !== undefined) list = list.filter((a) => a.imageId === args.imageId);
    } else {
      requireImage(p, args.imageId!);
      list = p.annotations.listAnnotationsByImage({ imageId: args.imageId!, states: ['proposed'] });
    }
    return list.filter((a) => a.state === 'proposed' && keep(scoreOf(a)));
  };

  const history = (p: Project, step: { id: number; label: string } | null) => {
    const imageIds = step ? imageIdsOfStep(p.db, step.id) : [];
    changed(imageIds);
    if (step) s.bus.emit('categories', 'changed', p.categories.listCategories().map(toApiCategory));
    return {
      changed: step !== null,
      label: step?.label ?? null,
      imageIds,
      canUndo: p.history.peekUndo() !== null,
      canRedo: p.history.peekRedo() !== null,
    };
  };

  return {
    list({ imageId }) {
      const p = s.requireProject();
      requireImage(p, imageId);
      return p.annotations
        .listAnnotationsByImage({ imageId, states: ['proposed', 'accepted'] })
        .map(toApiAnnotation);
    },
    create({ imageId, categoryId, rle, score, source }) {
      const p = s.requireProject();
      const img = requireImage(p, imageId);
      if (rleArea(rle) === 0) throw new AppError('INVALID_ARGUMENT', 'the mask is empty');
      const created = p.edit(`create annotation on image ${imageId}`, () => {
        const a = p.annotations.createAnnotation({
          imageId,
          categoryId: resolveCategory(p, categoryId),
          rle,
          predictedIou: score,
          source: 'manual',
          state: 'accepted',
        });
        if (img.status === 'new') p.images.setImageStatus({ id: imageId, status: 'in_progress' });
        return a;
      });
      s.log(`annotation ${created.id} created (${source}) on image ${imageId}`);
      changed([imageId]);
      return toApiAnnotation(created);
    },
    updateMask({ id, rle }) {
      const p = s.requireProject();
      const cur = requireAnnotation(p, id);
      if (rleArea(rle) === 0)
        throw new AppError('INVALID_ARGUMENT', 'the mask is empty; delete the annotation instead');
      const a = p.edit(`edit mask ${id}`, () =>
        p.annotations.updateAnnotation({ id, rle, score: null, predictedIou: null }),
      );
      changed([cur.imageId]);
      return toApiAnnotation(a);
    },
    relabel({ ids, categoryId }) {
      const p = s.requireProject();
      const list = ids.map((id) => requireAnnotation(p, id));
      const out = p.edit(`relabel ${ids.length}`, () => {
        const cat = resolveCategory(p, categoryId);
        return ids.map((id) => p.annotations.updateAnnotation({ id, categoryId: cat }));
      });
      changed(list.map((a) => a.imageId));
      return out.map(toApiAnnotation);
    },
    delete({ ids }) {
      const p = s.requireProject();
      const list = [...new Set(ids)].map((id) => requireAnnotation(p, id));
      p.edit(`delete ${list.length}`, () => p.annotations.removeAnnotations({ ids: list.map((a) => a.id) }));
      changed(list.map((a) => a.imageId));
      return { deleted: list.length };
    },
    accept({ ids, imageId, minScore, categoryId }) {
      const p = s.requireProject();
      const list = proposals(
        p,
        { ids, imageId },
        (sc) => minScore === undefined || (sc !== null && sc >= minScore),
      );
      if (list.length > 0) {
        p.edit(`accept ${list.length}`, () => {
          const cat = categoryId === undefined ? undefined : resolveCategory(p, categoryId);
          for (const a of list)
            p.annotations.updateAnnotation({
              id: a.id,
              state: 'accepted',
              ...(cat !== undefined ? { categoryId: cat } : {}),
            });
        });
      }
      changed(list.map((a) => a.imageId));
      return { accepted: list.length };
    },
    reject({ ids, imageId, maxScore }) {
      const p = s.requireProject();
      const list = proposals(
        p,
        { ids, imageId },
        (sc) => maxScore === undefined || (sc !== null && sc < maxScore),
      );
      if (list.length > 0)
        p.edit(`reject ${list.length}`, () =>
          p.annotations.setAnnotationState({ ids: list.map((a) => a.id), state: 'rejected' }),
        );
      changed(list.map((a) => a.imageId));
      return { rejected: list.length };
    },
    undo() {
      const p = s.requireProject();
      return history(p, p.undo());
    },
    redo() {
      const p = s.requireProject();
      return history(p, p.redo());
    },
  };
}

export function categoriesService(s: BackendState): ServiceImpl<typeof contracts.categories, CallContext> {
  const all = (p: Project): ApiCategory[] => p.categories.listCategories().map(toApiCategory);
  const emit = (p: Project): void => s.bus.emit('categories', 'changed', all(p));
  return {
    list() {
      return all(s.requireProject());
    },
    create({ name, color, key }) {
      const p = s.requireProject();
      const c = p.edit(`create category ${name}`, () =>
        p.categories.createCategory({ name, ...(color !== undefined ? { color } : {}), hotkey: key ?? null }),
      );
      emit(p);
      return toApiCategory(c);
    },
    update({ id, name, color, key }) {
      const p = s.requireProject();
      const c = p.edit(`edit category ${id}`, () =>
        p.categories.updateCategory({
          id,
          ...(name !== undefined ? { name } : {}),
          ...(color !== undefined ? { color } : {}),
          ...(key !== undefined ? { hotkey: key } : {}),
        }),
      );
      emit(p);
      return toApiCategory(c);
    },
    delete({ id, reassignTo }) {
      const p = s.requireProject();
      if (!p.categories.getCategory(id)) throw new AppError('NOT_FOUND', `no category ${id}`);
      if (reassignTo === id) throw new AppError('INVALID_ARGUMENT', 'reassignTo must be another category');
      if (reassignTo !== undefined && !p.categories.getCategory(reassignTo))
        throw new AppError('NOT_FOUND', `no category ${reassignTo}`);
      const moved = annotationIdsOfCategory(p.db, id);
      if (moved.length > 0 && reassignTo === undefined) {
        throw new AppError(
          'CONFLICT',
          `category ${id} is used by ${moved.length} annotation(s); give reassignTo`,
        );
      }
      const images = new Set<number>();
      p.edit(`delete category ${id}`, () => {
        for (const annId of moved)
          images.add(p.annotations.updateAnnotation({ id: annId, categoryId: reassignTo! }).imageId);
        p.categories.removeCategory(id);
      });
      emit(p);
      if (images.size) {
        s.bus.emit('annotations', 'changed', { imageIds: [...images] });
      }
      return null;
    },
  };
}
