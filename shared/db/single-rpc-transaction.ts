/**
 * The transaction-bound service of the supabase provider. PostgREST cannot hold a transaction
 * across requests, so a unit of work may make one `rpc` call (a database function runs atomically
 * in PostgREST's own transaction) and nothing else.
 */
import { AppError, err, type Result } from "../result.ts";
import type { IDatabaseService, Row } from "./database-service.ts";

/** Allows one rpc; any other call is refused with `unavailable`, and so is the whole unit. */
export class SingleRpcTransaction implements IDatabaseService {
  readonly provider = "supabase" as const;
  /** The first refusal; set means the unit of work must fail with it. */
  refusal: AppError | undefined;
  #rpcCalled: string | undefined;

  constructor(private readonly service: Pick<IDatabaseService, "rpc">) {}

  #refuse<T>(operation: string): Promise<Result<T, AppError>> {
    const committed = this.#rpcCalled;
    const error = new AppError(
      "unavailable",
      committed
        ? `the supabase provider cannot run ${operation} in the transaction: rpc ${committed} was already committed`
        : `the supabase provider cannot run ${operation} in a transaction; use a single rpc`,
      committed ? { operation, committed: [`rpc:${committed}`] } : { operation },
    );
    this.refusal ??= error;
    return Promise.resolve(err(error));
  }

  async rpc<T = unknown>(fn: string, args?: Row): Promise<Result<T, AppError>> {
    if (this.#rpcCalled !== undefined || this.refusal) return this.#refuse(`rpc ${fn}`);
    this.#rpcCalled = fn;
    return await this.service.rpc<T>(fn, args);
  }

  create<T extends Row = Row>(): Promise<Result<T, AppError>> {
    return this.#refuse("create");
  }
  read<T extends Row = Row>(): Promise<Result<T[], AppError>> {
    return this.#refuse("read");
  }
  readById<T extends Row = Row>(): Promise<Result<T, AppError>> {
    return this.#refuse("readById");
  }
  update<T extends Row = Row>(): Promise<Result<T, AppError>> {
    return this.#refuse("update");
  }
  delete(): Promise<Result<boolean, AppError>> {
    return this.#refuse("delete");
  }
  createMany<T extends Row = Row>(): Promise<Result<T[], AppError>> {
    return this.#refuse("createMany");
  }
  upsertMany<T extends Row = Row>(): Promise<Result<T[], AppError>> {
    return this.#refuse("upsertMany");
  }
  updateMany<T extends Row = Row>(): Promise<Result<T[], AppError>> {
    return this.#refuse("updateMany");
  }
  deleteMany(): Promise<Result<number, AppError>> {
    return this.#refuse("deleteMany");
  }
  count(): Promise<Result<number, AppError>> {
    return this.#refuse("count");
  }
  rawQuery<T extends Row = Row>(): Promise<Result<T[], AppError>> {
    return this.#refuse("rawQuery");
  }
  transaction<T>(): Promise<Result<T, AppError>> {
    return this.#refuse("a nested transaction");
  }
}
