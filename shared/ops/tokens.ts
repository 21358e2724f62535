import { token } from "../di/container.ts";
import type { OpsServices } from "./services.ts";

/** The operations services of a process: rollout controller, emergency switch, alerts, auth. */
export const OpsServicesToken = token<OpsServices>("ops.services");
