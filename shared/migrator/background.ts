/**
 * Work that must finish after the response has been sent (shadow runs, metric flushes,
 * abandoned attempts). On Supabase, `EdgeRuntime.waitUntil` keeps the isolate alive until each
 * promise settles; everywhere (including there) the promises are also tracked so tests and
 * shutdown can `drain()` them.
 */
import { currentRuntime } from "../runtime/mod.ts";

export class BackgroundTasks {
  readonly #pending = new Set<Promise<unknown>>();
  readonly #drainHooks = new Set<() => void>();
  readonly #onError: (error: unknown) => void;

  constructor(options: { onError?: (error: unknown) => void } = {}) {
    this.#onError = options.onError ?? (() => {});
  }

  /** Runs `task` off the response path. Its rejection is reported, never unhandled. */
  track(task: Promise<unknown>): void {
    const settled = task.then(() => {}, this.#onError);
    this.#pending.add(settled);
    settled.finally(() => this.#pending.delete(settled));
    try {
      currentRuntime().waitUntil(settled);
    } catch (error) {
      // waitUntil outside a request (e.g. at shutdown) may throw; tracking still holds it.
      this.#onError(error);
    }
  }

  get size(): number {
    return this.#pending.size;
  }

  /**
   * Registers a hook that drain() calls before each wait, so deferred work (a batch writer's
   * timer) can start now instead of making drain() wait out its delay. Returns an unregister.
   */
  onDrain(hook: () => void): () => void {
    this.#drainHooks.add(hook);
    return () => this.#drainHooks.delete(hook);
  }

  /** Resolves when every tracked task (including tasks started while draining) has settled. */
  async drain(): Promise<void> {
    while (true) {
      for (const hook of this.#drainHooks) hook();
      if (this.#pending.size === 0) return;
      await Promise.all([...this.#pending]);
    }
  }
}
