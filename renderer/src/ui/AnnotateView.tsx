// The annotation view: tool rail, stage, side panel; every shortcut is handled here in one place.
import { useEffect } from 'react';
import type { Controller } from '../state/controller.js';
import { useApp, useController } from '../state/context.js';
import { proposals, type AppState } from '../state/store.js';
import { commandForKey, type KeyCommand, type KeyContext } from '../editor/keymap.js';
import { CanvasStage } from './CanvasStage.js';
import { SidePanel } from './SidePanel.js';

function isTyping(t: EventTarget | null): boolean {
  return t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;
}

/** The state of the store that key decisions depend on. */
export function keyContext(s: AppState): KeyContext {
  const p = s.prompt;
  const focus = s.annotations.find((a) => a.id === s.review.focusId && a.status === 'proposed');
  return {
    tool: s.tool,
    promptActive: p.phase !== 'idle' || p.prompts.points.length > 0 || p.prompts.box !== null,
    painting: s.brush.phase === 'painting',
    selectedId: s.selectedId,
    focusedProposalId: focus?.id ?? null,
    categoryByKey: new Map(s.categories.filter((c) => c.key !== null).map((c) => [c.key!, c.id])),
  };
}

/** Runs a key command through the controller. */
export function runCommand(c: Controller, s: AppState, cmd: KeyCommand): void {
  switch (cmd.type) {
    case 'undo':
    case 'redo':
      void c.history(cmd.type);
      return;
    case 'acceptPrompt':
      return c.promptEvent({ type: 'accept' });
    case 'cancelPrompt':
      return c.promptEvent({ type: 'cancel' });
    case 'cancelStroke':
      return c.brushEvent({ type: 'cancel' });
    case 'deselect':
      return c.select(null);
    case 'tool':
      return c.setTool(cmd.tool);
    case 'brushRadius':
      return c.brushEvent({ type: 'setRadius', radius: s.brush.radius * cmd.factor });
    case 'stepImage':
      void c.stepImage(cmd.delta);
      return;
    case 'deleteSelected':
      void c.deleteAnnotations([cmd.id]);
      return;
    case 'toggleHidden':
      return c.toggleHidden(cmd.id);
    case 'focusProposal':
      return c.focusProposal(cmd.delta);
    case 'acceptProposal':
    case 'rejectProposal':
      // Move the focus on first, so the next Y/N acts on the next proposal.
      c.focusProposal(1);
      void (cmd.type === 'acceptProposal'
        ? c.acceptProposals({ ids: [cmd.id] })
        : c.rejectProposals({ ids: [cmd.id] }));
      return;
    case 'acceptAboveScore':
      void c.acceptProposals({ minScore: s.review.minScore });
      return;
    case 'category':
      return c.setActiveCategory(cmd.id);
  }
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
      const s = c.store.getState();
      const cmd = commandForKey(keyContext(s), e);
      if (!cmd) return;
      e.preventDefault();
      runCommand(c, s, cmd);
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
