/**
 * The sandbox around a describe block: started once before it, closed after it, and its
 * Official Account, WeCom API, C4C and Mobile Services stand-ins reset before each test, so no test sees the
 * tokens, messages, media, customers or faults another one left behind.
 */
import { Sandbox, SandboxOptions, startSandbox } from '../../sandbox';

export function withSandbox(started: (sandbox: Sandbox) => void, options: SandboxOptions = {}): void {
  let sandbox: Sandbox | null = null;
  before(async () => {
    sandbox = await startSandbox(options);
    started(sandbox);
  });
  after(() => sandbox?.close());
  beforeEach(() => {
    sandbox?.wechat.reset();
    sandbox?.wecom.reset();
    sandbox?.c4c.reset();
    sandbox?.mobileServices.reset();
  });
}
