/** The batch migration (set-based engine, per-user original, leases, budgets). */
import { registerBatch } from "../../batch/register.ts";
import type { AppConfig } from "../../config/env.ts";
import type { Container } from "../container.ts";
import { SqlToken, SupabaseAdminToken } from "../tokens.ts";

export function registerBatchArea(container: Container, config: AppConfig): void {
  const { env } = config;
  registerBatch(container, {
    sql: SqlToken,
    supabase: container.has(SupabaseAdminToken) ? SupabaseAdminToken : undefined,
    legacy: env.OLD_DATABASE_URL ? { url: env.OLD_DATABASE_URL } : undefined,
    options: {
      batchSize: env.MIGRATION_BATCH_SIZE,
      budgetMs: env.MIGRATION_BATCH_BUDGET_MS,
      cpuBudgetMs: env.MIGRATION_BATCH_CPU_BUDGET_MS,
    },
  });
}
