"""Scenario 7: bad input at start. Each case ends with one clear line naming the file and the
fix, exit status 78 (EX_CONFIG, no restart loop under systemd), and nothing written."""

import json
import os

import pytest

EX_CONFIG = 78


def boarding_cases(boarding):
    content = boarding["content"]
    wrong_profile = json.loads(json.dumps(boarding))
    wrong_profile["content"]["clientCredentialProfile"] = ["NATIVE_CA_CERTIFIED_X509"]
    missing_iat = json.loads(json.dumps(boarding))
    del missing_iat["content"]["iat"]
    plain_http = json.loads(json.dumps(boarding))
    plain_http["content"]["baseUrl"] = content["baseUrl"].replace("https://", "http://")
    text = json.dumps(boarding, indent=2)
    return {
        "malformed": ("{\n  \"content\": {\n    \"baseUrl\": nope\n", r"boarding\.json:3:16: unexpected 'nope'; a string needs double quotes"),
        "truncated": (text[: len(text) // 2], r"boarding\.json:\d+:\d+: .*(end of file|unterminated)"),
        "empty": ("", r"boarding\.json: the file is empty"),
        "wrong-profile": (json.dumps(wrong_profile), r"unknown credential profile \"NATIVE_CA_CERTIFIED_X509\""),
        "missing-iat": (json.dumps(missing_iat), r"boarding\.json: missing field content\.iat"),
        "plain-http": (json.dumps(plain_http), r"is not an https:// URL"),
    }


@pytest.mark.parametrize("case", ["malformed", "truncated", "empty", "wrong-profile", "missing-iat", "plain-http"])
def test_broken_boarding_file(spawn_emulator, hubagent, case):
    emu = spawn_emulator()
    _, boarding = emu.create_agent("SHARED_SECRET")
    text, message = boarding_cases(boarding)[case]
    agent = hubagent(emu)
    with open(os.path.join(agent.config_dir, "boarding.json"), "w") as f:
        f.write(text)
    code, output = agent.run_once()
    assert code == EX_CONFIG, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    import re
    assert re.search(message, errors[0]), errors[0]
    assert agent.config_dir in errors[0]
    assert agent.state_files() == []
    assert emu.requests() == []


def test_expired_boarding_file(spawn_emulator, hubagent):
    emu = spawn_emulator()
    _, boarding = emu.create_agent("SHARED_SECRET", iat_lifetime=-60)
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    code, output = agent.run_once()
    assert code == EX_CONFIG, output
    assert "expired" in output and "download a new boarding file" in output
    assert agent.state_files() == []
    assert emu.requests() == []


def test_unreadable_boarding_file(spawn_emulator, hubagent, tmp_path):
    emu = spawn_emulator()
    agent = hubagent(emu)
    os.mkdir(os.path.join(agent.config_dir, "boarding.json"))  # a directory: unreadable as a file, even for root
    code, output = agent.run_once()
    assert code == EX_CONFIG, output
    assert "boarding.json: is a directory, not a regular file; replace it with a regular file" in output


def test_bad_settings_file(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent = hubagent(emu)
    with open(os.path.join(agent.config_dir, "hubagent.conf"), "w") as f:
        f.write("# settings\nrotation_fraction = 0.5\nrotate_every = 3d\n")
    code, output = agent.run_once()
    assert code == EX_CONFIG, output
    assert "hubagent.conf:3: unknown setting \"rotate_every\"" in output


def test_state_file_readable_by_others(spawn_emulator, hubagent):
    emu = spawn_emulator()
    _, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"access token valid until", timeout=15)
    assert agent.stop() == 0
    name = [n for n in agent.state_files() if n.startswith("state.")][-1]
    path = os.path.join(agent.state_dir, name)
    os.chmod(path, 0o644)
    before = agent.state_files()
    requests = len(emu.requests())

    code, output = agent.run_once()
    assert code == EX_CONFIG, output
    assert "chmod 600 %s" % path in output
    assert agent.state_files() == before
    assert len(emu.requests()) == requests


def test_state_dir_readable_by_others(spawn_emulator, hubagent):
    emu = spawn_emulator()
    agent = hubagent(emu)
    os.makedirs(agent.state_dir)
    os.chmod(agent.state_dir, 0o755)
    code, output = agent.run_once()
    assert code == EX_CONFIG, output
    assert "chmod 700 %s" % agent.state_dir in output
