"""trigrad report --from validates what it reads: a file of the right outer shape but wrong contents,
or one that is not UTF-8, is bad usage (exit status 2, one line naming the file and the first
problem), not a KeyError, TypeError or UnicodeDecodeError traceback."""

import json

from trigrad.properties.cli import main

from trigrad_cli import one_line_usage_error, trigrad


def test_report_names_the_file_and_the_first_problem(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"trigrad": "accuracy"}')
    one_line_usage_error(trigrad("report", "--from", bad, "--html", tmp_path / "r.html"),
                         f"{bad} is not the JSON of trigrad accuracy: runs is missing")
    binary = tmp_path / "binary.json"
    binary.write_bytes(b'{"backend": "\xff"}')
    one_line_usage_error(trigrad("report", "--from", binary, "--html", tmp_path / "r.html"),
                         f"{binary} is not UTF-8 text (byte 0xff at offset 13)")

    check, acc = tmp_path / "check.json", tmp_path / "accuracy.json"
    assert main(["check", "--ops", "sin,exp", "--properties", "value", "--seconds", "0.2", "--profile", "dev", "--quiet",
                 "--json", str(check)]) == 0
    assert main(["accuracy", "--op", "sin", "--points", "8", "--first-order", "--json", str(acc)]) == 0
    assert main(["report", "--from", str(check), str(acc), "--html", str(tmp_path / "r.html")]) == 0
    good_check, good_acc = json.loads(check.read_text()), json.loads(acc.read_text())
    capsys.readouterr()
    summary = ["runs", 0, "profiles", 0, "series", 0, "summary"]
    cases = [  # (document, path to a field, new value or None to delete it, what the message says)
        (good_check, ["cells"], "x", "cells is 'x', expected a list"),
        (good_check, ["cells", 0, "status"], None, "cells[0].status is missing"),
        (good_check, ["cells", 1, "report"], {"formula": "x"}, "cells[1].report.inputs is missing"),
        (good_check, ["properties", 0], 3, "properties[0] is 3, expected a string"),
        (good_acc, ["runs", 0, "profiles"], None, "runs[0].profiles is missing"),
        (good_acc, ["runs", 0, "profiles", 0, "series", 0, "x"], ["a"], "series[0].x[0] is 'a', expected a number"),
        (good_acc, summary + ["median_ulps"], "1", "summary.median_ulps is '1', expected a number"),
        (good_acc, summary + ["findings"], [{"class": "odd"}], "summary.findings[0].kind is missing"),
    ]
    for doc, where, value, says in cases:
        doc = json.loads(json.dumps(doc))
        *parent, last = where
        holder = doc
        for k in parent:
            holder = holder[k]
        if value is None:
            del holder[last]
        else:
            holder[last] = value
        bad.write_text(json.dumps(doc))
        assert main(["report", "--from", str(check), str(bad), "--html", str(tmp_path / "r.html")]) == 2, says
        err = capsys.readouterr().err
        assert f"{bad} is not the JSON of trigrad" in err and says in err and err.count("\n") == 1, (says, err)
    bad.write_text("[" * 100_000)
    assert main(["report", "--from", str(bad), "--html", str(tmp_path / "r.html")]) == 2
    assert "is not JSON" in capsys.readouterr().err
