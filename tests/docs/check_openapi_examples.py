"""Checks every example in an OpenAPI 3.1 document against the schema it illustrates.

openapi-spec-validator checks the document's shape but not its examples, and the examples are what
readers copy. Runs in the docs venv (jsonschema and referencing come with the validator).
Usage: check_openapi_examples.py SPEC; exit 1 if any example breaks its schema, or none was found.
"""

import sys

import jsonschema
import referencing
import yaml
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:ringtrace:openapi"


def main(path: str) -> int:
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    registry = referencing.Registry().with_resource(SPEC_URI, DRAFT202012.create_resource(doc))

    def resolve_pointer(root, ref):
        node = root
        for token in ref[2:].split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        return node

    def follow(node):
        while isinstance(node, dict) and "$ref" in node:
            node = resolve_pointer(doc, node["$ref"])
        return node

    failures = []
    checked = 0
    seen = set()  # a shared component response is checked once, where it is first used

    def check_content(content, where):
        nonlocal checked
        if content is None or id(content) in seen:
            return
        seen.add(id(content))
        for media_type, media in content.items():
            schema = media.get("schema")
            if schema is None:
                continue
            if "$ref" in schema:
                schema = {"$ref": SPEC_URI + schema["$ref"]}
            validator = jsonschema.Draft202012Validator(schema, registry=registry)
            samples = []
            if "example" in media:
                samples.append(("example", media["example"]))
            for name, example in (media.get("examples") or {}).items():
                samples.append((name, follow(example).get("value")))
            for name, value in samples:
                checked += 1
                for error in validator.iter_errors(value):
                    failures.append(f"{where} {media_type} example '{name}': {error.message}")

    for path_name, item in (doc.get("paths") or {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            where = f"{method.upper()} {path_name}"
            if "requestBody" in operation:
                check_content(follow(operation["requestBody"]).get("content"), where + " request")
            for code, response in operation["responses"].items():
                check_content(follow(response).get("content"), f"{where} {code}")
    for name, response in ((doc.get("components") or {}).get("responses") or {}).items():
        check_content(response.get("content"), f"components.responses.{name}")

    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"{path}: {checked} examples checked, {len(failures)} broken")
    if checked == 0:
        # The document has examples; finding none means this walk no longer reaches them.
        print(f"{path}: no example found to check", file=sys.stderr)
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: check_openapi_examples.py SPEC", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
