#!/usr/bin/env python3
"""The source style checker, run by the build as a test (curl's checksrc
idea): mechanical rules instead of review comments.

Rules for C files under core/, sdk/, plugins/ and tests/:
  - no tabs, no trailing white space, no CR, at most 120 columns;
  - a file opens with a block comment saying what it holds;
  - a header has an include guard;
  - core/, sdk/ and plugins/ never call sprintf, vsprintf, strcpy, strcat,
    gets or strtok (unbounded or not thread-safe: use snprintf, memcpy with
    a length, strtok_r).
Prints "file:line: rule" per problem and exits 1 when there is any.
"""
import os
import re
import sys

BANNED = re.compile(r"(?<![\w.>])(sprintf|vsprintf|strcpy|strcat|gets|strtok)\s*\(")
GUARD = re.compile(r"^#ifndef\s+(\w+)\s*\n#define\s+\1\b", re.M)


def check(path, text, strict):
    problems = []
    if not text.lstrip().startswith("/*"):
        problems.append((1, "file must open with a block comment"))
    if path.endswith(".h") and not GUARD.search(text):
        problems.append((1, "header needs an include guard"))
    for n, line in enumerate(text.split("\n"), 1):
        if "\t" in line:
            problems.append((n, "tab"))
        if line.rstrip() != line.rstrip("\r") or "\r" in line:
            problems.append((n, "carriage return"))
        elif line != line.rstrip():
            problems.append((n, "trailing white space"))
        if strict and len(line) > 120:
            problems.append((n, "longer than 120 columns"))
        code = line.split("//")[0]
        if strict and BANNED.search(code) and not code.lstrip().startswith(("*", "/*")):
            problems.append((n, "banned function %s" % BANNED.search(code).group(1)))
    return problems


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    bad = 0
    for top in ("core", "sdk", "plugins", "tests"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, f)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
                for n, msg in check(path, text, top != "tests"):
                    print("%s:%d: %s" % (os.path.relpath(path, root), n, msg))
                    bad += 1
    if bad:
        print("checksrc: %d problem(s)" % bad)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
