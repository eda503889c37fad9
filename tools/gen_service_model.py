#!/usr/bin/env python3
"""Writes server/model/{kinesis,firehose}_model.cc from botocore's service models.

Usage: python3 tools/gen_service_model.py [--out-dir server/model]

The tables hold every shape reachable from an operation's input: its type,
members in declaration order with required flags, and the constraints the
request validator checks (length or value range, pattern, enum values). The
output is deterministic, so regenerating with the same botocore gives the same
files; they are committed and the build never needs botocore.

Two things AWS does are not in botocore's model, so they live here, each
observed in AWS responses (recorded by kinesalite's tests against AWS):
  - CHECK_ORDER: the order AWS lists violations of a structure's members in,
    where it differs from declaration order.
  - ENUM_ORDER: the order AWS lists an enum's values in its message.
The generator fails if either names something the model no longer has, so a
model update cannot leave them silently stale.

One pattern is Sluice's own, not AWS's (PATTERN_OVERRIDES): Firehose's
HttpEndpointUrl accepts http:// as well as https://, because a local receiver
usually speaks plain HTTP (docs/firehose.md).
"""

import argparse
import gzip
import json
import os
import sys

import botocore

SERVICES = [
    # (botocore name, api version, output file, C++ function, Java package
    #  AWS prints structures in lists with)
    ("kinesis", "2013-12-02", "kinesis_model.cc", "KinesisModel",
     "com.amazonaws.kinesis.v20131202"),
    ("firehose", "2015-08-04", "firehose_model.cc", "FirehoseModel",
     "com.amazonaws.firehose.v20150804"),
]

PATTERN_OVERRIDES = {
    "firehose": {"HttpEndpointUrl": ("https://.*", "https?://.*")},
}

CHECK_ORDER = {
    "kinesis": {
        "PutRecordInput": ["SequenceNumberForOrdering", "PartitionKey",
                           "ExplicitHashKey", "Data", "StreamName"],
        "PutRecordsInput": ["Records", "StreamName"],
        "PutRecordsRequestEntry": ["PartitionKey", "ExplicitHashKey", "Data"],
        "GetShardIteratorInput": ["ShardId", "ShardIteratorType",
                                  "StartingSequenceNumber", "StreamName"],
        "GetRecordsInput": ["Limit", "ShardIterator"],
        "MergeShardsInput": ["ShardToMerge", "AdjacentShardToMerge",
                             "StreamName"],
        "SplitShardInput": ["NewStartingHashKey", "StreamName",
                            "ShardToSplit"],
        "AddTagsToStreamInput": ["Tags", "StreamName"],
        "RemoveTagsFromStreamInput": ["TagKeys", "StreamName"],
        "ListTagsForStreamInput": ["Limit", "ExclusiveStartTagKey",
                                   "StreamName"],
        "DescribeStreamInput": ["Limit", "ExclusiveStartShardId",
                                "StreamName"],
        "UpdateShardCountInput": ["ScalingType", "StreamName",
                                  "TargetShardCount"],
        "IncreaseStreamRetentionPeriodInput": ["RetentionPeriodHours",
                                               "StreamName"],
        "DecreaseStreamRetentionPeriodInput": ["RetentionPeriodHours",
                                               "StreamName"],
        "CreateStreamInput": ["ShardCount", "StreamName"],
    },
    "firehose": {},
}

ENUM_ORDER = {
    "kinesis": {
        "ShardIteratorType": ["AFTER_SEQUENCE_NUMBER", "LATEST",
                              "AT_TIMESTAMP", "AT_SEQUENCE_NUMBER",
                              "TRIM_HORIZON"],
    },
    "firehose": {},
}

TYPES = {
    "structure": "kStructure", "list": "kList", "map": "kMap",
    "string": "kString", "blob": "kBlob", "integer": "kInteger",
    "long": "kLong", "boolean": "kBoolean", "double": "kDouble",
    "float": "kDouble", "timestamp": "kTimestamp",
}


def fail(message):
    sys.exit("gen_service_model.py: " + message)


def load(service, version):
    path = os.path.join(os.path.dirname(botocore.__file__), "data", service,
                        version, "service-2.json.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return json.load(f)


def cpp_string(text):
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif 0x20 <= ord(ch) < 0x7F:
            out.append(ch)
        else:
            # Every byte as an escape keeps the file ASCII; the string stays
            # UTF-8. An octal escape cannot swallow a following digit.
            out.extend("\\%03o" % b for b in ch.encode("utf-8"))
    return '"' + "".join(out) + '"'


def reachable(model):
    shapes = model["shapes"]
    seen = set()
    stack = [op["input"]["shape"] for op in model["operations"].values()
             if "input" in op]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        shape = shapes[name]
        if shape["type"] == "structure":
            stack.extend(m["shape"] for m in shape["members"].values())
        elif shape["type"] == "list":
            stack.append(shape["member"]["shape"])
        elif shape["type"] == "map":
            stack.extend([shape["key"]["shape"], shape["value"]["shape"]])
    return sorted(seen)


def limit(shape, key):
    if key not in shape:
        return None
    value = shape[key]
    if float(value) != int(value):
        fail("fractional limit %r not supported" % value)
    return int(value)


def generate(service, version, function, java_package):
    model = load(service, version)
    shapes = model["shapes"]
    names = reachable(model)
    index = {name: i for i, name in enumerate(names)}
    if len(names) >= 0xFFFF:
        fail("too many shapes")

    members, check_order, enum_values, patterns = [], [], [], []
    pattern_index = {}
    shape_rows = []
    orders = CHECK_ORDER[service]
    enum_orders = ENUM_ORDER[service]
    pattern_overrides = PATTERN_OVERRIDES.get(service, {})
    for name in pattern_overrides:
        if name not in index:
            fail("PATTERN_OVERRIDES names %s, which %s no longer has"
                 % (name, service))
    for name in orders:
        if name not in index:
            fail("CHECK_ORDER names %s, which %s no longer has" % (name, service))
    for name in enum_orders:
        if name not in index:
            fail("ENUM_ORDER names %s, which %s no longer has" % (name, service))

    for name in names:
        shape = shapes[name]
        kind = shape["type"]
        if kind not in TYPES:
            fail("shape %s has unsupported type %s" % (name, kind))
        first, count, check_first, element, value = 0, 0, 0, 0xFFFF, 0xFFFF
        if kind == "structure":
            declared = list(shape["members"].keys())
            required = set(shape.get("required", []))
            first, count = len(members), len(declared)
            for member_name in declared:
                members.append((member_name,
                                index[shape["members"][member_name]["shape"]],
                                member_name in required))
            wanted = orders.get(name, [])
            for member_name in wanted:
                if member_name not in declared:
                    fail("CHECK_ORDER for %s names unknown member %s" %
                         (name, member_name))
            order = wanted + [m for m in declared if m not in wanted]
            check_first = len(check_order)
            check_order.extend(first + declared.index(m) for m in order)
        elif kind == "list":
            element = index[shape["member"]["shape"]]
        elif kind == "map":
            element = index[shape["key"]["shape"]]
            value = index[shape["value"]["shape"]]
        if "enum" in shape:
            values = shape["enum"]
            if name in enum_orders:
                if sorted(enum_orders[name]) != sorted(values):
                    fail("ENUM_ORDER for %s no longer matches the model" % name)
                values = enum_orders[name]
            first, count = len(enum_values), len(values)
            enum_values.extend(values)
        pattern = -1
        if "pattern" in shape:
            text = shape["pattern"]
            if name in pattern_overrides:
                aws_pattern, text = pattern_overrides[name]
                if shape["pattern"] != aws_pattern:
                    fail("PATTERN_OVERRIDES for %s no longer matches the model"
                         % name)
            if text not in pattern_index:
                pattern_index[text] = len(patterns)
                patterns.append(text)
            pattern = pattern_index[text]
        shape_rows.append((name, TYPES[kind], limit(shape, "min"),
                           limit(shape, "max"), pattern, first, count,
                           check_first, element, value))

    operations = []
    for op_name in sorted(model["operations"]):
        op = model["operations"][op_name]
        operations.append((op_name, index[op["input"]["shape"]]
                           if "input" in op else 0xFFFF))

    out = []
    out.append("// GENERATED by tools/gen_service_model.py from botocore %s's"
               % botocore.__version__)
    out.append("// %s %s service model. Do not edit by hand; regenerate with"
               % (service, version))
    out.append("//   python3 tools/gen_service_model.py")
    out.append("// and commit the result (the build does not need botocore).")
    out.append("// clang-format off")
    out.append('#include "server/model/service_model.h"')
    out.append("")
    out.append("namespace sluice::model {")
    out.append("namespace {")
    out.append("")
    out.append("constexpr Operation kOperations[] = {")
    for op_name, shape in operations:
        out.append("    {%s, %d}," % (cpp_string(op_name), shape))
    out.append("};")
    out.append("")
    out.append("// name, type, has_min, has_max, min, max, pattern, first, count,")
    out.append("// check_first, element, value")
    out.append("constexpr Shape kShapes[] = {")
    for (name, kind, lo, hi, pattern, first, count, check_first, element,
         value) in shape_rows:
        out.append("    {%s, ShapeType::%s, %s, %s, %d, %d, %d, %d, %d, %d, %d, %d},"
                   % (cpp_string(name), kind, "true" if lo is not None else "false",
                      "true" if hi is not None else "false", lo or 0, hi or 0,
                      pattern, first, count, check_first, element, value))
    out.append("};")
    out.append("")
    out.append("constexpr Member kMembers[] = {")
    for member_name, shape, required in members:
        out.append("    {%s, %d, %s}," % (cpp_string(member_name), shape,
                                         "true" if required else "false"))
    out.append("};")
    out.append("")
    out.append("constexpr uint16_t kCheckOrder[] = {")
    for i in range(0, len(check_order), 12):
        out.append("    " + ", ".join(str(x) for x in check_order[i:i + 12]) + ",")
    out.append("};")
    out.append("")
    out.append("constexpr std::string_view kEnumValues[] = {")
    for text in enum_values:
        out.append("    %s," % cpp_string(text))
    out.append("};")
    out.append("")
    out.append("constexpr std::string_view kPatterns[] = {")
    for text in patterns:
        out.append("    %s," % cpp_string(text))
    out.append("};")
    out.append("")
    out.append("}  // namespace")
    out.append("")
    out.append("const ServiceModel& %s() {" % function)
    out.append("  static const ServiceModel model(ServiceModel::Tables{")
    out.append("      %s, %s, kOperations, kShapes, kMembers, kCheckOrder,"
               % (cpp_string(service), cpp_string(java_package)))
    out.append("      kEnumValues, kPatterns});")
    out.append("  return model;")
    out.append("}")
    out.append("")
    out.append("}  // namespace sluice::model")
    out.append("// clang-format on")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--out-dir", default=os.path.join(root, "server", "model"))
    args = parser.parse_args()
    for service, version, filename, function, java_package in SERVICES:
        text = generate(service, version, function, java_package)
        with open(os.path.join(args.out_dir, filename), "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
