/**
 * A small typed dependency-injection container: no decorators, no reflect-metadata. Services
 * are registered under typed tokens with (possibly async) factories, created once on first use,
 * and disposed in reverse creation order.
 */
export interface Token<T> {
  readonly name: string;
  /** Phantom field: carries T for type inference only. */
  readonly __type?: T;
}

export function token<T>(name: string): Token<T> {
  return { name };
}

export type Factory<T> = (container: Container) => T | Promise<T>;
export type Disposer<T> = (instance: T) => void | Promise<void>;

interface Registration<T> {
  readonly factory: Factory<T>;
  readonly dispose?: Disposer<T>;
}

export class Container {
  readonly #registrations = new Map<string, Registration<unknown>>();
  readonly #instances = new Map<string, Promise<unknown>>();
  readonly #creationOrder: string[] = [];
  #disposed = false;

  /** Registers (or replaces, before first use) the factory for a token. */
  register<T>(key: Token<T>, factory: Factory<T>, dispose?: Disposer<T>): this {
    if (this.#instances.has(key.name)) {
      throw new Error(`cannot re-register ${key.name}: it is already in use`);
    }
    this.#registrations.set(key.name, { factory, dispose } as Registration<unknown>);
    return this;
  }

  /** Registers an already-built value (e.g. config, or a test's instance). */
  value<T>(key: Token<T>, instance: T): this {
    return this.register(key, () => instance);
  }

  has(key: Token<unknown>): boolean {
    return this.#registrations.has(key.name);
  }

  /** Resolves a singleton, creating it (and its dependencies) on first use. */
  get<T>(key: Token<T>): Promise<T> {
    if (this.#disposed) return Promise.reject(new Error("container is disposed"));
    const existing = this.#instances.get(key.name);
    if (existing) return existing as Promise<T>;
    const registration = this.#registrations.get(key.name);
    if (!registration) return Promise.reject(new Error(`nothing is registered for ${key.name}`));
    const created = Promise.resolve().then(() => registration.factory(this));
    this.#instances.set(key.name, created);
    created.then(
      () => this.#creationOrder.push(key.name),
      () => this.#instances.delete(key.name),
    );
    return created as Promise<T>;
  }

  /** Disposes created instances in reverse creation order (closes pools, flushes Sentry...). */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const errors: unknown[] = [];
    for (const name of [...this.#creationOrder].reverse()) {
      const registration = this.#registrations.get(name);
      if (!registration?.dispose) continue;
      try {
        await registration.dispose(await this.#instances.get(name));
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, "errors while disposing the container");
  }
}
