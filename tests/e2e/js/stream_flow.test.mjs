// The main flow of a stream through the JavaScript SDK v3 as applications
// build it (its default HTTP/2 handler): create, put, read back, delete.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { importPackage, startSluice, stopSluice } from './sluice.mjs';

const {
  KinesisClient, CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordCommand,
  PutRecordsCommand, GetShardIteratorCommand, GetRecordsCommand, ListShardsCommand,
  DeleteStreamCommand, ListStreamsCommand,
} = await importPackage('@aws-sdk/client-kinesis');

describe('a stream through the JavaScript SDK v3', () => {
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

  it('creates, writes, reads back in order and deletes', async () => {
    await client.send(new CreateStreamCommand({ StreamName: 'js-flow', ShardCount: 2 }));
    const summary = await client.send(
      new DescribeStreamSummaryCommand({ StreamName: 'js-flow' }));
    assert.equal(summary.StreamDescriptionSummary.StreamStatus, 'ACTIVE');
    assert.equal(summary.StreamDescriptionSummary.OpenShardCount, 2);
    assert.ok(summary.StreamDescriptionSummary.StreamCreationTimestamp instanceof Date);

    const encoder = new TextEncoder();
    const first = await client.send(new PutRecordCommand({
      StreamName: 'js-flow', PartitionKey: 'a', Data: encoder.encode('one'),
    }));
    assert.equal(first.ShardId, 'shardId-000000000000');
    const batch = await client.send(new PutRecordsCommand({
      StreamName: 'js-flow',
      Records: ['two', 'three'].map((text) => ({
        PartitionKey: 'a', Data: encoder.encode(text),
      })),
    }));
    assert.equal(batch.FailedRecordCount, 0);
    assert.deepEqual(batch.Records.map((r) => r.ShardId),
      ['shardId-000000000000', 'shardId-000000000000']);

    const { ShardIterator } = await client.send(new GetShardIteratorCommand({
      StreamName: 'js-flow', ShardId: 'shardId-000000000000',
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      StartingSequenceNumber: first.SequenceNumber,
    }));
    const page = await client.send(new GetRecordsCommand({ ShardIterator }));
    const decoder = new TextDecoder();
    assert.deepEqual(page.Records.map((r) => decoder.decode(r.Data)),
      ['one', 'two', 'three']);
    assert.ok(page.Records[0].ApproximateArrivalTimestamp instanceof Date);
    assert.equal(page.MillisBehindLatest, 0);
    assert.ok(page.NextShardIterator);

    const shards = await client.send(new ListShardsCommand({ StreamName: 'js-flow' }));
    assert.equal(shards.Shards.length, 2);

    await client.send(new DeleteStreamCommand({ StreamName: 'js-flow' }));
    const streams = await client.send(new ListStreamsCommand({}));
    assert.deepEqual(streams.StreamNames, []);
  });

  it('a missing stream rejects with ResourceNotFoundException and AWS words', async () => {
    await assert.rejects(
      client.send(new PutRecordCommand({
        StreamName: 'nosuch', PartitionKey: 'k', Data: new Uint8Array([1]),
      })),
      (error) => {
        assert.equal(error.name, 'ResourceNotFoundException');
        assert.equal(error.message, 'Stream nosuch under account 000000000000 not found.');
        assert.equal(error.$metadata.httpStatusCode, 400);
        return true;
      });
  });
});
