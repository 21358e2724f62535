/**
 * What an entrypoint needs to know about its function: its name, the DI areas it resolves (added
 * to the base container, shared/di/base-container.ts) and how its Hono app is built. Each
 * shared/functions/<name>/app.ts exports one; functions/<name>/index.ts imports only its own, so
 * the deployed module graph holds that function's code and dependencies and nothing else.
 */
import type { AppConfig } from "../config/env.ts";
import type { Container } from "../di/container.ts";
import type { FunctionApp } from "../http/app.ts";
import type { FunctionName } from "./names.ts";

export type ContainerArea = (container: Container, config: AppConfig) => void;

export interface FunctionDefinition {
  readonly name: FunctionName;
  readonly areas: readonly ContainerArea[];
  readonly createApp: (container: Container) => Promise<FunctionApp>;
}
