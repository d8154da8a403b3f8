# The emulated cloud mode's creation script: the emulator container's postStart hook
# (components/cloud/emulated.ts) runs it from a ConfigMap on every start of the container, in the
# emulator's own image. It waits for the emulator, then creates every declared queue, bucket and
# table with the tags, tolerating ones that already exist, so a retried hook converges.
# Usage: create_resources.py ENDPOINT_URL
# Input: PROD_MIRROR_RESOURCES (JSON: tags, queues, buckets, tables), AWS_REGION.
import json, os, sys, time
import boto3

if len(sys.argv) != 2:
    sys.exit("usage: create_resources.py ENDPOINT_URL")
spec = json.loads(os.environ["PROD_MIRROR_RESOURCES"])
region = os.environ["AWS_REGION"]
kw = {"endpoint_url": sys.argv[1], "region_name": region}
sqs, s3, ddb = (boto3.client(s, **kw) for s in ("sqs", "s3", "dynamodb"))
deadline = time.time() + 180
while True:
    try:
        sqs.list_queues()
        break
    except Exception as err:
        if time.time() > deadline:
            sys.exit(f"the emulator at {kw['endpoint_url']} did not answer within 180 s: {err}")
        print(f"waiting for the emulator: {err}", flush=True)
        time.sleep(2)

tags = spec["tags"]
tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
for q in spec["queues"]:
    sqs.create_queue(QueueName=q["name"], Attributes={"VisibilityTimeout": str(q["visibilityTimeoutSeconds"])}, tags=tags)
    print("queue", q["name"], flush=True)
for name in spec["buckets"]:
    args = {"Bucket": name}
    if region != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**args)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list})
    print("bucket", name, flush=True)
for t in spec["tables"]:
    keys = [{"AttributeName": t["hashKey"], "KeyType": "HASH"}]
    attrs = [{"AttributeName": t["hashKey"], "AttributeType": t["hashKeyType"]}]
    if t.get("rangeKey"):
        keys.append({"AttributeName": t["rangeKey"], "KeyType": "RANGE"})
        attrs.append({"AttributeName": t["rangeKey"], "AttributeType": t["rangeKeyType"]})
    try:
        ddb.create_table(TableName=t["name"], KeySchema=keys, AttributeDefinitions=attrs,
                         BillingMode="PAY_PER_REQUEST", Tags=tag_list)
    except ddb.exceptions.ResourceInUseException:
        pass
    print("table", t["name"], flush=True)
