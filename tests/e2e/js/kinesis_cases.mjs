// The Kinesis checks every JavaScript SDK test file runs, against its own
// server, with the client options that file is about.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { importPackage, startSluice, stopSluice } from './sluice.mjs';

const {
  CreateStreamCommand,
  DeregisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  KinesisClient,
  ListStreamsCommand,
  RegisterStreamConsumerCommand,
} = await importPackage('@aws-sdk/client-kinesis');

// `extraOptions(port)` returns client options added to endpoint, region and
// dummy credentials.
export function kinesisSuite(title, extraOptions = () => ({})) {
  describe(title, () => {
    let server;
    let client;

    before(async () => {
      server = await startSluice();
      client = new KinesisClient({
        endpoint: `http://127.0.0.1:${server.port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
        maxAttempts: 1, // the first answer, not a retried one
        ...extraOptions(server.port),
      });
    });

    after(async () => {
      client?.destroy();
      await stopSluice(server);
    });

    it('ListStreams returns no streams', async () => {
      const answer = await client.send(new ListStreamsCommand({}));
      assert.equal(answer.$metadata.httpStatusCode, 200);
      assert.deepEqual(answer.StreamNames, []);
      assert.equal(answer.HasMoreStreams, false);
      assert.deepEqual(answer.StreamSummaries, []);
      assert.ok(answer.$metadata.requestId, 'x-amzn-RequestId is missing');
    });

    it('ListStreams with Limit 0 rejects with ValidationException', async () => {
      await assert.rejects(client.send(new ListStreamsCommand({ Limit: 0 })), (error) => {
        assert.equal(error.name, 'ValidationException', error.stack);
        assert.equal(
          error.message,
          "1 validation error detected: Value '0' at 'limit' failed to satisfy " +
            'constraint: Member must have value greater than or equal to 1',
        );
        assert.equal(error.$metadata.httpStatusCode, 400);
        return true;
      });
    });

    // Runs last: the ListStreams cases expect no streams.
    it('registers, describes and deregisters an enhanced fan-out consumer', async () => {
      await client.send(new CreateStreamCommand({ StreamName: 'efo', ShardCount: 1 }));
      const streamArn = 'arn:aws:kinesis:us-east-1:000000000000:stream/efo';
      const { Consumer } = await client.send(
        new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: 'js-app' }),
      );
      assert.equal(Consumer.ConsumerName, 'js-app');
      assert.equal(Consumer.ConsumerStatus, 'ACTIVE');
      assert.ok(Consumer.ConsumerCreationTimestamp instanceof Date);
      const seconds = Math.floor(Consumer.ConsumerCreationTimestamp.getTime() / 1000);
      assert.equal(Consumer.ConsumerARN, `${streamArn}/consumer/js-app:${seconds}`);

      const { ConsumerDescription } = await client.send(
        new DescribeStreamConsumerCommand({ ConsumerARN: Consumer.ConsumerARN }),
      );
      assert.equal(ConsumerDescription.StreamARN, streamArn);
      assert.equal(ConsumerDescription.ConsumerName, 'js-app');

      await client.send(new DeregisterStreamConsumerCommand({ ConsumerARN: Consumer.ConsumerARN }));
      await assert.rejects(
        client.send(new DescribeStreamConsumerCommand({ ConsumerARN: Consumer.ConsumerARN })),
        (error) => {
          assert.equal(error.name, 'ResourceNotFoundException', error.stack);
          assert.equal(error.$metadata.httpStatusCode, 400);
          return true;
        },
      );
    });
  });
}
