/**
 * Starts every stand-in on one port. Each platform's stand-in registers here; the demo
 * (npm start), the CLI and the tests all start the sandbox through this function.
 */
import { SandboxServer, StandIn } from './server';

export interface Sandbox {
  baseUrl: string;
  server: SandboxServer;
  close(): Promise<void>;
}

export interface SandboxOptions {
  port?: number;
  host?: string;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const standIns: StandIn[] = [];
  const server = new SandboxServer(standIns);
  const baseUrl = await server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return { baseUrl, server, close: () => server.close() };
}
