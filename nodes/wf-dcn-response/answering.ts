/**
 * What wf-dcn-response does: answers the call a wf-dcn-in node holds open for the flow,
 * found by msg.dcn.callId in the hub's registry. A named operation succeeds unless the
 * message says it failed (msg.error from a Catch node, msg.payload false, or
 * msg.payload.success false); a pre-process filter's answer is the request text; a
 * post-process filter's is the response body and headers. A message whose call is gone
 * (answered, timed out, its node stopped) is an error for Catch nodes.
 */
import type { Node, NodeAPI, NodeMessage } from 'node-red';
import { configNode } from '../shared/config-node';
import { NodeStatus } from '../shared/status';
import type { AnyFlowCall } from '../wf-dcn-hub/flow-calls';
import type { WfDcnHubNode } from '../wf-dcn-hub/wf-dcn-hub';
import type { DcnFlowContext } from '../wf-dcn-in/dcn-route';

type ResponseInput = NodeMessage & { dcn?: Partial<DcnFlowContext>; error?: unknown; headers?: unknown };

/** Header names as HTTP allows them (RFC 9110 tokens); values without line breaks. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[^\r\n\0]*$/;
/** The framing is the node's own: a filter cannot set these. */
const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection']);

/**
 * A refusal of the input message: done(err) reports it in the runtime's language, and the
 * call fails with `backEnd`, the English text the back end gets (as the protocol's own texts).
 */
class AnswerError extends Error {
  constructor(
    message: string,
    readonly backEnd: string,
  ) {
    super(message);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** What a Catch node put on the message: its error's text (Node-RED writes it as "Error: …"; the back end gets the text alone). */
function caughtError(msg: ResponseInput): string | null {
  if (msg.error === undefined || msg.error === null || msg.error === false) return null;
  const text = isRecord(msg.error) && typeof msg.error.message === 'string' ? msg.error.message : typeof msg.error === 'string' ? msg.error : String(msg.error);
  return text.replace(/^Error: /, '');
}

export function startAnswering(RED: NodeAPI, node: Node): void {
  const status = new NodeStatus(node);
  node.on('close', () => status.stop());

  /** Why the flow says the named operation failed, or null when it succeeded. Reaches the back end in a status message. */
  function operationFailure(msg: ResponseInput): string | null {
    const caught = caughtError(msg);
    if (caught !== null) return caught;
    if (msg.payload === false) return 'the flow refused the operation';
    if (isRecord(msg.payload) && msg.payload.success === false) {
      const message = msg.payload.message;
      return typeof message === 'string' && message.trim() ? message : 'the flow refused the operation';
    }
    return null;
  }

  /** The pre-process filter's output: the request text. */
  function requestText(payload: unknown): string {
    if (typeof payload === 'string') return payload;
    if (Buffer.isBuffer(payload)) return payload.toString('utf8');
    if (typeof payload === 'object' && payload !== null) return JSON.stringify(payload);
    throw new AnswerError(RED._('wf-dcn-response.errors.badRequestText', { type: typeof payload }), `the pre-process filter gave a ${typeof payload}, not a request`);
  }

  /** The post-process filter's output: the response body. */
  function bodyText(payload: unknown): string {
    if (typeof payload === 'string') return payload;
    if (Buffer.isBuffer(payload)) return payload.toString('utf8');
    if (typeof payload === 'object' && payload !== null) return JSON.stringify(payload);
    if (typeof payload === 'number' || typeof payload === 'boolean') return JSON.stringify(payload);
    throw new AnswerError(RED._('wf-dcn-response.errors.badBody', { type: typeof payload }), `the post-process filter gave a ${typeof payload}, not a body`);
  }

  function responseHeaders(value: unknown): Record<string, string> {
    if (value === undefined || value === null) return {};
    if (!isRecord(value)) throw new AnswerError(RED._('wf-dcn-response.errors.badHeaders'), 'the post-process filter gave headers that are not an object');
    const out: Record<string, string> = {};
    for (const [name, raw] of Object.entries(value)) {
      const text = typeof raw === 'string' ? raw : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : null;
      if (!HEADER_NAME.test(name) || text === null || !HEADER_VALUE.test(text)) {
        const shown = name.slice(0, 60);
        throw new AnswerError(RED._('wf-dcn-response.errors.badHeader', { name: shown }), `the post-process filter gave an invalid header ${JSON.stringify(shown)}`);
      }
      if (!FRAMING_HEADERS.has(name.toLowerCase())) out[name] = text;
    }
    return out;
  }

  /** Gives the call its answer; returns the status text (a key of the node's catalogue). */
  function settle(call: AnyFlowCall, msg: ResponseInput): string {
    switch (call.stage) {
      case 'operation': {
        const failure = operationFailure(msg);
        if (failure === null) call.answer(undefined);
        else call.fail(new Error(failure));
        return failure === null ? 'wf-dcn-response.status.succeeded' : 'wf-dcn-response.status.refused';
      }
      case 'preprocess': {
        const caught = caughtError(msg);
        if (caught !== null) throw new AnswerError(RED._('wf-dcn-response.errors.filterFailed', { stage: call.stage, reason: caught }), `the ${call.stage} filter failed: ${caught}`);
        call.answer(requestText(msg.payload));
        return 'wf-dcn-response.status.filtered';
      }
      case 'postprocess': {
        const caught = caughtError(msg);
        if (caught !== null) throw new AnswerError(RED._('wf-dcn-response.errors.filterFailed', { stage: call.stage, reason: caught }), `the ${call.stage} filter failed: ${caught}`);
        call.answer({ body: bodyText(msg.payload), headers: responseHeaders(msg.headers) });
        return 'wf-dcn-response.status.filtered';
      }
    }
  }

  node.on('input', (input: NodeMessage, _send: unknown, done: (err?: Error) => void) => {
    const msg = input as ResponseInput;
    const context = msg.dcn;
    if (!context || typeof context.callId !== 'string') {
      done(new Error(RED._('wf-dcn-response.errors.notFromWfDcnIn')));
      return;
    }
    const hubNode = configNode<WfDcnHubNode>(RED, context.hub, 'wf-dcn-hub');
    const call = hubNode?.calls.find(context.callId);
    if (!call) {
      done(new Error(RED._('wf-dcn-response.errors.noCall')));
      return;
    }
    try {
      status.ok(settle(call, msg));
      done();
    } catch (err) {
      if (!(err instanceof AnswerError)) throw err;
      // The request is not left waiting for an answer that cannot come: the hub answers 500.
      call.fail(new Error(err.backEnd));
      status.error('wf-dcn-response.status.failed');
      done(err);
    }
  });
}
