/**
 * One way to show a node's status. Four looks (ok, working, warning, error) plus idle;
 * the text is an i18n key of the node's catalogue (the editor translates it) or text
 * already translated with RED._. Updates are throttled: the first shows at once, later
 * ones within the interval are folded into one showing the latest, because every
 * status change is pushed to every open editor.
 */
import type { Node, NodeStatus as NodeRedStatus } from 'node-red';

export type StatusLook = 'ok' | 'working' | 'warning' | 'error' | 'idle';

const LOOKS: Record<StatusLook, Pick<NodeRedStatus, 'fill' | 'shape'>> = {
  ok: { fill: 'green', shape: 'dot' },
  working: { fill: 'blue', shape: 'dot' },
  warning: { fill: 'yellow', shape: 'ring' },
  error: { fill: 'red', shape: 'ring' },
  idle: { fill: 'grey', shape: 'ring' },
};

export class NodeStatus {
  private pending: { status: NodeRedStatus; key: string } | null = null;
  private shown: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private last = 0;

  constructor(
    private readonly node: Pick<Node, 'status'>,
    private readonly intervalMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  ok(text: string): void {
    this.show('ok', text);
  }

  working(text: string): void {
    this.show('working', text);
  }

  warning(text: string): void {
    this.show('warning', text);
  }

  error(text: string): void {
    this.show('error', text);
  }

  idle(text: string): void {
    this.show('idle', text);
  }

  show(look: StatusLook, text: string): void {
    const status: NodeRedStatus = { ...LOOKS[look], text };
    const key = `${look}|${text}`;
    if (this.timer) {
      this.pending = { status, key };
      return;
    }
    // The same status again changes nothing in the editor: it is not sent.
    if (key === this.shown) return;
    const wait = this.intervalMs - (this.now() - this.last);
    if (wait <= 0) return this.send(status, key);
    this.pending = { status, key };
    this.timer = setTimeout(() => this.flush(), wait);
  }

  /** Clears the status at once, e.g. when the node closes. */
  clear(): void {
    this.stop();
    this.node.status({});
    this.shown = null;
  }

  /** Drops what is pending; call from the node's close handler. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }

  private flush(): void {
    this.timer = null;
    const pending = this.pending;
    this.pending = null;
    if (pending) this.send(pending.status, pending.key);
  }

  private send(status: NodeRedStatus, key: string): void {
    this.last = this.now();
    this.shown = key;
    this.node.status(status);
  }
}
