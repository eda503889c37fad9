// CBOR 1.1 over cleartext HTTP/2 with prior knowledge: what the Java SDK v2's
// KinesisAsyncClient (and so KCL 2/3) sends on an http:// endpoint. Node's own
// http2 client stands in for Netty; the CBOR bytes are written out by hand as
// Jackson writes them (indefinite-length maps, byte-string blobs), and the
// answers are checked byte for byte where the codec decides their shape.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, test } from 'node:test';

import { startSluice, stopSluice, withDeadline } from './sluice.mjs';

const CBOR_11 = 'application/x-amz-cbor-1.1';
const AUTHORIZATION =
  'AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/kinesis/aws4_request, ' +
  'SignedHeaders=host;x-amz-date, Signature=abc';

// Text string head + UTF-8 bytes, for strings under 256 bytes.
function text(value) {
  const bytes = Buffer.from(value, 'utf8');
  const head = bytes.length < 24 ? [0x60 | bytes.length] : [0x78, bytes.length];
  return Buffer.concat([Buffer.from(head), bytes]);
}

// {_ key: value, ... } with values already encoded.
function map(entries) {
  const parts = [Buffer.from([0xbf])];
  for (const [key, value] of entries) parts.push(text(key), value);
  parts.push(Buffer.from([0xff]));
  return Buffer.concat(parts);
}

// The text string that follows `key` in a CBOR answer.
function textAfterKey(body, key) {
  const at = body.indexOf(text(key));
  assert.ok(at >= 0, `no ${key} in ${body.toString('hex')}`);
  let pos = at + text(key).length;
  const first = body[pos++];
  let length = first & 0x1f;
  if (length === 24) length = body[pos++];
  else if (length === 25) {
    length = body.readUInt16BE(pos);
    pos += 2;
  }
  assert.equal(first >> 5, 3, `${key} is not a text string`);
  return body.subarray(pos, pos + length).toString('utf8');
}

let server;
let session;

before(async () => {
  server = await startSluice();
  session = http2.connect(`http://127.0.0.1:${server.port}`);
});

after(async () => {
  session?.close();
  await stopSluice(server);
});

function call(operation, body) {
  const request = session.request({
    ':method': 'POST',
    ':path': '/',
    'content-type': CBOR_11,
    'x-amz-target': `Kinesis_20131202.${operation}`,
    'x-amz-date': '20240101T000000Z',
    authorization: AUTHORIZATION,
  });
  const answer = new Promise((resolve, reject) => {
    let headers;
    const chunks = [];
    request.on('response', (h) => {
      headers = h;
    });
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => resolve({ headers, body: Buffer.concat(chunks) }));
    request.on('error', reject);
  });
  request.end(body);
  return withDeadline(answer, 10_000, `${operation} over h2c`);
}

test('a Java-SDK-shaped CBOR exchange over h2c', async () => {
  let answer = await call('CreateStream', map([
    ['StreamName', text('h2c-cbor')],
    ['ShardCount', Buffer.from([0x01])],
  ]));
  assert.equal(answer.headers[':status'], 200, answer.body.toString('hex'));
  assert.equal(answer.headers['content-type'], CBOR_11);

  answer = await call('PutRecord', map([
    ['StreamName', text('h2c-cbor')],
    ['Data', Buffer.from([0x42, 0x00, 0xff])],
    ['PartitionKey', text('k')],
  ]));
  assert.equal(answer.headers[':status'], 200, answer.body.toString('hex'));
  const sequenceNumber = textAfterKey(answer.body, 'SequenceNumber');
  assert.match(sequenceNumber, /^[1-9][0-9]{55}$/);

  answer = await call('GetShardIterator', map([
    ['StreamName', text('h2c-cbor')],
    ['ShardId', text('shardId-000000000000')],
    ['ShardIteratorType', text('TRIM_HORIZON')],
  ]));
  assert.equal(answer.headers[':status'], 200, answer.body.toString('hex'));
  const iterator = textAfterKey(answer.body, 'ShardIterator');

  answer = await call('GetRecords', map([['ShardIterator', text(iterator)]]));
  assert.equal(answer.headers[':status'], 200, answer.body.toString('hex'));
  assert.equal(textAfterKey(answer.body, 'SequenceNumber'), sequenceNumber);
  // Data is the byte string 00 ff, not base64 text.
  assert.ok(answer.body.includes(Buffer.concat([text('Data'), Buffer.from([0x42, 0x00, 0xff])])));
  // ApproximateArrivalTimestamp is tag 1 + an 8-byte integer (milliseconds
  // since 1970 need more than 4 bytes).
  const stamp = answer.body.indexOf(text('ApproximateArrivalTimestamp'));
  assert.ok(stamp >= 0);
  const valueAt = stamp + text('ApproximateArrivalTimestamp').length;
  assert.deepEqual([...answer.body.subarray(valueAt, valueAt + 2)], [0xc1, 0x1b]);
  const millis = Number(answer.body.readBigUInt64BE(valueAt + 2));
  assert.ok(Math.abs(millis - Date.now()) < 60_000, `arrival ${millis}`);
});

test('errors over h2c are CBOR maps with x-amzn-ErrorType', async () => {
  const answer = await call('DescribeStreamSummary', map([['StreamName', text('nosuch')]]));
  assert.equal(answer.headers[':status'], 400);
  assert.equal(answer.headers['content-type'], CBOR_11);
  assert.equal(answer.headers['x-amzn-errortype'], 'ResourceNotFoundException');
  assert.deepEqual(answer.body, map([
    ['__type', text('ResourceNotFoundException')],
    ['message', text('Stream nosuch under account 000000000000 not found.')],
  ]));
});
