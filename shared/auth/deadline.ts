/**
 * Bounding an operation by MIGRATION_FALLBACK_TIMEOUT without losing track of it: a timed-out
 * operation keeps running (a write may still land), and its late outcome is handed back so the
 * caller can settle it (resolve a divergence, or undo a write nobody was told about).
 */
export type Bounded<T> =
  | { readonly kind: "done"; readonly value: T }
  | { readonly kind: "timeout"; readonly late: Promise<T> };

export async function withDeadline<T>(
  operation: Promise<T>,
  timeoutMs: number,
  onTimeout?: () => void,
): Promise<Bounded<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const winner = await Promise.race([
      operation.then((value) => ({ value })),
      timedOut,
    ]);
    if (winner === "timeout") {
      onTimeout?.();
      return { kind: "timeout", late: operation };
    }
    return { kind: "done", value: winner.value };
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms` (used to pad failed logins to a constant duration). */
export function sleep(ms: number): Promise<void> {
  return ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms));
}
