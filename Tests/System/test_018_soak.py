"""Scenario 18: a short soak (soak.py; the 10,000-rotation run is on demand). Fast rotation and
token cycles through test hooks, random emulator faults, the token socket in use: the daemon
never exits, RSS and descriptors stay flat over the second half, nothing asks for a new boarding
file, and the stored credentials get a token afterwards."""

import soak


def test_short_soak(spawn_emulator, hubagent_test):
    emu = spawn_emulator("--secret-lifetime", "3600", "--token-lifetime", "60")
    agent = hubagent_test(emu)
    result = soak.soak(emu, agent, rotations=100, refreshes=500, max_seconds=90)
    print(soak.summary_table(result))
    assert soak.check(result) == []
    assert result["rotations"] >= 100 and result["tokens"] >= 500, "counts not reached in 90 s: %r" % (
        (result["rotations"], result["tokens"]),)
    assert result["faults"], "no fault was injected"
    assert result["socket"].get(200, 0) > 0, result["socket"]
