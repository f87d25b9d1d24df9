#!/usr/bin/env python3
"""Fails when a Swift line under Sources/ or Tests/ is longer than the limit of .swift-format.

swift-format keeps code within the limit but leaves long string literals and comments as they
are; this check covers those (make lint)."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
limit = json.load(open(os.path.join(ROOT, ".swift-format")))["lineLength"]
files = subprocess.run(["git", "-C", ROOT, "ls-files", "--cached", "--others", "--exclude-standard",
                        "Sources", "Tests", "Package.swift"], capture_output=True, text=True, check=True).stdout.split()
long_lines = []
for name in files:
    if not name.endswith(".swift"):
        continue
    with open(os.path.join(ROOT, name), encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if len(line.rstrip("\n")) > limit:
                long_lines.append("%s:%d: %d columns, at most %d" % (name, number, len(line.rstrip("\n")), limit))
print("\n".join(long_lines) or "line length: every Swift line is within %d columns" % limit)
sys.exit(1 if long_lines else 0)
