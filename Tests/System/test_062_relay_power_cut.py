"""Scenario 62: power-cut simulation. With the daemon killed, bytes of the segments are flipped
and the last segment is truncated at random offsets: recovery keeps every frame before the first
damaged one of its segment, never uploads a value other than the one sent, and counts the
records it cuts from older segments in dropped.corrupt. The journal directory copied at random
instants while values flow starts a second daemon (its own emulator) that uploads the run of
sequence numbers after the copied cursor, covering every value acknowledged before the copy.
The long version: `make relay-power-cut`."""

import os

import pytest

import relay_campaigns as rc

CONF = rc.RELAY_CONF + "relay_max_disk = 8MiB\n"   # 2 MiB segments


def test_flipped_bytes_and_truncated_segments(spawn_emulator, hubagent):
    emu = spawn_emulator()
    rig = rc.Rig(emu, hubagent(emu), conf=CONF)
    result = rc.power_cut(rig, 3, log=lambda *_: None)
    print(result)
    assert result["rounds"] == 3 and result["segments"] >= 6
    assert result["problems"] == [], result["problems"]
    assert result["missing"] == result["wrong"] == result["unknown"] == 0


def test_journal_copied_mid_write(spawn_emulator, hubagent):
    emu = spawn_emulator()
    rig = rc.Rig(emu, hubagent(emu))

    def make_second(index):
        second = spawn_emulator(name="second-%d" % index)
        return second, hubagent(second, name="second-%d" % index)
    result = rc.copies(rig, make_second, 3, log=lambda *_: None)
    print(result)
    assert result["copies"] == 3 and result["problems"] == [], result["problems"]


@pytest.mark.xfail(strict=True, reason=(
    "A corrupt frame in the middle of the last segment cuts every intact, acknowledged frame behind it and "
    "counts none of them: Journal.open verifies the last segment and truncates it at the first bad frame, "
    "computing the records lost only for older segments ('a torn last segment loses none that anyone was "
    "promised'), so status shows dropped.corrupt 0 while acknowledged values are gone (docs/relay.md §3: "
    "exact drop counts). Fix: when whole, verified frames follow the bad one, count the cut records as "
    "corrupt (or skip only the bad frame)."))
def test_corrupt_frame_mid_last_segment_is_counted(spawn_emulator, hubagent):
    emu = spawn_emulator()
    rig = rc.Rig(emu, hubagent(emu), conf=CONF)
    rig.start()
    emu.fault(path="/exchange$", kind="status", status=503, always=True)
    ledger = rc.Ledger()
    producer = rc.Producers(ledger, rig.runtime_dir, size=100)
    for _ in range(20):
        assert rc.post_once(producer, 0, ledger) == 202
    rig.kill()
    names = rc.segments_of(rig.relay_dir)
    frames = rc.frames_of(os.path.join(rig.relay_dir, names[-1]))
    assert len(frames) == 20
    start, end, _, _ = frames[5]
    with open(os.path.join(rig.relay_dir, names[-1]), "r+b") as f:
        f.seek((start + end) // 2)
        byte = f.read(1)[0]
        f.seek((start + end) // 2)
        f.write(bytes([byte ^ 0x40]))
    emu.admin("DELETE", "/_admin/faults")
    rig.start()
    status = rig.wait_drained(timeout=60)
    stored = rig.stored()
    keys = [k for first, last, ks, _ in ledger.requests for k in ks]
    assert all(k in stored for k in keys[:500]), "frames before the damaged one are uploaded"
    assert all(stored[k][0] == ledger.sent[k] for k in stored)
    behind = keys[600:]
    uploaded = sum(1 for k in behind if k in stored)
    assert uploaded + status["dropped"].get("corrupt", 0) >= len(behind), (uploaded, status["dropped"])
