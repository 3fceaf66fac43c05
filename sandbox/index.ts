/**
 * Starts every stand-in on one port. Each platform's stand-in registers here; the demo
 * (npm start), the CLI and the tests all start the sandbox through this function.
 */
import { C4CStandIn, C4CStandInOptions } from './c4c';
import { MobileServicesOptions, MobileServicesStandIn } from './mobile-services/index';
import { SandboxServer, StandIn } from './server';
import { OfficialApiOptions, WeChatApiStandIn } from './wechat-api';
import { WeComApiOptions, WeComApiStandIn } from './wecom-api';

export interface Sandbox {
  baseUrl: string;
  server: SandboxServer;
  /** The C4C tenant stand-in; its base URL is `${baseUrl}/c4c`. */
  c4c: C4CStandIn;
  /** Official Account API stand-in at `${baseUrl}/wechat`: recorded messages, fault injection. */
  wechat: WeChatApiStandIn;
  /** WeCom API stand-in at `${baseUrl}/wecom`: recorded messages, fault injection. */
  wecom: WeComApiStandIn;
  /** SAP Mobile Services stand-in at `${baseUrl}/mobile-services`: push (recorded deliveries, fault injection) and the Micro App forwarder. */
  mobileServices: MobileServicesStandIn;
  close(): Promise<void>;
}

export interface SandboxOptions {
  port?: number;
  host?: string;
  wechat?: OfficialApiOptions;
  wecom?: WeComApiOptions;
  c4c?: C4CStandInOptions;
  mobileServices?: MobileServicesOptions;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const c4c = new C4CStandIn(options.c4c);
  const wechat = new WeChatApiStandIn(options.wechat);
  const wecom = new WeComApiStandIn(options.wecom);
  const mobileServices = new MobileServicesStandIn(options.mobileServices);
  const standIns: StandIn[] = [c4c, wechat, wecom, mobileServices];
  const server = new SandboxServer(standIns);
  const baseUrl = await server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  c4c.tenantUrl = `${baseUrl}/c4c`;
  return { baseUrl, server, c4c, wechat, wecom, mobileServices, close: () => server.close() };
}
