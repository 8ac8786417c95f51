#!/usr/bin/env python3
"""Check live-run JSON reports (`pss-harness run --format json`) from .ci/run.

Every report must have no failed trial, and every not-applicable trial must carry a cause
that docs/cluster.md documents (its `### \`cause\`` headings), so the list of what a
cluster cannot express stays short and justified. Prints the causes per report.
"""
import collections
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def documented_causes():
    text = (ROOT / "docs" / "cluster.md").read_text(encoding="utf-8")
    return set(re.findall(r"^### `([a-z_]+)`", text, flags=re.M))


def check(path, causes):
    report = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    summary = report["summary"]
    problems = []
    if summary.get("failed", 0) != 0:
        problems.append(f"{summary['failed']} trials failed")
    if summary.get("passed", 0) == 0:
        problems.append("no trial passed")
    seen = collections.Counter()
    for trial in report["trials"]:
        if trial["status"] != "not_applicable":
            continue
        seen[trial["why"]] += 1
        if trial["why"] not in causes:
            problems.append(f"undocumented cause {trial['why']!r}: {trial['id']}")
    print(f"{path}: {report.get('target')}")
    print(f"  {summary}")
    for why, n in seen.most_common():
        print(f"  not applicable, {why}: {n}")
    return problems


def main(paths):
    causes = documented_causes()
    if not causes:
        print("docs/cluster.md documents no cause", file=sys.stderr)
        return 1
    problems = [p for path in paths for p in check(path, causes)]
    for p in problems[:20]:
        print(f"FAIL {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
