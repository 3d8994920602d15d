// The annotation view: tool rail, stage, side panel; every shortcut is handled here in one place.
import { useEffect } from 'react';
import type { Controller } from '../state/controller.js';
import { useApp, useController } from '../state/context.js';
import { proposals, type AppState } from '../state/store.js';
import { CanvasStage } from './CanvasStage.js';
import { SidePanel } from './SidePanel.js';

function isTyping(t: EventTarget | null): boolean {
  return t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;
}

/** Handles one key press of the annotation view; returns true when it was used. */
export function handleKey(
  c: Controller,
  s: AppState,
  e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey'>,
): boolean {
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (mod && key === 'z') {
    void c.history(e.shiftKey ? 'redo' : 'undo');
    return true;
  }
  if (mod && key === 'y') {
    void c.history('redo');
    return true;
  }
  if (mod || e.altKey) return false;
  const focus = s.annotations.find((a) => a.id === s.review.focusId && a.status === 'proposed');
  switch (key) {
    case 'Enter':
      if (s.tool === 'prompt') c.promptEvent({ type: 'accept' });
      return true;
    case 'Escape':
      if (s.tool === 'prompt' && (s.prompt.phase !== 'idle' || s.prompt.prompts.points.length > 0))
        c.promptEvent({ type: 'cancel' });
      else if (s.brush.phase === 'painting') c.brushEvent({ type: 'cancel' });
      else c.select(null);
      return true;
    case 'v':
    case 'p':
      c.setTool('prompt');
      return true;
    case 'b':
      c.setTool('brush');
      return true;
    case 'e':
      c.setTool('eraser');
      return true;
    case '[':
    case ']':
      c.brushEvent({ type: 'setRadius', radius: s.brush.radius * (key === ']' ? 1.25 : 0.8) });
      return true;
    case 'd':
    case 'ArrowRight':
      void c.stepImage(1);
      return true;
    case 'a':
    case 'ArrowLeft':
      void c.stepImage(-1);
      return true;
    case 'Delete':
    case 'Backspace':
      if (s.selectedId !== null) void c.deleteAnnotations([s.selectedId]);
      return true;
    case 'h':
      if (s.selectedId !== null) c.toggleHidden(s.selectedId);
      return true;
    case 'j':
      c.focusProposal(1);
      return true;
    case 'k':
      c.focusProposal(-1);
      return true;
    case 'y':
      if (e.shiftKey) void c.acceptProposals({ minScore: s.review.minScore });
      else if (focus) {
        c.focusProposal(1);
        void c.acceptProposals({ ids: [focus.id] });
      }
      return true;
    case 'n':
      if (focus) {
        c.focusProposal(1);
        void c.rejectProposals({ ids: [focus.id] });
      }
      return true;
  }
  if (/^[1-9]$/.test(key)) {
    const cat = s.categories.find((x) => x.key === Number(key));
    if (cat) c.setActiveCategory(cat.id);
    return true;
  }
  return false;
}

export function AnnotateView() {
  const c = useController();
  const tool = useApp((s) => s.tool);
  const radius = useApp((s) => s.brush.radius);
  const brushError = useApp((s) => s.brush.error);
  const promptError = useApp((s) => s.prompt.error);
  const image = useApp((s) => s.images.find((i) => i.id === s.currentImageId) ?? null);
  const index = useApp((s) => s.images.findIndex((i) => i.id === s.currentImageId));
  const count = useApp((s) => s.images.length);
  const nProposed = useApp((s) => proposals(s).length);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (isTyping(e.target)) return;
      if (handleKey(c, c.store.getState(), e)) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [c]);

  return (
    <div className="annotate">
      <div className="rail" role="toolbar" aria-label="Tools">
        <ToolButton
          name="prompt"
          label="Segment"
          hint="V"
          active={tool === 'prompt'}
          onClick={() => c.setTool('prompt')}
          icon="M5 12a7 7 0 1 0 14 0a7 7 0 1 0-14 0M12 9v6M9 12h6"
        />
        <ToolButton
          name="brush"
          label="Brush"
          hint="B"
          active={tool === 'brush'}
          onClick={() => c.setTool('brush')}
          icon="M4 20c3 0 5-2 5-4l9-9-3-3-9 9c-2 0-4 2-4 7z"
        />
        <ToolButton
          name="eraser"
          label="Eraser"
          hint="E"
          active={tool === 'eraser'}
          onClick={() => c.setTool('eraser')}
          icon="M4 16l8-8 6 6-6 6H8zM12 20h8"
        />
        {tool !== 'prompt' && (
          <label className="radius" title="Brush radius ([ / ])">
            <input
              type="range"
              min={1}
              max={100}
              value={radius}
              onChange={(e) => c.brushEvent({ type: 'setRadius', radius: Number(e.target.value) })}
              aria-label="Brush radius"
            />
            <span>{radius}px</span>
          </label>
        )}
        <div className="spacer" />
        <button
          className="icon"
          title="Undo (Ctrl+Z)"
          onClick={() => void c.history('undo')}
          data-testid="undo"
        >
          ↶
        </button>
        <button
          className="icon"
          title="Redo (Ctrl+Shift+Z)"
          onClick={() => void c.history('redo')}
          data-testid="redo"
        >
          ↷
        </button>
      </div>
      <div className="center">
        <div className="imagebar">
          <button
            className="ghost"
            onClick={() => void c.stepImage(-1)}
            disabled={index <= 0}
            title="Previous (A)"
          >
            ‹ Prev
          </button>
          <span className="mono small">
            {image ? `${image.fileName}  ·  ${index + 1} / ${count}  ·  ${image.width}×${image.height}` : ''}
          </span>
          <button
            className="ghost"
            onClick={() => void c.stepImage(1)}
            disabled={index < 0 || index >= count - 1}
            title="Next (D)"
          >
            Next ›
          </button>
          <div className="spacer" />
          {nProposed > 0 && <span className="pill review-pill">{nProposed} to review</span>}
          <select
            value={image?.status ?? 'new'}
            onChange={(e) => void c.setImageStatus(e.target.value as 'new')}
            aria-label="Image status"
          >
            <option value="new">New</option>
            <option value="in_progress">In progress</option>
            <option value="done">Done</option>
            <option value="skipped">Skipped</option>
          </select>
        </div>
        <CanvasStage />
        {(promptError || brushError) && <div className="stage-error">{promptError ?? brushError}</div>}
      </div>
      <SidePanel />
    </div>
  );
}

function ToolButton(p: {
  name: string;
  label: string;
  hint: string;
  active: boolean;
  onClick: () => void;
  icon: string;
}) {
  return (
    <button
      className={p.active ? 'tool active' : 'tool'}
      onClick={p.onClick}
      title={`${p.label} (${p.hint})`}
      data-testid={`tool-${p.name}`}
      aria-pressed={p.active}
    >
      <svg
        width="20"
        height="20"
        viewBox="0 0 24 24"
        fill="none"
        stroke="currentColor"
        strokeWidth="1.8"
        strokeLinecap="round"
        strokeLinejoin="round"
      >
        <path d={p.icon} />
      </svg>
      <span>{p.label}</span>
    </button>
  );
}
