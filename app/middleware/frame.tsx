// Every page of the signed-in UI is rendered inside its frame (app/views/frame.ts): routes call
// c.render(page, status) and this middleware supplies what the frame shows.
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { Child } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { FrameContext, type Frame } from '../views/frame.js';
import type { WebEnv } from '../web-env.js';

declare module 'hono' {
  interface ContextRenderer {
    (content: Child, status?: ContentfulStatusCode): Response | Promise<Response>;
  }
}

/** `frame` is asked at each render, with the request (whose session says who is signed in). */
export function pageFrame(frame: (c: Context<WebEnv>) => Frame) {
  return createMiddleware<WebEnv>(async (c, next) => {
    c.setRenderer((content, status) => c.html(<FrameContext.Provider value={frame(c)}>{content}</FrameContext.Provider>, status ?? 200));
    await next();
  });
}
