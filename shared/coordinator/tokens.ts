/** DI tokens of the coordinator (registered by ./register.ts). */
import { token } from "../di/container.ts";
import type { IAgentRepository } from "./agent-repository.ts";
import type { VerifyToken } from "./auth.ts";
import type { CoordinatorOperations } from "./operations.ts";
import type { ITaskRepository } from "./task-repository.ts";

export const AgentRepositoryToken = token<IAgentRepository>("coordinator.agentRepository");
export const TaskRepositoryToken = token<ITaskRepository>("coordinator.taskRepository");
/** The abstracted implementation: CoordinationService over the repositories. */
export const CoordinationServiceToken = token<CoordinatorOperations>("coordinator.service");
/** The original implementation: supabase-js directly (TrustStream v4.1). */
export const OriginalCoordinatorToken = token<CoordinatorOperations>("coordinator.original");
/** The routes' auth seam (see auth.ts). */
export const CoordinatorVerifyTokenToken = token<VerifyToken>("coordinator.verifyToken");
