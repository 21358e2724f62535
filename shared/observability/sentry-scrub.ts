/**
 * What leaves the process for Sentry is scrubbed here, in the SDK's last hooks (beforeSend,
 * beforeSendTransaction, beforeBreadcrumb, beforeSendMetric, beforeSendSpan, beforeSendLog):
 * passwords, tokens, keys and secrets by key name and by value shape (redact.ts), the
 * Authorization / apikey / cookie headers the request data integration attaches, `name=value`
 * secrets in URLs and query strings, and e-mail addresses when configured.
 */
import type { Breadcrumb, Event, Log } from "@sentry/deno";
import { REDACTED, redactSecrets } from "./redact.ts";

export interface ScrubOptions {
  /** Scrub e-mail addresses too (PII). */
  readonly emails: boolean;
  /** Extra key names to redact everywhere. */
  readonly extraKeys?: readonly string[];
}

/** Header names whose values are credentials even where the key-name rules would miss them. */
const CREDENTIAL_HEADERS = [
  "authorization",
  "proxy-authorization",
  "apikey",
  "x-api-key",
  "cookie",
  "set-cookie",
  "x-supabase-auth",
  "x-cron-secret",
];

function options(scrub: ScrubOptions) {
  return { emails: scrub.emails, extraKeys: [...CREDENTIAL_HEADERS, ...(scrub.extraKeys ?? [])] };
}

/**
 * A scrubbed copy of an error or transaction event. `sdkProcessingMetadata` is kept by reference:
 * it holds live Scope objects, and the SDK strips it before the envelope is built.
 */
export function scrubEvent<T extends Event>(event: T, scrub: ScrubOptions): T {
  const { sdkProcessingMetadata, ...rest } = event;
  const clean = redactSecrets(rest, options(scrub)) as Event;
  if (clean.user) {
    // The client's IP address is personal data; the SDK only sends it with sendDefaultPii, but a
    // caller's setUser({ ip_address }) must not bypass that.
    const { ip_address: _ip, ...user } = clean.user;
    clean.user = user;
  }
  if (clean.request?.cookies) clean.request.cookies = { cookies: REDACTED };
  return (sdkProcessingMetadata === undefined ? clean : { ...clean, sdkProcessingMetadata }) as T;
}

export function scrubBreadcrumb(breadcrumb: Breadcrumb, scrub: ScrubOptions): Breadcrumb {
  return redactSecrets(breadcrumb, options(scrub));
}

/** Metric attributes, a span (its data attributes and description), any plain record. */
export function scrubAttributes<T extends object | undefined>(
  attributes: T,
  scrub: ScrubOptions,
): T {
  return attributes === undefined ? attributes : redactSecrets(attributes, options(scrub));
}

export function scrubLog(log: Log, scrub: ScrubOptions): Log {
  return redactSecrets(log, options(scrub));
}
