"""trigrad check --seconds is a cap (no example starts after it, shrinking and the structural pass
included), and cells it did not reach make the exit status 1 under the ci profile and with
--require-all, the summary saying how many (a CI gate that ran nothing passed)."""

import re

from trigrad.properties.cli import main

from trigrad_cli import TARGETS, trigrad

NEGATED = f"{TARGETS}:NegatedGradients"
# One example of the slow backend: its gradient's sleep, the oracles and drawing, with room for a
# loaded machine. Without the cap the run below took 5.9 s for --seconds 2.
ONE_EXAMPLE = 1.5


def test_seconds_is_a_cap_and_unreached_cells_fail_a_gate(capsys):
    proc = trigrad("check", "--backend", NEGATED, "--seconds", "0.001", "--profile", "ci", "--quiet")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.search(r"\n0 examples, .* (\d+) not reached\n\1 of \d+ cells not reached in --seconds 0.001: "
                     r"the ci profile needs every cell run", proc.stdout), proc.stdout

    argv = ["check", "--backend", NEGATED, "--seconds", "0.001", "--profile", "dev", "--quiet"]
    assert main(argv) == 0  # dev: a timed look at a backend, not a gate
    assert " not reached\n" in capsys.readouterr().out
    assert main(argv + ["--require-all"]) == 1
    out = capsys.readouterr().out
    assert "not reached in --seconds 0.001: --require-all needs every cell run" in out
    assert " n/a " in out  # cells that cannot run say so, and do not count as not reached

    seconds = 2.0
    assert main(["check", "--backend", f"{TARGETS}:SlowWrongAboveOne", "--seconds", str(seconds), "--ops", "all ops",
                 "--properties", "vjp", "--profile", "ci", "--quiet"]) == 1
    out = capsys.readouterr().out
    elapsed = float(re.search(r"profile ci, ([\d.]+) s", out).group(1))
    assert elapsed <= seconds + ONE_EXAMPLE, out
    assert "--- vjp / all ops ---" in out and "autograd wrong" in out  # the failure found is still reported
