/**
 * One error type for everything that can go wrong talking to C4C, normalised to
 * status, code and message from whatever the server sent (OData v2 JSON, a plain
 * string, XML or nothing). Messages are built only from the server's error text
 * and our own wording, never from request headers, so credentials and tokens
 * cannot leak into logs or Catch nodes.
 */

export type C4CErrorKind =
  /** The server answered with a non-2xx status. */
  | 'http'
  /** 412 on an update or delete with If-Match: someone changed the entity first. */
  | 'conflict'
  /** The CSRF token was refused even after one refetch. */
  | 'csrf'
  /** 401/403 that is not about CSRF, or a failed token request. */
  | 'auth'
  /** No response: connection refused or reset, DNS. */
  | 'network'
  /** No response within the configured timeout. */
  | 'timeout'
  /** The request could not be built from the given input. */
  | 'input'
  /** The server answered something we could not read. */
  | 'protocol';

export class C4CError extends Error {
  readonly status: number;
  readonly code: string;
  readonly kind: C4CErrorKind;

  constructor(kind: C4CErrorKind, status: number, code: string, message: string) {
    super(message);
    this.name = 'C4CError';
    this.kind = kind;
    this.status = status;
    this.code = code;
    this.textCode = `c4c_${kind}`;
    this.params = { status, code, detail: message };
  }

  /** Which text of nodes/shared/locales/…/lib.json says this in the runtime's language (code is SAP's). */
  readonly textCode: string;
  readonly params: Record<string, string | number>;

  /** What a flow sees on msg.error / the Catch node: no stack, no request details. */
  toJSON(): { kind: C4CErrorKind; status: number; code: string; message: string } {
    return { kind: this.kind, status: this.status, code: this.code, message: this.message };
  }
}

export interface ParsedErrorBody {
  code: string;
  message: string;
}

/** Reads the SAP OData v2 error shape defensively: JSON object, string message, XML, or text. */
export function parseErrorBody(body: string): ParsedErrorBody | null {
  const text = body.trim();
  if (!text) return null;
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
      const err = parsed.error;
      if (err && typeof err === 'object') {
        const msg = err.message;
        const message =
          typeof msg === 'string' ? msg : msg && typeof msg === 'object' && typeof (msg as { value?: unknown }).value === 'string' ? (msg as { value: string }).value : '';
        return { code: typeof err.code === 'string' ? err.code : '', message };
      }
    } catch {
      // Not JSON after all; fall through to the text forms.
    }
  }
  if (text.startsWith('<')) {
    const code = /<(?:\w+:)?code>([^<]*)<\/(?:\w+:)?code>/.exec(text)?.[1] ?? '';
    const message = /<(?:\w+:)?message[^>]*>([^<]*)<\/(?:\w+:)?message>/.exec(text)?.[1] ?? '';
    return code || message ? { code, message: decodeXmlEntities(message) } : null;
  }
  // A short plain-text body is often the only explanation (e.g. "CSRF token validation failed").
  return { code: '', message: text.length > 300 ? text.slice(0, 300) + '…' : text };
}

function decodeXmlEntities(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

/** Builds the error for a non-2xx answer; `what` names the operation, e.g. "PATCH IndividualCustomerCollection". */
export function httpError(status: number, body: string, what: string): C4CError {
  const parsed = parseErrorBody(body);
  const detail = parsed?.message || statusText(status);
  const code = parsed?.code || String(status);
  if (status === 412) return new C4CError('conflict', status, code, `${what}: conflict, the entity was changed by someone else (412): ${detail}`);
  const kind = status === 401 || status === 403 ? 'auth' : 'http';
  return new C4CError(kind, status, code, `${what} failed with ${status}: ${detail}`);
}

const STATUS_TEXTS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

function statusText(status: number): string {
  return STATUS_TEXTS[status] ?? 'HTTP error';
}

/** Removes user:password@ from a URL before it is put into a message. */
export function safeUrl(url: string): string {
  return url.replace(/^(\w+:\/\/)[^/@]*@/, '$1');
}
