"""deals worker: consumes deal events from SQS and writes a receipt for each to S3."""
import json
import os
import sys
import time
from datetime import datetime, timezone

from mirrorapp import aws_client, require_env, serve, start_daemon

QUEUE_URL = require_env("DEAL_EVENTS_QUEUE_URL")
BUCKET = require_env("RECEIPTS_BUCKET")
sqs = aws_client("sqs")
s3 = aws_client("s3")


def receipt_key(deal_id):
    return f"receipts/{deal_id}.json"


def consume_forever():
    while True:
        try:
            messages = sqs.receive_message(QueueUrl=QUEUE_URL, MaxNumberOfMessages=10, WaitTimeSeconds=5)
            for message in messages.get("Messages", []):
                deal = json.loads(message["Body"])
                receipt = {"dealId": deal["id"], "title": deal["title"], "price": deal["price"],
                           "processedAt": datetime.now(timezone.utc).isoformat()}
                s3.put_object(Bucket=BUCKET, Key=receipt_key(deal["id"]), Body=json.dumps(receipt).encode(),
                              ContentType="application/json")
                sqs.delete_message(QueueUrl=QUEUE_URL, ReceiptHandle=message["ReceiptHandle"])
        except Exception as err:  # keep consuming: the emulator may still be starting
            print(f"consume failed, retrying: {err}", file=sys.stderr, flush=True)
            time.sleep(2)


def get_receipt(_handler, deal_id, _body):
    try:
        obj = s3.get_object(Bucket=BUCKET, Key=receipt_key(deal_id))
    except s3.exceptions.NoSuchKey:
        return 404, {"error": f"no receipt for deal {deal_id} yet"}
    return 200, json.loads(obj["Body"].read())


def healthz(_handler, _rest, _body):
    s3.head_bucket(Bucket=BUCKET)
    sqs.get_queue_attributes(QueueUrl=QUEUE_URL, AttributeNames=["QueueArn"])
    return 200, {"status": "ok"}


if __name__ == "__main__":
    start_daemon(consume_forever)
    serve({("GET", "/receipts"): get_receipt, ("GET", "/healthz"): healthz}, int(os.environ.get("PORT", "8081")))
