"""Reads what `volley run --out junit=FILE` and `--out csv=FILE` wrote, for tests/out_files.rs.

    check.py junit SCHEMA.xsd FILE.xml   -> JSON: schema errors, suites, cases, failures
    check.py csv FILE.csv[.gz]           -> JSON: header, rows, per-metric counts and sums

xmlschema validates against the schema; junitparser reads the file as a CI consumer does.
"""

import csv
import gzip
import json
import sys


def junit(schema_path, path):
    import junitparser
    import xmlschema

    schema = xmlschema.XMLSchema(schema_path)
    errors = [str(e.reason) for e in schema.iter_errors(path)]
    xml = junitparser.JUnitXml.fromfile(path)
    suites = {}
    failures = 0
    for suite in xml:
        cases = []
        for case in suite:
            fails = [r for r in case.result if isinstance(r, junitparser.Failure)]
            failures += 1 if fails else 0
            cases.append(
                {
                    "name": case.name,
                    "classname": case.classname,
                    "message": fails[0].message if fails else None,
                    "type": fails[0].type if fails else None,
                    "text": fails[0].text if fails else None,
                }
            )
        suites[suite.name] = {
            "tests": suite.tests,
            "failures": suite.failures,
            "errors": suite.errors,
            "properties": {p.name: p.value for p in suite.properties()},
            "cases": cases,
        }
    return {"schema_errors": errors, "suites": suites, "failures": failures}


def table(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    metrics = {}
    for r in body:
        m = metrics.setdefault(r[0], {"rows": 0, "sum": 0.0, "ones": 0, "zeros": 0})
        v = float(r[2])
        m["rows"] += 1
        m["sum"] += v
        m["ones"] += 1 if v == 1.0 else 0
        m["zeros"] += 1 if v == 0.0 else 0
    widths = sorted({len(r) for r in body})
    first = {}
    for r in body:
        row = dict(zip(header, r))
        first.setdefault(r[0], row)
        first.setdefault("|".join([r[0], row["group"], row["status"], row["check"]]), row)
    return {"header": header, "rows": len(body), "widths": widths, "metrics": metrics, "first": first}


if __name__ == "__main__":
    if sys.argv[1] == "junit":
        out = junit(sys.argv[2], sys.argv[3])
    else:
        out = table(sys.argv[2])
    print(json.dumps(out))
