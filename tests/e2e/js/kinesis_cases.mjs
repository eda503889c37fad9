// The Kinesis checks every JavaScript SDK test file runs, against its own
// server, with the client options that file is about.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { importPackage, startSluice, stopSluice } from './sluice.mjs';

const { KinesisClient, ListStreamsCommand, RegisterStreamConsumerCommand } =
  await importPackage('@aws-sdk/client-kinesis');

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

    // A real operation without a handler yet (NOT_BUILT_OPERATION in
    // ../sluice_process.py); pick another one when it is built.
    it('RegisterStreamConsumer (not built yet) rejects with UnknownOperationException', async () => {
      const command = new RegisterStreamConsumerCommand({
        StreamARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/s',
        ConsumerName: 'c',
      });
      await assert.rejects(client.send(command), (error) => {
        assert.equal(error.name, 'UnknownOperationException', error.stack);
        assert.equal(error.$metadata.httpStatusCode, 400);
        return true;
      });
    });
  });
}
