/**
 * The atomic hand-off between a running attempt and the migrator. JavaScript runs one callback at
 * a time, so claim() and close() cannot interleave: exactly one of them wins.
 * - The handler claims right before its first durable write; after a claim the migrator may no
 *   longer give up on the attempt (it waits for it instead of running the other implementation).
 * - The migrator closes the gate when it gives up (timeout); a later claim() returns false and
 *   the handler must not write.
 */
export type GateState = "open" | "claimed" | "closed";

export class CommitGate {
  #state: GateState;

  /** A plan-mode gate starts closed: a plan run never commits. */
  constructor(initial: "open" | "closed" = "open") {
    this.#state = initial;
  }

  get state(): GateState {
    return this.#state;
  }

  get claimed(): boolean {
    return this.#state === "claimed";
  }

  /** For the handler. True = write allowed (and now committed to); false = do not write. */
  claim = (): boolean => {
    if (this.#state === "open") this.#state = "claimed";
    return this.#state === "claimed";
  };

  /** For the migrator. True = closed before any claim (safe to abandon); false = already claimed. */
  close(): boolean {
    if (this.#state === "open") this.#state = "closed";
    return this.#state === "closed";
  }
}
