"""Produces the e-commerce events of pipelines.md into a Kinesis stream, as a
tutorial's producer does: JSON events, partition key = user_id (a random
UUID for events without one), PutRecords in batches of up to 500 with a
retry of the entries that failed.

    python3 config/examples/producers/ecommerce_producer.py --count 10000 \
        [--endpoint http://127.0.0.1:4567] [--stream events]
"""

import argparse
import datetime
import json
import random
import uuid

import boto3

PAGES = ["/", "/cart", "/checkout"] + [f"/products/widget-{c}" for c in "abcdefgh"]


def event():
    now = datetime.datetime.now(datetime.timezone.utc)
    user = f"user-{random.randrange(1, 1001)}"
    kind = random.choices(["page_view", "add_to_cart", "purchase", "error"],
                          [70, 12, 12, 6])[0]
    e = {"event_id": str(uuid.uuid4()), "event_type": kind,
         "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"}
    if kind == "page_view":
        e["data"] = {"user_id": user, "page": random.choice(PAGES),
                     "referrer": random.choice(["google", "direct", "ads"]),
                     "device": random.choice(["mobile", "desktop"])}
    elif kind == "add_to_cart":
        e["data"] = {"user_id": user, "product_id": f"p-{random.randrange(50)}",
                     "quantity": random.randrange(1, 4), "price": 19.99}
    elif kind == "purchase":
        e["data"] = {"user_id": user, "product_id": f"p-{random.randrange(50)}",
                     "amount": round(random.uniform(5, 800), 2), "currency": "USD"}
    else:
        e["data"] = {"error_code": random.choice(["E500", "E503", "E429"]),
                     "message": "upstream timed out"}
        return str(uuid.uuid4()), e
    return user, e


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default="http://127.0.0.1:4567")
    parser.add_argument("--stream", default="events")
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()
    kinesis = boto3.client("kinesis", endpoint_url=args.endpoint, region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="y")
    sent = 0
    while sent < args.count:
        entries = []
        for _ in range(min(500, args.count - sent)):
            key, e = event()
            entries.append({"Data": json.dumps(e).encode(), "PartitionKey": key})
        sent += len(entries)
        while entries:
            answer = kinesis.put_records(StreamName=args.stream, Records=entries)
            entries = [e for e, r in zip(entries, answer["Records"]) if "ErrorCode" in r]
    print(f"put {sent} events into {args.stream}")


if __name__ == "__main__":
    main()
