/**
 * What the batch engine asks before each batch: may it write now, and how fast. Implemented by
 * the operator levers (shared/ops/batch-levers.ts: pause, throttle, time window, emergency
 * rollback); the engine only depends on this shape.
 */
export type BatchHold = "paused" | "outside_window" | "emergency_rollback";

export interface BatchVerdict {
  /** Set when the batch must not run now. */
  readonly hold?: BatchHold;
  /** Users per second the engine must stay under (null: no throttle). */
  readonly maxUsersPerSecond: number | null;
}

export interface BatchGate {
  check(now?: Date): Promise<BatchVerdict>;
}
