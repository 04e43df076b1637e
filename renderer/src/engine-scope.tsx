// The engine a stack screen acts on (issue 15): the window's, or another named engine opened from the
// Fleet. What sits under the screen (logs, container actions, drift timeline, work tree preview) sends
// its name with each request, so one component serves both.
import { createContext, useContext } from 'react';
import { useStore } from './store.tsx';

export interface EngineScope {
  /** Sent as `engine` with requests; undefined: the window's engine, and nothing is sent. */
  engine: string | undefined;
  /** Its Docker endpoint, for the `docker exec` line. */
  endpoint: string | null;
  /** A controller of this app keeps it equal to git (self-heal would undo a stop). */
  controlled: boolean;
}

export const EngineScopeContext = createContext<EngineScope | null>(null);

/** The engine of the screen this is under; the window's when no stack screen on another set one. */
export function useEngineScope(): EngineScope {
  const scope = useContext(EngineScopeContext);
  const { snapshot } = useStore();
  return (
    scope ?? {
      engine: undefined,
      endpoint: snapshot?.engine.endpoint ?? null,
      controlled: !!snapshot?.controller.running,
    }
  );
}

/** What to spread into a request's parameters: `{ engine }`, or nothing for the window's engine. */
export function onEngine(scope: Pick<EngineScope, 'engine'>): { engine?: string } {
  return scope.engine ? { engine: scope.engine } : {};
}
