/**
 * The body parsers Node-RED's editor runs on every request when it shares the root
 * with the HTTP nodes (httpAdminRoot = httpNodeRoot = '/', the default): JSON and
 * urlencoded, 5 MB. Taken from the editor's own dependency, so tests run what it runs;
 * installed as httpNodeMiddleware they reach our routes in the same state.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;
interface BodyParser {
  json(options: object): Middleware;
  urlencoded(options: object): Middleware;
}

export function editorBodyParsers(): Middleware[] {
  const editorApi = require.resolve('@node-red/editor-api', { paths: [require.resolve('node-red')] });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const bodyParser = require(require.resolve('body-parser', { paths: [editorApi] })) as BodyParser;
  return [bodyParser.json({ limit: '5mb' }), bodyParser.urlencoded({ limit: '5mb', extended: true })];
}
