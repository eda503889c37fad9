#!/usr/bin/env python3
"""An example handler for Sluice's `exec` consumer: the code of a Lambda
function behind a Kinesis event-source mapping runs unchanged.

Sluice runs this program once per batch with the Lambda event on stdin and
reads the function's response from stdout, as Lambda would. `lambda_handler`
below is what a tutorial's function looks like: it decodes each record,
processes it, and reports the records it could not process so that only
they (and the records after them) are delivered again (with
"FunctionResponseTypes": ["ReportBatchItemFailures"] on the consumer).

Declare it in the config file (config/examples/consumers.json):

  {"ConsumerName": "orders-handler", "StreamName": "orders",
   "StartingPosition": "TRIM_HORIZON", "BatchSize": 100,
   "FunctionResponseTypes": ["ReportBatchItemFailures"],
   "Handler": {"type": "exec",
               "command": ["python3", "config/examples/handlers/lambda_handler.py"]}}
"""

import base64
import json
import sys


def process(payload):
    """The business logic: here, print high-value purchases to stderr (which
    Sluice logs when the call fails) and ignore the rest."""
    if payload.get("event_type") == "purchase" and float(payload.get("amount", 0)) > 500:
        print(f"high-value order {payload.get('event_id')}: {payload['amount']}",
              file=sys.stderr)


def lambda_handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            payload = json.loads(base64.b64decode(record["kinesis"]["data"]))
            process(payload)
        except Exception as error:  # noqa: BLE001 - report, never crash
            print(f"{record['eventID']}: {error}", file=sys.stderr)
            failures.append({"itemIdentifier": record["kinesis"]["sequenceNumber"]})
    return {"batchItemFailures": failures}


if __name__ == "__main__":
    response = lambda_handler(json.load(sys.stdin), None)
    json.dump(response, sys.stdout)
