#!/usr/bin/env python3
"""Count test cases in meson's JUnit logs and print one line 'N passed, N failed[, N skipped]'.

meson writes one <testsuite> per gtest executable with one <testcase> per gtest case, and one
<testcase> per plain (exitcode) test. Several logs (the plain and the sanitizer build's) are summed
into the one line; failures are named with their log's build dir. A gtest program whose cases all
passed but whose exit status failed it (a leak report or a sanitizer finding at exit, after gtest
wrote its XML) has no failed case in the JUnit log: meson's testlog.json beside it has the verdict,
and such a test counts as one more failed case. Exit status 1 if any case failed or a log is missing."""
import json
import os
import sys
import xml.etree.ElementTree as ET

def verdicts(path):
    """(test name, result) per test in meson's testlog.json (one JSON object a line); none if absent."""
    try:
        with open(path) as f:
            for line in f:
                if line.strip():
                    t = json.loads(line)
                    yield t.get("name", ""), t.get("result", "")
    except OSError:
        return

def main(paths):
    passed = failed = skipped = 0
    failures = []
    for path in paths:
        where = os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(path))))
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as e:
            print(f"junit log unreadable ({e})", file=sys.stderr)
            failed += 1
            failures.append(f"{where}: no test log")
            continue
        failed_in = set()  # JUnit suite names with a failed case (a plain test: <project> + its case name)
        for suite in root.iter("testsuite"):
            for case in suite.iter("testcase"):
                name = f"{where}: {suite.get('name')}::{case.get('classname', '')}.{case.get('name')}"
                if case.find("failure") is not None or case.find("error") is not None:
                    failed += 1
                    failures.append(name)
                    failed_in.add(f"{suite.get('name')}.{case.get('name')}")
                elif case.find("skipped") is not None:
                    skipped += 1
                else:
                    passed += 1
        for test, result in verdicts(os.path.join(os.path.dirname(path), "testlog.json")):
            # gtest suites are named <project>.<test name>.<gtest suite>; plain tests are <project>.<test name>.
            counted = any(t == test or t.startswith(test + ".") for t in (f.split(".", 1)[-1] for f in failed_in))
            if result not in ("OK", "SKIP", "EXPECTEDFAIL") and not counted:
                failed += 1
                failures.append(f"{where}: {test} ({result}: the program's exit status)")
    for f in failures:
        print(f"FAILED: {f}")
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["build/meson-logs/testlog.junit.xml"]))
