// What every signed-in page shows besides its own content, given by the route layer through a
// JSX context (the views stay pure functions of what they are given): warnings about settings
// that let people in on a password alone, and what the signed-in admin's role lets them do.
import { createContext, useContext, type Child } from 'hono/jsx';

export interface Frame {
  /** Shown on every page while true, most important first. */
  warnings: readonly string[];
  /** The signed-in admin's role, in words (absent for a full admin: nothing to point out). */
  roleLabel?: string | undefined;
  /** Whether the admin's role lets them send METHOD to PATH (links and forms they cannot use are left out). */
  allows(method: string, path: string): boolean;
}

export const FrameContext = createContext<Frame>({ warnings: [], allows: () => true });

/** Its children only when the signed-in admin's role allows METHOD on PATH (a form, a link). */
export function Allowed(p: { method?: string; path: string; children?: Child }) {
  const frame = useContext(FrameContext);
  return frame.allows(p.method ?? 'POST', p.path) ? <>{p.children}</> : null;
}
