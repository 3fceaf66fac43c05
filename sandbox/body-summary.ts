/**
 * One line that says what an HTTP answer's body said: a server's HTML error page
 * (Express's "Cannot POST /x", a proxy's "502 Bad Gateway") comes down to its first
 * line of text, or its title; any other body to its text on one line, shortened.
 */
const MAX_SHOWN = 200;

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

export function summariseBody(body: string): string {
  return shorten(/^\s*<(!doctype\s+html|html)\b/i.test(body) ? htmlSummary(body) : oneLine(body));
}

/** At most MAX_SHOWN characters of `text`, marked when cut. */
export function shorten(text: string): string {
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

function htmlSummary(html: string): string {
  const title = oneLine(textOf(/<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1] ?? ''));
  const body = /<body[^>]*>([\s\S]*?)(?:<\/body>|$)/i.exec(html)?.[1] ?? '';
  const firstLine = textOf(body.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, ''))
    .split('\n')
    .map(oneLine)
    .find((l) => l !== '');
  return firstLine ?? (title || 'an HTML page without text');
}

/** The text of an HTML fragment, each element on its own line. */
function textOf(fragment: string): string {
  return fragment
    .replace(/<[^>]*>/g, '\n')
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (entity, name: string) => {
      if (name.startsWith('#')) {
        const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : Number(name.slice(1));
        return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
      }
      return ENTITIES[name.toLowerCase()] ?? entity;
    });
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
