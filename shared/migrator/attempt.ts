/** Running one implementation once: outcomes as data, timeouts without leaks. */
import { REDACTED, redactString } from "../observability/redact.ts";
import type { Handler, HandlerContext } from "./types.ts";

export type Outcome =
  | { readonly kind: "response"; readonly response: Response }
  | { readonly kind: "error"; readonly error: unknown };

/** Calls a handler; never rejects (a throw, or a non-Response, becomes an error outcome). */
export async function invoke(
  handler: Handler,
  req: Request,
  ctx: HandlerContext,
): Promise<Outcome> {
  try {
    const response = await handler(req, ctx);
    if (!(response instanceof Response)) {
      return { kind: "error", error: new TypeError("handler did not return a Response") };
    }
    if (response.type === "error") {
      // Response.error() (status 0) cannot be sent to a client: treat it as a failure.
      return { kind: "error", error: new TypeError("handler returned a network error") };
    }
    return { kind: "response", response };
  } catch (error) {
    return { kind: "error", error };
  }
}

export const TIMED_OUT = Symbol("timed out");

/** Resolves with `promise`'s value, or TIMED_OUT after `ms`; the timer is always cleared. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(TIMED_OUT), ms);
    promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    }, (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Frees an outcome nobody will read (an abandoned or replaced attempt's response body). */
export async function discard(outcome: Outcome): Promise<void> {
  if (outcome.kind === "response" && outcome.response.body && !outcome.response.bodyUsed) {
    await outcome.response.body.cancel().catch(() => {});
  }
}

/** True for the outcomes that trigger a fallback: a throw or a 5xx. */
export function isFailure(outcome: Outcome): boolean {
  return outcome.kind === "error" || outcome.response.status >= 500;
}

/**
 * For metrics and comparisons. Handler error messages are not trusted to be clean: known secret
 * shapes (redactString) and `password=…`-style pairs are scrubbed.
 */
export function describeFailure(outcome: Outcome): string {
  if (outcome.kind === "response") return `responded ${outcome.response.status}`;
  const error = outcome.error;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `threw ${scrubErrorText(text)}`;
}

const SECRET_PAIR =
  /\b(pass(?:word|wd)?|secret|token|api[-_]?key|authorization|cookie|credential)(["']?\s*[=:]\s*["']?)[^\s"',;&]+/gi;

export function scrubErrorText(text: string): string {
  return redactString(text.slice(0, 2000)).replace(SECRET_PAIR, `$1$2${REDACTED}`);
}
