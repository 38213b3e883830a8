#!/usr/bin/env python3
"""Turn the suite's results.xml into a Markdown compatibility table on stdout.

    python report.py [results.xml]

Each row is one operation (the first line of the test's docstring, stored by conftest.py as a
JUnit property), with: works / not yet (issue N) / fails / error.
"""

import re
import sys
import xml.etree.ElementTree as ET


def outcome(case, props):
    issue = None
    m = re.search(r"issue (\d+)", props.get("waits_on", ""))
    if m:
        issue = m.group(1)
    failure = case.find("failure")
    error = case.find("error")
    skipped = case.find("skipped")
    if failure is not None:
        if "XPASS" in (failure.get("message") or ""):
            return "works (unexpected pass: remove the xfail marker for issue %s)" % issue
        return "fails (issue %s, marked xfail, fails differently?)" % issue if issue else "**fails**"
    if error is not None:
        return "**error** (setup/teardown)"
    if skipped is not None:
        if (skipped.get("type") or "").endswith("xfail"):
            return "not yet (issue %s)" % issue if issue else "not yet"
        return "skipped"
    return "works"


BEGIN, END = "<!-- sdk-compat:begin -->", "<!-- sdk-compat:end -->"


def write_readme(readme, table):
    """Replaces the generated section of README.md with `table`."""
    text = open(readme).read()
    if BEGIN not in text or END not in text:
        raise SystemExit("%s has no %s/%s markers" % (readme, BEGIN, END))
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    open(readme, "w").write(head + BEGIN + "\n" + table + END + tail)


def main(path, readme=None):
    root = ET.parse(path).getroot()
    rows, counts = [], {}
    for case in root.iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        op = props.get("operation") or case.get("name")
        area = props.get("area") or (case.get("classname") or "").rsplit(".", 1)[-1]
        state = outcome(case, props)
        key = ("unexpected pass" if "unexpected pass" in state else "not yet" if state.startswith("not yet")
               else state.split(" ")[0].strip("*"))
        counts[key] = counts.get(key, 0) + 1
        rows.append((area, op, state, case.get("name")))

    lines = ["| area | operation (through the official Python SDK) | status |", "|---|---|---|"]
    for area, op, state, name in rows:
        lines.append("| %s | %s | %s |" % (area, op.replace("|", "\\|"), state))
    lines.append("")
    lines.append(", ".join("%d %s" % (n, k) for k, n in sorted(counts.items())))
    table = "\n".join(lines) + "\n"
    print("# Python SDK (zohocrmsdk8-0) compatibility\n")
    print(table)
    if readme:
        write_readme(readme, table)
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    readme = None
    if "--readme" in args:
        i = args.index("--readme")
        readme = args[i + 1]
        del args[i:i + 2]
    sys.exit(main(args[0] if args else "results.xml", readme))
