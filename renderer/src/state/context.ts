// React access to the one store and the controller.
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import type { Controller } from './controller.js';
import type { AppState } from './store.js';

export const ControllerContext = createContext<Controller | null>(null);

/** The controller of this app instance. */
export function useController(): Controller {
  const c = useContext(ControllerContext);
  if (!c) throw new Error('useController outside <ControllerContext.Provider>');
  return c;
}

/** Subscribes a component to a slice of the store. */
export function useApp<T>(selector: (s: AppState) => T): T {
  return useStore(useController().store, selector);
}

/** Like useApp for selectors that build a new array/object: re-renders only when its items change. */
export function useAppShallow<T>(selector: (s: AppState) => T): T {
  return useStore(useController().store, useShallow(selector));
}
