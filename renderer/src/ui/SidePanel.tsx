// Right-hand panel of the annotation view: categories, the image's annotations, and proposal review.
import { useState, type FormEvent } from 'react';
import { useApp, useAppShallow, useController } from '../state/context.js';
import { colorOf, proposals } from '../state/store.js';
import { SHORTCUTS } from './shortcuts.js';

const PALETTE = [
  '#3b82f6',
  '#22c55e',
  '#f97316',
  '#e11d48',
  '#a855f7',
  '#14b8a6',
  '#eab308',
  '#ec4899',
  '#84cc16',
];

export function SidePanel() {
  return (
    <aside className="side">
      <Categories />
      <Review />
      <AnnotationList />
      <details className="section shortcuts">
        <summary>Keyboard shortcuts</summary>
        <dl>
          {SHORTCUTS.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      </details>
    </aside>
  );
}

function Categories() {
  const c = useController();
  const categories = useApp((s) => s.categories);
  const active = useApp((s) => s.activeCategoryId);
  const [name, setName] = useState('');
  const add = (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return;
    void c.createCategory(name.trim(), PALETTE[categories.length % PALETTE.length]);
    setName('');
  };
  return (
    <section className="section" data-testid="categories">
      <h3>Categories</h3>
      <ul className="cats">
        {categories.map((cat) => (
          <li key={cat.id} className={cat.id === active ? 'cat active' : 'cat'}>
            <button
              className="cat-main"
              onClick={() => c.setActiveCategory(cat.id)}
              data-testid={`category-${cat.name}`}
            >
              <span className="key">{cat.key ?? ''}</span>
              <span className="swatch" style={{ background: cat.color }} />
              <span className="cat-name">{cat.name}</span>
            </button>
            <input
              type="color"
              value={cat.color}
              onChange={(e) => void c.updateCategory(cat.id, { color: e.target.value })}
              aria-label={`Color of ${cat.name}`}
              className="color"
            />
            <button
              className="icon small"
              title="Delete category"
              onClick={() => void c.deleteCategory(cat.id)}
            >
              ×
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={add} className="row">
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="New category"
          name="categoryName"
        />
        <button type="submit" disabled={!name.trim()}>
          Add
        </button>
      </form>
    </section>
  );
}

function AnnotationList() {
  const c = useController();
  const anns = useApp((s) => s.annotations);
  const categories = useApp((s) => s.categories);
  const hidden = useApp((s) => s.hidden);
  const selected = useApp((s) => s.selectedId);
  const accepted = anns.filter((a) => a.status === 'accepted');
  return (
    <section className="section grow" data-testid="annotations">
      <h3>
        Annotations <span className="muted">{accepted.length}</span>
      </h3>
      {accepted.length === 0 && <p className="muted small">Click an object, then press Enter.</p>}
      <ul className="anns">
        {accepted.map((a) => (
          <li key={a.id} className={a.id === selected ? 'ann selected' : 'ann'} data-testid="annotation-row">
            <button className="ann-main" onClick={() => c.select(a.id === selected ? null : a.id)}>
              <span className="swatch" style={{ background: colorOf(categories, a.categoryId) }} />
              <span className="mono">#{a.id}</span>
              <span className="muted small">{a.area.toLocaleString()} px</span>
            </button>
            <select
              value={a.categoryId ?? ''}
              onChange={(e) => void c.relabel([a.id], e.target.value ? Number(e.target.value) : null)}
              aria-label="Category"
            >
              <option value="">—</option>
              {categories.map((cat) => (
                <option key={cat.id} value={cat.id}>
                  {cat.name}
                </option>
              ))}
            </select>
            <button
              className="icon small"
              title={hidden[a.id] ? 'Show' : 'Hide'}
              onClick={() => c.toggleHidden(a.id)}
            >
              {hidden[a.id] ? '◌' : '●'}
            </button>
            <button
              className="icon small danger"
              title="Delete"
              onClick={() => void c.deleteAnnotations([a.id])}
            >
              ×
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Review() {
  const c = useController();
  const list = useAppShallow((s) => proposals(s));
  const focusId = useApp((s) => s.review.focusId);
  const minScore = useApp((s) => s.review.minScore);
  const pointsPerSide = useApp((s) => s.review.pointsPerSide);
  const running = useApp((s) =>
    Object.values(s.jobs).some(
      (j) => j.kind === 'autoAnnotate' && (j.state === 'running' || j.state === 'queued'),
    ),
  );
  const above = list.filter((a) => (a.score ?? 0) >= minScore).length;
  return (
    <section className="section review" data-testid="review">
      <h3>
        Review <span className="muted">{list.length} proposed</span>
      </h3>
      {list.length === 0 ? (
        <div className="stack">
          <span className="muted small">No proposals on this image.</span>
          <div className="row">
            <select
              value={pointsPerSide}
              onChange={(e) =>
                c.store.setState((s) => ({ review: { ...s.review, pointsPerSide: Number(e.target.value) } }))
              }
              aria-label="Prompt grid"
              title="Points per side of the prompt grid: denser finds smaller objects, takes longer"
            >
              <option value={8}>Coarse (8×8)</option>
              <option value={16}>Normal (16×16)</option>
              <option value={32}>Fine (32×32)</option>
            </select>
            <button className="small" onClick={() => void c.startAutoAnnotate(false)} disabled={running}>
              {running ? 'Running…' : 'Auto-annotate'}
            </button>
          </div>
        </div>
      ) : (
        <>
          <label className="row small">
            Score ≥ {minScore.toFixed(2)}
            <input
              type="range"
              min={0}
              max={1}
              step={0.01}
              value={minScore}
              onChange={(e) =>
                c.store.setState((s) => ({ review: { ...s.review, minScore: Number(e.target.value) } }))
              }
              aria-label="Minimum score"
            />
          </label>
          <div className="row wrap">
            <button
              className="primary small"
              onClick={() => void c.acceptProposals({ minScore })}
              disabled={above === 0}
              data-testid="accept-above"
            >
              Accept {above} ≥ score
            </button>
            <button
              className="small"
              onClick={() => void c.acceptProposals({ all: true })}
              data-testid="accept-all"
            >
              Accept all
            </button>
            <button
              className="small danger"
              onClick={() => void c.rejectProposals({ all: true })}
              data-testid="reject-all"
            >
              Reject all
            </button>
          </div>
          <ul className="anns proposals">
            {list.map((a) => (
              <li key={a.id} className={a.id === focusId ? 'ann focused' : 'ann'}>
                <button
                  className="ann-main"
                  onClick={() => c.store.setState((s) => ({ review: { ...s.review, focusId: a.id } }))}
                >
                  <span className="swatch hatched" />
                  <span className="mono">#{a.id}</span>
                  <span className="small">{a.score !== null ? a.score.toFixed(2) : '—'}</span>
                </button>
                <button
                  className="icon small ok"
                  title="Accept (Y)"
                  onClick={() => void c.acceptProposals({ ids: [a.id] })}
                >
                  ✓
                </button>
                <button
                  className="icon small danger"
                  title="Reject (N)"
                  onClick={() => void c.rejectProposals({ ids: [a.id] })}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
          <p className="muted small">J/K to move, Y/N to accept/reject, Shift+Y accepts all ≥ score.</p>
        </>
      )}
    </section>
  );
}
