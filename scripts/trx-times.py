#!/usr/bin/env python3
"""Prints where a test run's time went, from one or more TRX files (dotnet test --logger trx).

Usage: scripts/trx-times.py RESULTS.trx [MORE.trx ...] [--top N]
Prints the total test-seconds, the slowest N tests and the N classes with the most test-seconds.
Durations are as measured under the run's own contention (parallel tests share the cores)."""
import collections
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"


def seconds(duration):
    h, m, s = duration.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def main(argv):
    top = 15
    files = []
    args = iter(argv)
    for a in args:
        if a == "--top":
            top = int(next(args))
        else:
            files.append(a)
    if not files:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    tests = []
    for f in files:
        for r in ET.parse(f).getroot().iter(NS + "UnitTestResult"):
            d = r.get("duration")
            if d is None:
                continue
            tests.append((seconds(d), r.get("testName"), r.get("outcome")))
    total = sum(t[0] for t in tests)
    print(f"{len(tests)} tests, total test-seconds {total:.0f}")
    print(f"\nslowest {top} tests (seconds):")
    for s, name, outcome in sorted(tests, reverse=True)[:top]:
        name = re.sub(r"^ConsentHub\.Tests\.", "", name)
        flag = "" if outcome == "Passed" else f"  [{outcome}]"
        print(f"{s:7.1f}  {name}{flag}")
    per_class = collections.Counter()
    count = collections.Counter()
    for s, name, _ in tests:
        method = name.split("(")[0]
        cls = re.sub(r"^ConsentHub\.Tests\.", "", method.rsplit(".", 1)[0])
        per_class[cls] += s
        count[cls] += 1
    print(f"\nclasses with most test-seconds (seconds, tests):")
    for cls, s in per_class.most_common(top):
        print(f"{s:7.1f}  {count[cls]:4d}  {cls}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
