// The Kinesis client with the SDK's HTTP/1.1 handler in place of its default
// HTTP/2 one: the same answers must arrive over HTTP/1.1.
import { importPackage } from './sluice.mjs';
import { kinesisSuite } from './kinesis_cases.mjs';

const { NodeHttpHandler } = await importPackage('@smithy/node-http-handler');

kinesisSuite('Kinesis via the JavaScript SDK v3, HTTP/1.1 handler', () => ({
  requestHandler: new NodeHttpHandler({ connectionTimeout: 10_000, requestTimeout: 30_000 }),
}));
