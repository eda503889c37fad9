// SubscribeToShard through the JavaScript SDK v3 as applications build it:
// its default handler speaks HTTP/2 (h2c), so the event stream arrives as
// DATA frames on one stream, and leaving the loop resets that stream.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { importPackage, startSluice, stopSluice, withDeadline } from './sluice.mjs';

const {
  KinesisClient, CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordCommand,
  RegisterStreamConsumerCommand, SubscribeToShardCommand,
} = await importPackage('@aws-sdk/client-kinesis');

describe('SubscribeToShard through the JavaScript SDK v3 (HTTP/2)', () => {
  let server;
  let client;

  before(async () => {
    server = await startSluice();
    client = new KinesisClient({
      endpoint: `http://127.0.0.1:${server.port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      maxAttempts: 1,
    });
  });

  after(async () => {
    client?.destroy();
    await stopSluice(server);
  });

  async function subscribe(consumerArn, position) {
    return client.send(new SubscribeToShardCommand({
      ConsumerARN: consumerArn, ShardId: 'shardId-000000000000',
      StartingPosition: position,
    }));
  }

  it('pushes records put after subscribing, then resumes from the continuation',
    async () => {
      await client.send(new CreateStreamCommand({ StreamName: 'js-push', ShardCount: 1 }));
      const summary = await client.send(
        new DescribeStreamSummaryCommand({ StreamName: 'js-push' }));
      const streamArn = summary.StreamDescriptionSummary.StreamARN;
      const register = async (name) => (await client.send(new RegisterStreamConsumerCommand({
        StreamARN: streamArn, ConsumerName: name,
      }))).Consumer.ConsumerARN;
      const first = await register('js-first');
      const second = await register('js-second');

      const encoder = new TextEncoder();
      const decoder = new TextDecoder();
      const put = async (text) => (await client.send(new PutRecordCommand({
        StreamName: 'js-push', PartitionKey: 'k', Data: encoder.encode(text),
      }))).SequenceNumber;

      const response = await subscribe(first, { Type: 'LATEST' });
      const received = [];
      let continuation;
      let sequences = [];
      await withDeadline((async () => {
        for await (const event of response.EventStream) {
          const payload = event.SubscribeToShardEvent;
          assert.ok(payload, `unexpected event ${JSON.stringify(Object.keys(event))}`);
          if (sequences.length === 0) {
            // The first event comes at once; records put now come pushed.
            sequences = [await put('one'), await put('two'), await put('three')];
          }
          for (const record of payload.Records) {
            received.push(decoder.decode(record.Data));
            assert.ok(record.ApproximateArrivalTimestamp instanceof Date);
          }
          continuation = payload.ContinuationSequenceNumber;
          if (received.length >= 3) break;  // resets the HTTP/2 stream
        }
      })(), 30_000, 'three records pushed');
      assert.deepEqual(received, ['one', 'two', 'three']);
      assert.equal(continuation, sequences[2]);

      await put('four');
      const resumed = await subscribe(second, {
        Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: continuation,
      });
      const later = [];
      await withDeadline((async () => {
        for await (const event of resumed.EventStream) {
          for (const record of event.SubscribeToShardEvent.Records) {
            later.push(decoder.decode(record.Data));
          }
          if (later.length >= 1) break;
        }
      })(), 30_000, 'the record after the continuation');
      assert.deepEqual(later, ['four']);
    });

  it('answers an unknown consumer with ResourceNotFoundException', async () => {
    await assert.rejects(
      subscribe('arn:aws:kinesis:us-east-1:000000000000:stream/js-push/consumer/no:1',
        { Type: 'LATEST' }),
      (error) => error.name === 'ResourceNotFoundException');
  });
});
