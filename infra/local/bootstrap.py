#!/usr/bin/env python3
"""Create the local stack's dev resources on the emulator from template.yaml itself.

The table's keys, attributes, indexes and TTL, the dial queue's visibility timeout and redrive
count, the bucket's CORS rule and the schedule group are read from the template's resources,
so the emulator never drifts from what is deployed (the Rust schema is checked against the same
template by tests/tests/template_matches.rs). Only the names differ: dev names below.

Idempotent: existing resources are left alone. Endpoints: $AWS_ENDPOINT_URL (moto), and
$AWS_ENDPOINT_URL_DYNAMODB for DynamoDB (dynoxide).
"""

import argparse
import json
import os
import sys

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

# Logical id in template.yaml -> name on the local stack. The dev server (`campaigns dev`)
# uses the same names.
DEV_NAMES = {
    "Table": "campaigns-dev",
    "UploadBucket": "campaigns-uploads-dev",
    "DialQueue": "campaigns-dial-dev",
    "DialDeadLetterQueue": "campaigns-dial-dlq-dev",
    "TickDeadLetterQueue": "campaigns-tick-dlq-dev",
    "IngestDeadLetterQueue": "campaigns-ingest-dlq-dev",
    "WakeupScheduleGroup": "campaigns-dev",
}


class CfnLoader(yaml.SafeLoader):
    """A YAML loader that reads CloudFormation short forms (!Ref, !GetAtt, !Sub, ...) as the
    long forms ({"Ref": ...}, {"Fn::GetAtt": ...}), so nothing in the template breaks the parse."""


def _cfn_tag(loader, tag_suffix, node):
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=CfnLoader)


def resource(template, logical_id, kind):
    res = template["Resources"].get(logical_id)
    if res is None or res.get("Type") != kind:
        sys.exit(f"bootstrap: template.yaml has no {kind} named {logical_id}")
    return res.get("Properties", {})


def literal(value, what):
    """A property the emulator needs must be a literal in the template, not an expression."""
    if isinstance(value, dict):
        sys.exit(f"bootstrap: {what} in template.yaml is an expression ({value}); the local stack needs a literal")
    return value


def client(service):
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    if service == "dynamodb":
        # DynamoDB is served by dynoxide (infra/dynamo-local), the rest by moto.
        endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
    )


def ensure_table(t):
    p = resource(t, "Table", "AWS::DynamoDB::Table")
    name = DEV_NAMES["Table"]
    ddb = client("dynamodb")
    try:
        ddb.describe_table(TableName=name)
        return f"table {name}: exists"
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    gsis = [
        {
            "IndexName": g["IndexName"],
            "KeySchema": g["KeySchema"],
            "Projection": g["Projection"],
        }
        for g in p.get("GlobalSecondaryIndexes", [])
    ]
    ddb.create_table(
        TableName=name,
        BillingMode=literal(p["BillingMode"], "Table.BillingMode"),
        AttributeDefinitions=p["AttributeDefinitions"],
        KeySchema=p["KeySchema"],
        GlobalSecondaryIndexes=gsis,
    )
    ttl = p.get("TimeToLiveSpecification")
    if ttl:
        ddb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    return f"table {name}: created ({len(gsis)} indexes, ttl={ttl and ttl['AttributeName']})"


def ensure_bucket(t):
    p = resource(t, "UploadBucket", "AWS::S3::Bucket")
    name = DEV_NAMES["UploadBucket"]
    s3 = client("s3")
    try:
        s3.head_bucket(Bucket=name)
        return f"bucket {name}: exists"
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise
    s3.create_bucket(Bucket=name)
    rules = []
    for r in p.get("CorsConfiguration", {}).get("CorsRules", []):
        origins = r.get("AllowedOrigins", ["*"])
        rules.append(
            {
                "AllowedMethods": r["AllowedMethods"],
                # Origins come from a deployment parameter: anything goes locally.
                "AllowedOrigins": origins if isinstance(origins, list) else ["*"],
                "AllowedHeaders": r.get("AllowedHeaders", []),
                "ExposeHeaders": r.get("ExposedHeaders", []),
                "MaxAgeSeconds": r.get("MaxAge", 0),
            }
        )
    if rules:
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
    return f"bucket {name}: created"


def ensure_queue(t, logical_id, dlq_arns):
    p = resource(t, logical_id, "AWS::SQS::Queue")
    name = DEV_NAMES[logical_id]
    sqs = client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        state = "exists"
    except ClientError as e:
        if "NonExistentQueue" not in e.response["Error"]["Code"]:
            raise
        attrs = {}
        for prop, attr in (("VisibilityTimeout", "VisibilityTimeout"), ("MessageRetentionPeriod", "MessageRetentionPeriod")):
            if prop in p:
                attrs[attr] = str(literal(p[prop], f"{logical_id}.{prop}"))
        redrive = p.get("RedrivePolicy")
        if redrive:
            target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
            attrs["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": dlq_arns[target], "maxReceiveCount": int(redrive["maxReceiveCount"])}
            )
        url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        state = "created"
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, f"queue {name}: {state}"


def ensure_schedule_group(t):
    resource(t, "WakeupScheduleGroup", "AWS::Scheduler::ScheduleGroup")
    name = DEV_NAMES["WakeupScheduleGroup"]
    sch = client("scheduler")
    try:
        sch.get_schedule_group(Name=name)
        return f"schedule group {name}: exists"
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    try:
        sch.create_schedule_group(Name=name)
        return f"schedule group {name}: created"
    except ClientError as e:
        if e.response["Error"]["Code"] != "ConflictException":
            raise
        return f"schedule group {name}: exists"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--template", required=True)
    ap.add_argument("--env-file", help="write the dev environment (export lines) here")
    args = ap.parse_args()
    t = load_template(args.template)

    lines = [ensure_table(t), ensure_bucket(t)]
    arns = {}
    urls = {}
    # Dead-letter queues first: the dial queue's redrive policy names one.
    for lid in ("DialDeadLetterQueue", "TickDeadLetterQueue", "IngestDeadLetterQueue", "DialQueue"):
        url, arn, line = ensure_queue(t, lid, arns)
        arns[lid], urls[lid] = arn, url
        lines.append(line)
    lines.append(ensure_schedule_group(t))
    for line in lines:
        print(f"stack: {line}", file=sys.stderr)

    env = {
        "TABLE_NAME": DEV_NAMES["Table"],
        "BUCKET_NAME": DEV_NAMES["UploadBucket"],
        "DIAL_QUEUE_URL": urls["DialQueue"],
        "SCHEDULE_GROUP": DEV_NAMES["WakeupScheduleGroup"],
    }
    if args.env_file:
        with open(args.env_file, "w", encoding="utf-8") as f:
            f.write("# Written by infra/local/stack.sh up: the dev resources on the local stack.\n")
            for k, v in env.items():
                f.write(f"export {k}={v}\n")


if __name__ == "__main__":
    main()
