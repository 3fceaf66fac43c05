/**
 * Where the demo listens, and how a client on the same machine reaches it. npm start
 * (scripts/start.ts) and the sandbox CLI share these defaults, so a command npm start
 * prints needs a --sandbox option exactly when its sandbox is not where the CLI looks.
 */
export const DEMO_HOST = '127.0.0.1';
export const DEMO_PORT = 1880;
export const DEMO_SANDBOX_PORT = 1890;
/** The sandbox chat page's own port. */
export const DEMO_CHAT_PORT = 1891;

const WILDCARD_LOOPBACK: Record<string, string> = { '': '127.0.0.1', '0.0.0.0': '127.0.0.1', '::': '::1' };

/**
 * The http URL to connect to a server listening on host:port: a wildcard address
 * (listening everywhere) is reached on loopback, and an IPv6 address is bracketed.
 */
export function connectUrl(host: string, port: number): string {
  const target = WILDCARD_LOOPBACK[host] ?? host;
  return `http://${target.includes(':') ? `[${target}]` : target}:${port}`;
}

export const DEFAULT_NODE_RED_URL = connectUrl(DEMO_HOST, DEMO_PORT);
export const DEFAULT_SANDBOX_URL = connectUrl(DEMO_HOST, DEMO_SANDBOX_PORT);

/** The arguments a CLI command needs to reach the sandbox at `sandboxUrl`: none for the default one. */
export function sandboxArgs(sandboxUrl: string): string[] {
  return sandboxUrl.replace(/\/+$/, '') === DEFAULT_SANDBOX_URL ? [] : ['--sandbox', sandboxUrl];
}

/** The same, as printed at the end of a command line. */
export function sandboxArgument(sandboxUrl: string): string {
  return sandboxArgs(sandboxUrl)
    .map((word) => ` ${shellWord(word)}`)
    .join('');
}

/** Characters a shell would read as more than themselves; an IPv6 URL's brackets, for one, are a glob. */
const SHELL_SPECIAL = /[\s'"\\$`!*?[\]{}()<>|&;#~^]/;

/** `word` as it is to be printed in a command line: single-quoted when a shell would otherwise change it. */
export function shellWord(word: string): string {
  return SHELL_SPECIAL.test(word) ? `'${word.replace(/'/g, `'\\''`)}'` : word;
}
