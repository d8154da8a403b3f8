"""deals API: stores a deal in DynamoDB and announces it on SQS for the worker."""
import json
import os
import uuid

from mirrorapp import aws_client, require_env, serve

TABLE = require_env("DEALS_TABLE")
QUEUE_URL = require_env("DEAL_EVENTS_QUEUE_URL")
dynamodb = aws_client("dynamodb")
sqs = aws_client("sqs")


def create_deal(_handler, _rest, body):
    if not isinstance(body, dict) or not body.get("title"):
        return 400, {"error": 'body must be a JSON object with a "title", e.g. {"title": "2 for 1", "price": 10}'}
    deal = {"id": uuid.uuid4().hex, "title": str(body["title"]), "price": str(body.get("price", 0))}
    dynamodb.put_item(TableName=TABLE, Item={k: {"S": v} for k, v in deal.items()})
    sqs.send_message(QueueUrl=QUEUE_URL, MessageBody=json.dumps(deal))
    return 201, deal


def get_deal(_handler, deal_id, _body):
    item = dynamodb.get_item(TableName=TABLE, Key={"id": {"S": deal_id}}).get("Item")
    if not item:
        return 404, {"error": f"no deal {deal_id}"}
    return 200, {k: v["S"] for k, v in item.items()}


def healthz(_handler, _rest, _body):
    dynamodb.describe_table(TableName=TABLE)
    sqs.get_queue_attributes(QueueUrl=QUEUE_URL, AttributeNames=["QueueArn"])
    return 200, {"status": "ok"}


if __name__ == "__main__":
    serve({("POST", "/deals"): create_deal, ("GET", "/deals"): get_deal, ("GET", "/healthz"): healthz},
          int(os.environ.get("PORT", "8080")))
