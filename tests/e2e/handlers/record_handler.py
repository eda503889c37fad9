#!/usr/bin/env python3
"""A consumer handler for the end-to-end tests (the `exec` handler runs it
once per batch with the Lambda Kinesis event on stdin). It appends one JSON
line per call to --out: the records it got and whether it failed them, so a
test can see every batch. It can fail on purpose:

  --crash-on DATA    exit 1 (a function error) when a record's data is DATA
  --report-on DATA   answer batchItemFailures naming that record
  --once STATE       fail only while the file STATE does not exist (the
                     failure creates it), so the retry succeeds
  --sleep-on DATA    sleep an hour (past any timeout) when a record's data
                     is DATA, after starting a grandchild that sleeps too
"""

import argparse
import base64
import json
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
parser.add_argument("--crash-on")
parser.add_argument("--report-on")
parser.add_argument("--once")
parser.add_argument("--sleep-on")
args = parser.parse_args()

event = json.load(sys.stdin)
records = []
for record in event["Records"]:
    kinesis = record["kinesis"]
    records.append({
        "seq": kinesis["sequenceNumber"],
        "key": kinesis["partitionKey"],
        "data": base64.b64decode(kinesis["data"]).decode(),
        "eventID": record["eventID"],
    })
datas = [r["data"] for r in records]


def failing(value):
    if value is None or value not in datas:
        return False
    if args.once:
        if os.path.exists(args.once):
            return False
        open(args.once, "w").close()
    return True


if args.sleep_on is not None and args.sleep_on in datas:
    import subprocess
    import time
    with open(args.out + ".pid", "w") as f:  # the test looks for our group
        f.write(str(os.getpid()))
    subprocess.Popen(["sleep", "3600"])  # must die with us at the timeout
    time.sleep(3600)

outcome = "ok"
response = None
if failing(args.crash_on):
    outcome = "crash"
elif failing(args.report_on):
    outcome = "report"
    seq = records[datas.index(args.report_on)]["seq"]
    response = {"batchItemFailures": [{"itemIdentifier": seq}]}

line = json.dumps({"outcome": outcome, "records": records,
                   "event": event if len(records) <= 10 else None}) + "\n"
fd = os.open(args.out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
os.write(fd, line.encode())  # one write per line: lanes append concurrently
os.close(fd)

if outcome == "crash":
    sys.exit(1)
if response is not None:
    json.dump(response, sys.stdout)
