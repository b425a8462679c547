#!/usr/bin/env python3
"""Prints each failed test of one or more TRX files with the first lines of its message and stack trace.

Usage: scripts/trx-failures.py RESULTS.trx [MORE.trx ...]
test.sh prints this just before its summary line, so that a run whose log is seen only from its end still names
what failed and why. Prints nothing when no test failed."""
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"
MESSAGE_LINES = 12
STACK_LINES = 6


def first_lines(text, count):
    lines = [line.rstrip() for line in (text or "").strip().splitlines()]
    shown = lines[:count]
    if len(lines) > count:
        shown.append(f"... ({len(lines) - count} more lines)")
    return shown


def main(files):
    if not files:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    failures = []
    for f in files:
        for r in ET.parse(f).getroot().iter(NS + "UnitTestResult"):
            if r.get("outcome") != "Failed":
                continue
            info = r.find(f".//{NS}ErrorInfo")
            message = info.findtext(NS + "Message") if info is not None else ""
            stack = info.findtext(NS + "StackTrace") if info is not None else ""
            failures.append((r.get("testName"), r.get("duration"), message, stack))
    if not failures:
        return 0
    print(f"test.sh: {len(failures)} failed test(s):")
    for name, duration, message, stack in failures:
        print(f"FAILED {re.sub(r'^ConsentHub[.]Tests[.]', '', name)} ({duration})")
        for line in first_lines(message, MESSAGE_LINES):
            print(f"    {line}")
        for line in first_lines(stack, STACK_LINES):
            print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
