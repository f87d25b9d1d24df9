"""Scenario 33: a state file with a second name (a hard link, made by mistake or by someone who
wants a copy that outlives every rotation) is refused at start: exit 78 naming the file, the
problem and the fix, before anything is sent to southgate. Once the extra name is gone, the
daemon starts on the same identity."""

import os

EX_CONFIG = 78


def test_hard_linked_state_file_is_refused(spawn_emulator, hubagent, tmp_path):
    emu = spawn_emulator("--token-lifetime", "3600", "--secret-lifetime", "3600")
    agent_id, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"access token valid until", timeout=20)
    assert agent.stop() == 0

    newest = max((n for n in agent.state_files() if n.startswith("state.")), key=lambda n: int(n.split(".")[1]))
    state = os.path.join(agent.state_dir, newest)
    other = os.path.join(str(tmp_path), "copy-of-the-identity.json")
    os.link(state, other)
    requests = len(emu.requests())

    code, output = agent.run_once(timeout=20)
    assert code == EX_CONFIG, output
    assert "%s: has 2 names (hard links)" % state in output, output
    assert "find / -xdev -samefile %s" % state in output, output
    assert len(emu.requests()) == requests

    os.unlink(other)
    agent.start()
    agent.wait_for(r"access token valid until", timeout=20)
    assert agent.stop() == 0
    with open(os.path.join(agent.state_dir, max((n for n in agent.state_files() if n.startswith("state.")),
                                                key=lambda n: int(n.split(".")[1])))) as f:
        assert agent_id in f.read()
