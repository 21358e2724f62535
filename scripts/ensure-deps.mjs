// Installs npm dependencies (including the Deno binary) when node_modules is missing or older
// than package-lock.json. Scripts are skipped on purpose: deno's postinstall replaces the JS
// launcher in node_modules/.bin with the raw ELF binary, which then breaks `deno task`.
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

// SKIP_ENSURE_DEPS=1: node_modules is provided (an image, or tests sharing one install).
if (process.env.SKIP_ENSURE_DEPS === "1") process.exit(0);

const marker = "node_modules/.package-lock.json";
const lock = "package-lock.json";
const stale = !existsSync(marker) ||
  (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs);
if (stale) {
  const args = existsSync(lock) ? ["ci"] : ["install"];
  args.push("--ignore-scripts", "--no-audit", "--no-fund");
  console.error(`[ensure-deps] npm ${args.join(" ")}`);
  execFileSync("npm", args, { stdio: "inherit" });
}
