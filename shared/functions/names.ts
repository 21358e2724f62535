/** The four edge functions' names (a module of its own: every entrypoint's graph includes it). */
export const FUNCTION_NAMES = ["signup", "login", "coordinator", "migrate-batch"] as const;

export type FunctionName = (typeof FUNCTION_NAMES)[number];

export function isFunctionName(value: string): value is FunctionName {
  return (FUNCTION_NAMES as readonly string[]).includes(value);
}
