#!/usr/bin/env python3
"""Sums test cases from meson testlog.json files and prints the closing line.

A TAP test counts each "ok"/"not ok" line. A test program that failed
without reporting a failing case (crash, sanitizer abort, timeout) counts as
one more failure, so nothing breaks silently. Exit status 1 on any failure.
"""
import json
import re
import sys

passed = failed = skipped = 0
todos = []
for path in sys.argv[1:]:
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as e:
        print("count_tests: %s" % e, file=sys.stderr)
        failed += 1
        continue
    for line in lines:
        t = json.loads(line)
        out = t.get("stdout") or ""
        ok = len(re.findall(r"^ok \d+(?! # (?:SKIP|skip))", out, re.M))
        skip = len(re.findall(r"^ok \d+.* # (?:SKIP|skip)", out, re.M))
        # TAP: a failing test marked "# TODO" is a known gap, not a failure;
        # it is reported as such so it stays visible.
        todo = len(re.findall(r"^not ok \d+.*# TODO", out, re.M))
        bad = len(re.findall(r"^not ok \d+", out, re.M)) - todo
        todos.extend(re.findall(r"^not ok \d+ (.*# TODO.*)$", out, re.M))
        result = t.get("result")
        if ok + bad + skip == 0:
            # Not TAP (exitcode protocol): the program is one case.
            if result == "OK":
                ok = 1
            elif result == "SKIP":
                skip = 1
            else:
                bad = 1
        elif result not in ("OK", "SKIP", "EXPECTEDFAIL") and bad == 0:
            bad = 1
        passed += ok
        failed += bad
        skipped += skip
for t in sorted(set(todos)):
    print("known gap (TAP TODO): %s" % t)
line = "%d passed, %d failed" % (passed, failed)
if skipped:
    line += ", %d skipped" % skipped
print(line)
sys.exit(1 if failed else 0)
