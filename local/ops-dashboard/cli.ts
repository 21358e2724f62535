/**
 * `deno task ops dashboard [--port N] [--project-url URL]`: see server.ts. The project URL
 * defaults to SUPABASE_URL; the key is OPS_ADMIN_SECRET, else SUPABASE_SERVICE_ROLE_KEY (read from
 * the environment only, never from the command line, so it stays out of shell history and `ps`).
 * Runs until interrupted.
 */
import { parseArgs } from "node:util";
import { startDashboardProxy } from "./server.ts";

export const DASHBOARD_USAGE = `Usage: deno task ops dashboard [--port N] [--project-url URL]

Serves the hosted project's operations dashboard on http://127.0.0.1:<port> (Supabase shows
text/html from a function as plain text without a custom domain). Needs SUPABASE_URL (or
--project-url) and OPS_ADMIN_SECRET or SUPABASE_SERVICE_ROLE_KEY in the environment.`;

export async function runDashboardCommand(
  args: readonly string[],
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      options: {
        port: { type: "string" },
        "project-url": { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n\n${DASHBOARD_USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(DASHBOARD_USAGE);
    return 0;
  }
  const projectUrl = values["project-url"] ?? env.SUPABASE_URL;
  const key = env.OPS_ADMIN_SECRET || env.SUPABASE_SERVICE_ROLE_KEY;
  const port = values.port === undefined ? 54330 : Number(values.port);
  const problems = [
    ...(!projectUrl || !URL.canParse(projectUrl)
      ? ["SUPABASE_URL (or --project-url): the project URL, e.g. https://<ref>.supabase.co"]
      : []),
    ...(!key ? ["OPS_ADMIN_SECRET or SUPABASE_SERVICE_ROLE_KEY: an admin key"] : []),
    ...(!Number.isInteger(port) || port < 0 || port > 65535 ? ["--port: 0-65535"] : []),
  ];
  if (problems.length > 0) {
    console.error(`ops dashboard: missing or invalid ${problems.join("; ")}`);
    return 2;
  }
  const proxy = startDashboardProxy({ projectUrl: projectUrl!, key: key!, port });
  console.log(`ops dashboard for ${new URL(projectUrl!).origin}: ${proxy.url}`);
  const stopped = new Promise<void>((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      try {
        Deno.addSignalListener(signal, () => resolve());
      } catch { /* not listenable here */ }
    }
  });
  await stopped;
  await proxy.close();
  return 0;
}
