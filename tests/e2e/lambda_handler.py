#!/usr/bin/env python3
"""A Firehose data-transformation Lambda function, written as the AWS
tutorials write one, and run by Sluice as a handler program: Sluice writes
the transform event to stdin and reads the response from stdout.

lambda_handler() is the function you would deploy to AWS Lambda: each record
is JSON; {"action": "drop"} records are Dropped, {"action": "fail"} ones are
ProcessingFailed, every other one comes back Ok with "processed": true added.

The command line picks what the tests need (see test_firehose_transform.py):

    lambda_handler.py transform [EVENT_FILE]   the function above; saves the
                                               event it got to EVENT_FILE
    lambda_handler.py omit-id                  answers without the first
                                               record's recordId
    lambda_handler.py crash COUNT_FILE         appends a line to COUNT_FILE,
                                               then raises (exit status 1)
    lambda_handler.py hang COUNT_FILE          appends its pid to COUNT_FILE,
                                               then sleeps until killed
"""

import base64
import json
import os
import sys
import time


def lambda_handler(event, context):
    output = []
    for record in event["records"]:
        payload = json.loads(base64.b64decode(record["data"]))
        action = payload.get("action")
        if action == "drop":
            result, data = "Dropped", record["data"]
        elif action == "fail":
            result, data = "ProcessingFailed", record["data"]
        else:
            payload["processed"] = True
            text = json.dumps(payload, separators=(",", ":"))
            result = "Ok"
            data = base64.b64encode(text.encode()).decode()
        output.append({"recordId": record["recordId"], "result": result,
                       "data": data})
    return {"records": output}


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "transform"
    argument = sys.argv[2] if len(sys.argv) > 2 else None
    if mode in ("crash", "hang"):
        with open(argument, "a") as count:
            count.write(f"{os.getpid()}\n")
        if mode == "crash":
            raise RuntimeError("the handler crashed on purpose")
        while True:
            time.sleep(60)
    event = json.load(sys.stdin)
    if mode == "transform" and argument:
        with open(argument, "w") as saved:
            json.dump(event, saved)
    response = lambda_handler(event, None)
    if mode == "omit-id":
        del response["records"][0]["recordId"]
    json.dump(response, sys.stdout)


if __name__ == "__main__":
    main()
