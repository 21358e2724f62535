/**
 * `/rpc/<fn>`: calls a database function by named arguments (JSON body for POST, query
 * parameters for GET/HEAD, which run read-only) and renders its result as PostgREST does: a set
 * as an array, a row as an object, a scalar as a JSON value, void as 204 No Content.
 */
import { selectOverload } from "../../../shared/db/catalog.ts";
import { buildRpc, encodeValue } from "../../../shared/db/query-builder.ts";
import { pgrst } from "./errors.ts";
import { parseSelect, RESERVED_PARAMS } from "./request-parser.ts";
import { bodyResponse, isObject } from "./responses.ts";
import type { RestRequest } from "./rest-request.ts";

async function argumentsOf(req: RestRequest, reading: boolean): Promise<Record<string, unknown>> {
  const params = req.url.searchParams;
  if (reading) {
    // GET arguments are query parameters: text, parsed by PostgreSQL for each parameter type.
    return Object.fromEntries([...params].filter(([key]) => !RESERVED_PARAMS.has(key)));
  }
  const payload = await req.json();
  if (payload !== undefined && !isObject(payload)) throw pgrst.invalidBody();
  // Filtering function results is PostgREST's; refusing beats silently ignoring the filters.
  const filters = [...params.keys()].filter((key) => key !== "apikey" && key !== "select");
  if (filters.length > 0) {
    throw pgrst.parse(
      "rpc request",
      "filters, order and limits on function results are not supported by the local stand-in",
    );
  }
  return payload ?? {};
}

export async function callFunction(req: RestRequest, name: string): Promise<Response> {
  const reading = req.method === "GET" || req.method === "HEAD";
  const args = await argumentsOf(req, reading);
  const selected = parseSelect(req.url.searchParams.get("select"), name);
  const argNames = Object.keys(args);
  const match = selectOverload(await req.functions(name), argNames);
  if (!match) throw pgrst.functionNotFound(req.schema, name, argNames);
  const { fn } = match;
  const query = buildRpc({
    fn,
    args: match.wholeObjectArg ? { kind: "object", json: JSON.stringify(args) } : {
      kind: "named",
      values: fn.args.filter((arg) => arg.name in args).map((arg) => ({
        arg,
        value: reading ? String(args[arg.name]) : encodeValue(args[arg.name], arg),
      })),
    },
    shape: req.accept.shape === "object" ? "object" : undefined,
    projection: selected === "*" ? undefined : selected,
  });
  return await req.transaction(reading, async (run) => {
    const row = await run(query);
    if (fn.returns === "void") return new Response(null, { status: 204 });
    if (req.accept.shape === "object" && fn.returnsSet && row.page_count !== 1) {
      throw pgrst.singular(row.page_count);
    }
    const range = row.page_count > 0 ? `0-${row.page_count - 1}/*` : "*/*";
    return bodyResponse(row.body, 200, range, req.accept.shape);
  });
}
