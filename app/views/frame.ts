// What every signed-in page shows besides its own content, given by the route layer through a
// JSX context (the views stay pure functions of what they are given): warnings about settings
// that let people in on a password alone.
import { createContext } from 'hono/jsx';

export interface Frame {
  /** Shown on every page while true, most important first. */
  warnings: readonly string[];
}

export const FrameContext = createContext<Frame>({ warnings: [] });
