/**
 * What the dev server prints once it is ready: URLs, the local keys (as `supabase start` prints
 * them — they are the well-known local demo keys, never a real project's), and one copy-paste
 * curl per function.
 */
import type { StandinKeys } from "./keys.ts";
import type { StandinProfile } from "./profile.ts";
import { DEMO_ACCOUNT } from "./seed-legacy-users.ts";

export interface BannerInfo {
  readonly url: string;
  readonly keys: StandinKeys;
  /** hosted also prints the new API keys and the signing keys' JWKS (default lenient). */
  readonly profile?: StandinProfile;
  readonly functions: ReadonlyArray<{ name: string; implemented: boolean }>;
  readonly database: string;
  readonly seeding: string;
  readonly cron: string;
  readonly restAvailable: boolean;
}

/**
 * Reads the access token out of a login response with sed (no jq needed): the coordinator wants a
 * user's token, never the anon key (that is 401, as on Supabase).
 */
const LOGIN_THEN_TOKEN = (url: string) =>
  `export ACCESS_TOKEN=$(curl -s -X POST '${url}/functions/v1/login' -H "Authorization: Bearer $ANON_KEY" -H 'Content-Type: application/json' -d '${
    JSON.stringify(DEMO_ACCOUNT)
  }' | sed -n 's/.*"access_token":"\\([^"]*\\)".*/\\1/p')`;

/** Example calls for the project's functions (one or more lines); unknown ones get a plain GET. */
function curlFor(name: string, url: string): string[] {
  const endpoint = `${url}/functions/v1/${name}`;
  const json = (key: string, body: unknown) =>
    `curl -i -X POST '${endpoint}' -H "Authorization: Bearer $${key}" -H 'Content-Type: application/json' -d '${
      JSON.stringify(body)
    }'`;
  switch (name) {
    case "signup":
      return [json("ANON_KEY", { email: "new.user@example.com", password: "Sup3r-Secret!" })];
    case "login":
      return [json("ANON_KEY", DEMO_ACCOUNT)];
    case "coordinator":
      return [
        LOGIN_THEN_TOKEN(url),
        `curl -i '${endpoint}/agents' -H "Authorization: Bearer $ACCESS_TOKEN"`,
      ];
    case "migrate-batch":
      return [json("SERVICE_ROLE_KEY", { dry_run: true })];
    default:
      return [`curl -i '${endpoint}' -H "Authorization: Bearer $ANON_KEY"`];
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
    ...(info.profile === "hosted"
      ? [
        `  publishable    ${info.keys.publishableKey}`,
        `  secret         ${info.keys.secretKey}   (server only: refused from browsers)`,
        `  JWKS           ${info.url}/auth/v1/.well-known/jwks.json (ES256 user tokens)`,
        `  our JWKS       ${info.url}/functions/v1/login/.well-known/jwks.json (imported)`,
      ]
      : []),
    "",
    "Copy-paste (set the variables once per shell):",
    "",
    `  export SUPABASE_URL='${info.url}'`,
    `  export ANON_KEY='${info.keys.anonKey}'`,
    `  export SERVICE_ROLE_KEY='${info.keys.serviceRoleKey}'`,
    "",
  ];
  for (const fn of info.functions) {
    const note = fn.implemented
      ? fn.name === "coordinator" ? " (a user's access token: log in first)" : ""
      : " (not built yet: answers 501)";
    lines.push(`  # ${fn.name}${note}`);
    for (const line of curlFor(fn.name, info.url)) lines.push(`  ${line}`);
  }
  // The demo table: RLS lets a user read only their own notes.
  lines.push("  # public.notes (RLS: a user reads only rows whose user_id = auth.uid())");
  lines.push(`  ${LOGIN_THEN_TOKEN(info.url)}`);
  lines.push(
    `  curl -s '${info.url}/rest/v1/notes?select=body' -H "apikey: $ANON_KEY" -H "Authorization: Bearer $ACCESS_TOKEN"`,
  );
  lines.push("");
  return lines.join("\n");
}
