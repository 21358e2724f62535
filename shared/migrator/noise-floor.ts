/**
 * The shadow noise floor, as Twitter's Diffy learns it: besides the primary (the implementation
 * that answered) and the candidate (the other one, run as the shadow), a sample of requests runs
 * the PRIMARY implementation a second time (the "secondary"), concurrently with the candidate.
 * Whatever differs between two runs of the same implementation is noise: a write that landed
 * between the primary's read and the shadow's (trust_score, current_load, last_assigned_*), a
 * clock, an ordering that depends on timing. A candidate mismatch on a path is reported as noise,
 * not disagreement, when that path differs about as often between primary and secondary.
 *
 * Diffy (twitter-archive/diffy, src/main/scala/com/twitter/diffy/analysis/JoinedDifferences.scala)
 * keeps raw (primary vs candidate) and noise (primary vs secondary) difference counts per endpoint
 * and field, and calls a field a real difference when
 *   raw > noise  &&  |raw − noise| / (raw + noise) > relative  &&  |raw − noise| / total > absolute
 * with defaults relative = 20 %, absolute = 0.03 % (DiffyServiceModule.scala). Diffy sends every
 * request to all three; here the secondary runs on a sample, so counts become RATES (differences
 * per comparison of each kind), and the relative threshold is wider by default (50 %: a path is a
 * disagreement once the candidate differs on it more than three times as often as the primary
 * differs from itself) because a sampled rate is itself noisy.
 *
 * Per operation ("coordinator" / "agents.list"), per path with array indices generalised
 * ("data.3.trust_score" → "data.*.trust_score", so noise learned on one item covers all items).
 * Counts decay exponentially (half-life `halfLifeMs`): recent samples weigh most, so a path stops
 * being excused soon after its noise stops being observed (e.g. the racing writer is gone), and
 * evidence older than a few half-lives (less than one comparison's weight left) excuses nothing.
 *
 * Kept per instance, in memory: a new instance has seen no noise yet, so its first mismatches are
 * reported as disagreements. That errs toward reporting, never toward hiding a difference.
 */

export interface NoiseFloorOptions {
  /** Share of shadowed requests that also re-run the primary (0 disables; 1 = every one). */
  readonly sampleRate: number;
  /** Half-life of every count, in ms. */
  readonly halfLifeMs: number;
  /** Diffy's relative threshold as a fraction (default 0.5). */
  readonly relativeThreshold?: number;
  /** Diffy's absolute threshold as a fraction of comparisons (default 0.0003 = 0.03 %). */
  readonly absoluteThreshold?: number;
  readonly random?: () => number;
  readonly now?: () => number;
}

export interface Classification {
  /** Differing paths explained by the noise floor. */
  readonly noise: string[];
  /** Differing paths the candidate disagrees on. */
  readonly disagreement: string[];
}

/** A count that halves every half-life. */
class Decaying {
  #value = 0;
  #at = 0;
  constructor(private readonly halfLifeMs: number) {}

  value(now: number): number {
    if (this.#value === 0) return 0;
    return this.#value * Math.pow(2, -(Math.max(0, now - this.#at)) / this.halfLifeMs);
  }

  add(now: number, amount = 1): void {
    this.#value = this.value(now) + amount;
    this.#at = now;
  }
}

class Counts {
  readonly total: Decaying;
  readonly paths = new Map<string, Decaying>();
  constructor(private readonly halfLifeMs: number) {
    this.total = new Decaying(halfLifeMs);
  }

  observe(now: number, paths: readonly string[]): void {
    this.total.add(now);
    for (const path of new Set(paths.map(generalisePath))) {
      let count = this.paths.get(path);
      if (!count) this.paths.set(path, count = new Decaying(this.halfLifeMs));
      count.add(now);
    }
  }

  /**
   * Differences on `path` per comparison, recent ones weighing more. Evidence that has decayed
   * below one effective comparison (no sample for several half-lives) counts as none.
   */
  rate(now: number, path: string): number {
    const total = this.total.value(now);
    return total >= 1 ? (this.paths.get(path)?.value(now) ?? 0) / total : 0;
  }
}

/** "data.3.trust_score" → "data.*.trust_score". */
export function generalisePath(path: string): string {
  return path.split(".").map((segment) => /^\d+$/.test(segment) ? "*" : segment).join(".");
}

/** Diffy's filter, on rates: is the candidate's difference rate on a path above the noise? */
export function isRealDifference(
  raw: number,
  noise: number,
  relativeThreshold: number,
  absoluteThreshold: number,
): boolean {
  if (raw <= noise) return false;
  const relative = (raw - noise) / (raw + noise);
  return relative > relativeThreshold && raw - noise > absoluteThreshold;
}

export class NoiseFloor {
  readonly #options: NoiseFloorOptions;
  readonly #raw = new Map<string, Counts>();
  readonly #noise = new Map<string, Counts>();
  readonly #now: () => number;
  readonly #random: () => number;

  constructor(options: NoiseFloorOptions) {
    if (!(options.sampleRate >= 0 && options.sampleRate <= 1)) {
      throw new RangeError("sampleRate must be between 0 and 1");
    }
    if (!(options.halfLifeMs > 0)) throw new RangeError("halfLifeMs must be > 0");
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  /** Whether this comparison also re-runs the primary. */
  sample(): boolean {
    return this.#options.sampleRate > 0 && this.#random() < this.#options.sampleRate;
  }

  /** Primary vs candidate, every comparison (a match observes no path). */
  observeCandidate(key: string, differingPaths: readonly string[]): void {
    this.#counts(this.#raw, key).observe(this.#now(), differingPaths);
  }

  /** Primary vs secondary (two runs of the same implementation). */
  observeSecondary(key: string, differingPaths: readonly string[]): void {
    this.#counts(this.#noise, key).observe(this.#now(), differingPaths);
  }

  /** Splits a comparison's differing paths into noise and disagreement. */
  classify(key: string, differingPaths: readonly string[]): Classification {
    const now = this.#now();
    const raw = this.#raw.get(key);
    const noise = this.#noise.get(key);
    const out: Classification = { noise: [], disagreement: [] };
    for (const path of differingPaths) {
      const general = generalisePath(path);
      const noiseRate = noise?.rate(now, general) ?? 0;
      const rawRate = raw?.rate(now, general) ?? 1;
      const real = noiseRate === 0 ||
        isRealDifference(
          rawRate,
          noiseRate,
          this.#options.relativeThreshold ?? 0.5,
          this.#options.absoluteThreshold ?? 0.0003,
        );
      (real ? out.disagreement : out.noise).push(path);
    }
    return out;
  }

  /** Learned rates of one operation (diagnostics, tests). */
  rates(key: string): Record<string, { candidate: number; secondary: number }> {
    const now = this.#now();
    const raw = this.#raw.get(key);
    const noise = this.#noise.get(key);
    const paths = new Set([...(raw?.paths.keys() ?? []), ...(noise?.paths.keys() ?? [])]);
    const out: Record<string, { candidate: number; secondary: number }> = {};
    for (const path of [...paths].sort()) {
      out[path] = { candidate: raw?.rate(now, path) ?? 0, secondary: noise?.rate(now, path) ?? 0 };
    }
    return out;
  }

  #counts(map: Map<string, Counts>, key: string): Counts {
    let counts = map.get(key);
    if (!counts) map.set(key, counts = new Counts(this.#options.halfLifeMs));
    return counts;
  }
}

/** The key of one operation of one function. */
export function noiseKey(functionName: string, operation: string): string {
  return `${functionName}/${operation}`;
}
