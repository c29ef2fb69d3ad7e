"""Writes the copy of docs/openapi.json that the client generators read.

docs/openapi.json stays exactly what the server serves; the generators get a copy with two
rewrites that scripts/generate-clients asks for:

1. Optional properties may be null (both clients). The server writes most optional fields
   that have no value as `null` (`"next_after": null` on a last page, a Paper bot's
   `"exchange_key_id": null`), where the document says only that they may be absent:
   poem-openapi serializes `Option::None` as `null` unless a field is marked
   `skip_serializing_if_is_none`. A client that trusts the document breaks on them
   (openapi-python-client's `UUID(None)` raises; TypeScript would type them `string`,
   never `null`). So every property that is not required and has a `type` gets
   `"nullable": true`: what the server actually does. Once the server omits absent
   fields (or declares them nullable) this rewrite changes nothing and can go.

2. `--flatten-described-refs` (Python). The document gives a property that refers to
   another schema its own description the way OpenAPI 3.0 allows (a `$ref` may have no
   siblings), by wrapping the reference:

       "exchange": {"description": "The venue.",
                    "allOf": [{"$ref": "#/components/schemas/Exchange"}, {"description": "The venue."}]}

   openapi-python-client 0.29 takes `allOf` only of objects: where the referenced schema
   is an enum (Exchange, RoleName, PaidPlan…) it fails with "Cannot take allOf a
   non-object" and drops the schema and every operation that uses it (POST /api/v1/bots
   among them). This replaces each such wrapper, an `allOf` of exactly one `$ref` plus
   annotations, by the bare `$ref` (the referenced schema's own description then
   documents the field; a nullable one by a `oneOf` of that `$ref` alone, nullable), and
   fails on any other `allOf`, so that a new construct is
   looked at rather than silently rewritten.

3. `--drop-streams` (Python). openapi-python-client has no streaming response: it would
   read a `text/event-stream` answer to its end, which never comes (and it warns, which
   fails the generation). The operations whose success is such a stream
   (`stream_events`) are left out; their schemas stay, and the hand-written
   `clients/python/events.py` (copied into the package) reads the stream with httpx.

Usage: prepare_openapi.py IN OUT [--flatten-described-refs] [--drop-streams]
"""

import json
import sys

ANNOTATIONS = {"description", "title", "nullable", "default", "example"}


def nullable_optional(document):
    for schema in document.get("components", {}).get("schemas", {}).values():
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            if name not in required and "type" in prop:
                prop["nullable"] = True


def flatten_described_refs(node, path="#"):
    if isinstance(node, list):
        return [flatten_described_refs(v, f"{path}/{i}") for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    if "allOf" in node:
        members = node["allOf"]
        refs = [m for m in members if "$ref" in m]
        others = [m for m in members if "$ref" not in m]
        if (
            len(refs) == 1
            and set(refs[0]) == {"$ref"}
            and all(set(m) <= ANNOTATIONS for m in others)
            and set(node) - {"allOf"} <= ANNOTATIONS
        ):
            if node.get("nullable") or any(m.get("nullable") for m in others):
                # A nullable reference: a union of the one schema and null.
                return {"oneOf": [{"$ref": refs[0]["$ref"]}], "nullable": True}
            return {"$ref": refs[0]["$ref"]}
        sys.exit(f"prepare_openapi.py: {path}: an allOf other than a described $ref; see {__file__}")
    return {k: flatten_described_refs(v, f"{path}/{k}") for k, v in node.items()}


def drop_streams(document):
    for item in document.get("paths", {}).values():
        for method in [m for m, op in item.items() if isinstance(op, dict)]:
            success = item[method].get("responses", {}).get("200", {})
            if set(success.get("content", {})) == {"text/event-stream"}:
                del item[method]


def main():
    args = sys.argv[1:]
    flatten = "--flatten-described-refs" in args
    streams = "--drop-streams" in args
    paths = [a for a in args if not a.startswith("--")]
    if len(paths) != 2 or len(args) != len(paths) + flatten + streams:
        sys.exit(__doc__.rsplit("\n\n", 1)[-1].strip())
    src, dst = paths
    with open(src, encoding="utf-8") as f:
        document = json.load(f)
    nullable_optional(document)
    if flatten:
        document = flatten_described_refs(document)
    if streams:
        drop_streams(document)
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=2, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
