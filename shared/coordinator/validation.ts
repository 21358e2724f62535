/**
 * Input validation for the coordinator API, shared by both implementations so they reject the
 * same requests with the same 400 body. Every failure names the offending field.
 */
import { z } from "zod";
import { AppError, err, ok, type Result } from "../result.ts";
import {
  AGENT_STATUSES,
  type AgentCreateInput,
  type AgentFilters,
  type AgentUpdateInput,
  type CoordinateOptions,
  MAX_AGENTS_PER_TASK,
  STRATEGIES,
  type Strategy,
} from "./types.ts";
import { isUuid, UUID_PATTERN } from "../uuid.ts";

/**
 * Canonical 8-4-4-4-12 hex, any version: PostgreSQL accepts every such value (zod's uuid() would
 * reject ids without RFC variant bits), and lower-casing keeps comparisons exact.
 */

const uuid = z.string().regex(UUID_PATTERN, "must be a UUID").transform((value) =>
  value.toLowerCase()
);

const capability = z.string().trim().min(1, "must not be empty").max(100);
const capabilityList = z.array(capability).max(100);

const trustScore = z.number().min(0).max(5).refine(
  (value) => Number(value.toFixed(2)) === value,
  "must have at most 2 decimals",
);

export const coordinateRequestSchema = z.object({
  task_id: uuid,
  strategy: z.enum(STRATEGIES),
  max_agents: z.int().min(1).max(MAX_AGENTS_PER_TASK).optional(),
});

export interface CoordinateRequest {
  readonly task_id: string;
  readonly strategy: Strategy;
  readonly max_agents?: number;
}

const agentFields = {
  name: z.string().trim().min(1, "must not be empty").max(200),
  type: z.string().trim().min(1, "must not be empty").max(100),
  capabilities: capabilityList.min(1, "at least one capability is required"),
  status: z.enum(AGENT_STATUSES),
  trust_score: trustScore,
  max_load: z.int().min(0).max(10_000),
};

export const agentCreateSchema = z.strictObject({
  name: agentFields.name,
  type: agentFields.type,
  capabilities: agentFields.capabilities,
  status: agentFields.status.optional(),
  trust_score: agentFields.trust_score.optional(),
  max_load: agentFields.max_load.optional(),
});

export const agentUpdateSchema = z.strictObject({
  name: agentFields.name.optional(),
  type: agentFields.type.optional(),
  capabilities: agentFields.capabilities.optional(),
  status: agentFields.status.optional(),
  trust_score: agentFields.trust_score.optional(),
  max_load: agentFields.max_load.optional(),
}).refine((patch) => Object.keys(patch).length > 0, "at least one field is required");

/** Query string of `GET /agents`: `capability` may repeat or be comma-separated. */
export const agentListQuerySchema = z.object({
  status: z.enum(AGENT_STATUSES).optional(),
  capability: z.array(z.string()).optional().transform((values, ctx) => {
    const list = (values ?? []).flatMap((value) => value.split(",")).map((value) => value.trim())
      .filter((value) => value.length > 0);
    const parsed = capabilityList.safeParse(list);
    if (!parsed.success) {
      ctx.addIssue({ code: "custom", message: "at most 100 capabilities of 1-100 characters" });
      return z.NEVER;
    }
    return parsed.data.length > 0 ? parsed.data : undefined;
  }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
}).transform(({ capability, ...rest }) => ({
  ...rest,
  ...(capability ? { capabilities: capability } : {}),
}));

export type AgentListQuery = AgentFilters & { readonly limit: number; readonly offset: number };

export interface FieldIssue {
  readonly field: string;
  readonly message: string;
}

/** A validation_failed AppError whose message and details name every offending field. */
export function validationError(issues: readonly FieldIssue[]): AppError {
  const summary = issues.map((issue) => `${issue.field}: ${issue.message}`).join("; ");
  return new AppError("validation_failed", `invalid request: ${summary}`, { fields: issues });
}

function parseWith<T>(schema: z.ZodType<T>, input: unknown, root = "body"): Result<T, AppError> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return ok(parsed.data);
  return err(validationError(parsed.error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.map(String).join(".") : root,
    message: issue.message,
  }))));
}

export function parseCoordinateRequest(input: unknown): Result<CoordinateRequest, AppError> {
  return parseWith(coordinateRequestSchema, input);
}

export function parseAgentCreate(input: unknown): Result<AgentCreateInput, AppError> {
  return parseWith(agentCreateSchema, input);
}

export function parseAgentUpdate(input: unknown): Result<AgentUpdateInput, AppError> {
  return parseWith(agentUpdateSchema, input);
}

export function parseAgentListQuery(
  query: Record<string, string[]>,
): Result<AgentListQuery, AppError> {
  const single = (name: string) => query[name]?.at(-1);
  return parseWith(agentListQuerySchema, {
    status: single("status"),
    capability: query["capability"],
    limit: single("limit"),
    offset: single("offset"),
  }, "query");
}

/** Validates an id path segment or argument. */
export function parseId(value: unknown, field: string): Result<string, AppError> {
  if (isUuid(value)) return ok(value.toLowerCase());
  return err(validationError([{ field, message: "must be a UUID" }]));
}

/** Validates what the HTTP layer has not (service callers outside HTTP: seeders, scripts). */
export function checkCoordinateOptions(options: CoordinateOptions): AppError | null {
  if (!STRATEGIES.includes(options.strategy)) {
    return validationError([{
      field: "strategy",
      message: `must be one of ${STRATEGIES.join(", ")}`,
    }]);
  }
  const maxAgents = options.maxAgents ?? 1;
  if (!Number.isInteger(maxAgents) || maxAgents < 1 || maxAgents > MAX_AGENTS_PER_TASK) {
    return validationError([
      { field: "max_agents", message: `must be an integer from 1 to ${MAX_AGENTS_PER_TASK}` },
    ]);
  }
  return null;
}
