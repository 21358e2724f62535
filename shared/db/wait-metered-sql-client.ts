/**
 * A SqlClient whose queries count as waiting on a WaitDiscountedClock (shared/runtime/cpu.ts), so
 * a CPU budget on a runtime without a CPU clock is not spent on time the database is working.
 * Statements inside a transaction are metered one by one (the callback's own JavaScript between
 * them is not waiting); everything else the client has (e.g. the postgres.js `sql` handle Better
 * Auth's Kysely uses) stays reachable through the prototype.
 */
import type { WaitDiscountedClock } from "../runtime/cpu.ts";
import type { QueryResult, SqlClient } from "./sql-client.ts";

export function waitMeteredSqlClient(db: SqlClient, clock: WaitDiscountedClock): SqlClient {
  const metered: SqlClient = Object.create(db);
  Object.assign(metered, {
    query: <T>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>> =>
      clock.waitFor(() => db.query<T>(text, params)),
    exec: (script: string): Promise<void> => clock.waitFor(() => db.exec(script)),
    transaction: <T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> =>
      db.transaction((tx) => fn(waitMeteredSqlClient(tx, clock))),
    close: () => db.close(),
  });
  return metered;
}
