// The Kinesis client exactly as an application builds it: endpoint, region
// and credentials, nothing else. @aws-sdk/client-kinesis defaults to its
// HTTP/2 handler (for SubscribeToShard), so on an http:// endpoint it opens
// with the h2c preface (HTTP/2 prior knowledge), like Java SDK v2.
import { kinesisSuite } from './kinesis_cases.mjs';

kinesisSuite('Kinesis via the JavaScript SDK v3, default (HTTP/2) handler');
