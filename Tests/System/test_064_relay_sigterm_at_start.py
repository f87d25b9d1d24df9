"""Scenario 64: SIGTERM at random instants just after the relay is ready, while the daemon's own
start-up requests (access token, data source configuration) may still be answered: the daemon
exits 0 every time, however the answers and the stop interleave. (A stop used to finish twice when
an answer came after it: with the relay on, the second finish left a dispatch group twice and
trapped, SIGILL, in about 1 of 10 such stops.)"""

import random
import time

import relay_campaigns as rc


def test_sigterm_just_after_start_exits_zero(spawn_emulator, hubagent):
    emu = spawn_emulator()
    rig = rc.Rig(emu, hubagent(emu))
    rng = random.Random()
    codes = []
    for _ in range(60):
        rig.start()
        time.sleep(rng.uniform(0, 0.05))
        codes.append(rig.agent.stop())
        if codes[-1] != 0:
            break
    assert codes == [0] * len(codes), codes
