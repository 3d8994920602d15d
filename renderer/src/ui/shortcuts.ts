// The shortcut table shown in the side panel; handleKey in AnnotateView implements it.

/** Keys and what they do, for the help list. */
export const SHORTCUTS: [string, string][] = [
  ['Click / Alt+click / right-click', 'Positive / negative point'],
  ['Drag', 'Box prompt'],
  ['Enter / Esc', 'Accept mask / clear prompt'],
  ['1–9', 'Category (relabels the selection)'],
  ['V · B · E', 'Prompt · brush · eraser'],
  ['[ / ]', 'Brush size'],
  ['Ctrl+Z / Ctrl+Shift+Z', 'Undo / redo'],
  ['A / D or ← / →', 'Previous / next image'],
  ['Del', 'Delete selected'],
  ['H', 'Hide / show selected'],
  ['J / K', 'Next / previous proposal'],
  ['Y / N', 'Accept / reject proposal'],
  ['Shift+Y', 'Accept proposals ≥ threshold'],
  ['Space+drag, wheel', 'Pan, zoom'],
];
