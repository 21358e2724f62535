/**
 * Sentry through the real SDK in tests: a DSN-shaped string pointing at a closed local port, and a
 * capturing transport built with Sentry.createTransport, so what a test asserts on is the exact
 * envelope the SDK would send.
 */
import * as Sentry from "@sentry/deno";
import type { SentryConfig } from "../../shared/observability/sentry.ts";

export type Transport = NonNullable<SentryConfig["transport"]>;

/** A DSN whose port nothing listens on (nothing is ever sent anywhere). */
export function closedPortDsn(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `http://public@127.0.0.1:${port}/1`;
}

/** Records every envelope body the SDK hands to the transport. */
export function capturingTransport(): { transport: Transport; envelopes: string[] } {
  const envelopes: string[] = [];
  const transport: Transport = (options) =>
    Sentry.createTransport(options, (request) => {
      envelopes.push(
        typeof request.body === "string" ? request.body : new TextDecoder().decode(request.body),
      );
      return Promise.resolve({ statusCode: 200 });
    });
  return { transport, envelopes };
}

/** Envelope = header line, then (item header, payload) line pairs. */
export function itemsOf(envelopes: readonly string[]): { type: string; payload: unknown }[] {
  const items: { type: string; payload: unknown }[] = [];
  for (const envelope of envelopes) {
    const lines = envelope.split("\n").filter((line) => line.length > 0);
    for (let i = 1; i + 1 < lines.length; i += 2) {
      items.push({ type: JSON.parse(lines[i]!).type, payload: JSON.parse(lines[i + 1]!) });
    }
  }
  return items;
}

/** The error and message events among the envelopes. */
export function eventsOf<T>(envelopes: readonly string[]): T[] {
  return itemsOf(envelopes).filter((item) => item.type === "event").map((item) =>
    item.payload as T
  );
}
