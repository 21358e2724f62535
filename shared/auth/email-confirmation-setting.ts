/**
 * The project's "Confirm email" setting, as GoTrue reports it on its public GET /settings
 * (`mailer_autoconfirm`, supabase/auth internal/api/settings.go). Read at most once per `ttlMs`.
 *
 * An answer that cannot be read counts as "confirmation required" and is not cached (the next
 * call asks again): the careful side — no session, nothing confirmed — never the side that hands
 * an unconfirmed address a session or confirms it on someone's word.
 */
export interface EmailConfirmationSettingOptions {
  /** SUPABASE_URL. */
  readonly url: string;
  readonly anonKey: string;
  readonly fetch?: typeof fetch;
  /** Default 60 s. */
  readonly ttlMs?: number;
}

export class EmailConfirmationSetting {
  #cached: { readonly required: boolean; readonly until: number } | null = null;

  constructor(private readonly options: EmailConfirmationSettingOptions) {}

  /** True when new signups must confirm their email before a first session. */
  async required(): Promise<boolean> {
    const cached = this.#cached;
    if (cached && cached.until > Date.now()) return cached.required;
    const doFetch = this.options.fetch ?? fetch;
    let autoconfirm: unknown;
    try {
      const response = await doFetch(`${this.options.url.replace(/\/$/, "")}/auth/v1/settings`, {
        headers: { apikey: this.options.anonKey },
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok) {
        await response.body?.cancel();
        return true;
      }
      autoconfirm = (await response.json())?.mailer_autoconfirm;
    } catch {
      return true;
    }
    if (typeof autoconfirm !== "boolean") return true;
    this.#cached = { required: !autoconfirm, until: Date.now() + (this.options.ttlMs ?? 60_000) };
    return !autoconfirm;
  }
}
