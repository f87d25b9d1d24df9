"""Scenario 12: `hubagent validate` tells an operator, per file, what is in it or exactly what
is wrong (file:line:column), without a running daemon."""

import os
import subprocess


def validate(binary, *args):
    result = subprocess.run([binary, "validate"] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    return result.returncode, result.stdout


def test_summaries_and_errors(binary, tmp_path, spawn_emulator):
    emu = spawn_emulator()
    _, boarding = emu.create_agent("RSA_3072")
    import json
    (tmp_path / "boarding.json").write_text(json.dumps(boarding))
    (tmp_path / "datasources.yaml").write_text(
        "dataSources:\n  - name: Boiler\n    dataPoints:\n      - name: T\n        type: DOUBLE\n        unit: \"°C\"\n"
        "      - name: On\n        type: BOOLEAN\n        unit: \"\"\n")
    (tmp_path / "hubagent.conf").write_text("log_level = debug\n")
    code, out = validate(binary, "--config-dir", str(tmp_path))
    assert code == 0, out
    lines = out.splitlines()
    assert len(lines) == 3
    assert "boarding file for %s (RSA_3072)" % boarding["content"]["clientId"] in lines[0]
    assert "1 data sources, 2 data points (BOOLEAN 1, DOUBLE 1)" in lines[1]
    assert "log_level debug" in lines[2]

    (tmp_path / "datasources.yaml").write_text("dataSources:\n  - name: Boiler\n    dataPoints: [a, b]\n")
    code, out = validate(binary, str(tmp_path / "datasources.yaml"))
    assert code == 1
    assert out.startswith(str(tmp_path / "datasources.yaml") + ":3:17: "), out

    code, out = validate(binary, str(tmp_path / "missing.json"))
    assert code == 1 and "no such file" in out
