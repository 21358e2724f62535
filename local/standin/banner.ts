/**
 * What the dev server prints once it is ready: URLs, the local keys (as `supabase start` prints
 * them — they are the well-known local demo keys, never a real project's), and one copy-paste
 * curl per function.
 */
import type { StandinKeys } from "./keys.ts";
import { DEMO_ACCOUNT } from "./seed-legacy-users.ts";

export interface BannerInfo {
  readonly url: string;
  readonly keys: StandinKeys;
  readonly functions: ReadonlyArray<{ name: string; implemented: boolean }>;
  readonly database: string;
  readonly seeding: string;
  readonly cron: string;
  readonly restAvailable: boolean;
}

/** Example calls for the project's functions; unknown functions get a plain GET. */
function curlFor(name: string, url: string): string {
  const endpoint = `${url}/functions/v1/${name}`;
  const json = (key: string, body: unknown) =>
    `curl -i -X POST '${endpoint}' -H "Authorization: Bearer $${key}" -H 'Content-Type: application/json' -d '${
      JSON.stringify(body)
    }'`;
  switch (name) {
    case "signup":
      return json("ANON_KEY", { email: "new.user@example.com", password: "Sup3r-Secret!" });
    case "login":
      return json("ANON_KEY", DEMO_ACCOUNT);
    case "migrate-batch":
      return json("SERVICE_ROLE_KEY", { dry_run: true });
    default:
      return `curl -i '${endpoint}' -H "Authorization: Bearer $ANON_KEY"`;
  }
}

export function formatBanner(info: BannerInfo): string {
  const lines = [
    "",
    "edge-migrator local stack is running (no cloud, no Docker)",
    "",
    `  API URL        ${info.url}`,
    `  Functions      ${info.url}/functions/v1/<name>`,
    `  Auth           ${info.url}/auth/v1`,
    `  REST           ${info.url}/rest/v1${
      info.restAvailable ? "" : "   (stand-in not built yet: 501)"
    }`,
    `  Database       ${info.database}`,
    `  Seed           ${info.seeding}`,
    `  Local cron     ${info.cron}`,
    `  JWT secret     ${info.keys.jwtSecret}`,
    `  anon key       ${info.keys.anonKey}`,
    `  service_role   ${info.keys.serviceRoleKey}`,
    "",
    "Copy-paste (set the variables once per shell):",
    "",
    `  export SUPABASE_URL='${info.url}'`,
    `  export ANON_KEY='${info.keys.anonKey}'`,
    `  export SERVICE_ROLE_KEY='${info.keys.serviceRoleKey}'`,
    "",
  ];
  for (const fn of info.functions) {
    lines.push(`  # ${fn.name}${fn.implemented ? "" : " (not built yet: answers 501)"}`);
    lines.push(`  ${curlFor(fn.name, info.url)}`);
  }
  lines.push("");
  return lines.join("\n");
}
