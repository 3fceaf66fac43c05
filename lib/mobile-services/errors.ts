/**
 * One error type for everything that can go wrong talking to SAP Mobile Services. Each
 * carries a text code (its texts live in nodes/shared/locales/…/lib.json) and the
 * parameters the text needs. Messages are built from the server's own error text and
 * our wording only, never from request headers, so keys and tokens cannot leak.
 */

export type MobileServicesErrorKind =
  /** The server answered a non-2xx status. */
  | 'http'
  /** 401/403, or the token endpoint refused the client. */
  | 'auth'
  /** No answer: connection refused or reset, DNS, timeout. */
  | 'network'
  /** The push could not be built from the input; nothing was sent. */
  | 'input';

export class MobileServicesError extends Error {
  /** Which text of lib.json says this in the runtime's language. */
  readonly code: string;
  readonly textCode: string;
  readonly params: Record<string, string | number>;
  /** A push split into several requests: what the requests sent before this one answered. */
  delivered?: { status: unknown; pushResults: unknown[]; responses: unknown[] };

  constructor(
    readonly kind: MobileServicesErrorKind,
    code: string,
    message: string,
    params: Record<string, string | number> = {},
    /** The HTTP status, 0 when there was no answer. */
    readonly status = 0,
  ) {
    super(message);
    this.name = 'MobileServicesError';
    this.code = code;
    this.textCode = code;
    this.params = { detail: message, status, ...params };
  }

  toJSON(): { kind: MobileServicesErrorKind; code: string; status: number; message: string } {
    return { kind: this.kind, code: this.code, status: this.status, message: this.message };
  }
}

export function inputError(code: string, message: string, params: Record<string, string | number> = {}): MobileServicesError {
  return new MobileServicesError('input', code, message, params);
}

/** The server's own explanation from a Mobile Services or XSUAA error body, else a short text. */
export function serverMessage(body: unknown): string {
  if (typeof body === 'string') {
    const text = body.trim();
    if (text.startsWith('{')) {
      try {
        return serverMessage(JSON.parse(text) as unknown);
      } catch {
        // Not JSON after all: the text itself is the explanation.
      }
    }
    return text.length > 300 ? `${text.slice(0, 300)}…` : text;
  }
  if (typeof body !== 'object' || body === null) return '';
  const b = body as Record<string, unknown>;
  const status = b.status as Record<string, unknown> | null | undefined;
  if (status && typeof status === 'object' && typeof status.message === 'string') return status.message;
  for (const field of ['error_description', 'message', 'error']) {
    if (typeof b[field] === 'string') return b[field];
  }
  return '';
}
