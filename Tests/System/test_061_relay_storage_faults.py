"""Scenario 61: storage faults under the journal and its cursor through the test build's hook
(HUBAGENT_TEST_STORAGE_FAULT): an append that meets ENOSPC is answered 507 with Retry-After, a
failed fdatasync 500, a failed cursor write or rename costs nothing but a resend; nothing
acknowledged is lost, the daemon keeps its identity and token.sock, and the next request after
the fault is accepted; a failed open at start and a failed cursor write are tried again. Positions count the daemon's calls on state-directory paths from its
start. The long version, every position singly and in runs: `make relay-storage-faults`."""

import json
import os
import time

import relay_campaigns as rc

# (fault, positions, burst): past the journal's opening, on segment appends, their fdatasync and
# the cursor's temp file and rename.
CASES = [
    ("write:ENOSPC", [1, 4], 1),
    ("write:ENOSPC", [2], 3),
    ("fdatasync:EIO", [1], 1),
    ("open:ENOSPC", [5], 1),
    ("rename:EIO", [1], 1),
]


def rig_for(spawn_emulator, hubagent_test):
    emu = spawn_emulator()
    return rc.Rig(emu, hubagent_test(emu))


def test_faults_at_journal_and_cursor(spawn_emulator, hubagent_test):
    rig = rig_for(spawn_emulator, hubagent_test)
    rows = []
    for fault, positions, burst in CASES:
        rows += rc.storage_campaign(rig, faults=[fault], bursts=[burst], positions=positions, log=lambda *_: None)
    print(rc.storage_table(rows))
    assert len(rows) == sum(len(p) for _, p, _ in CASES), "every position was reached"
    assert all(row["relay"] for row in rows), [(r["spec"], r["paths"]) for r in rows]
    assert [row for row in rows if row["problems"]] == [], rc.storage_table(rows)
    statuses = sum((row["statuses"] for row in rows), __import__("collections").Counter())
    assert statuses[507] >= 1 and statuses[500] >= 1, statuses
    assert any("segment" in p for row in rows for p in row["paths"])
    assert any("cursor" in p for row in rows for p in row["paths"])


def test_relay_recovers_from_a_failed_open_at_start(spawn_emulator, hubagent_test):
    """One failed open while the journal opens at start: the relay opens it again with back-off and
    takes values within seconds (it used to stay off for the daemon's life)."""
    rig = rig_for(spawn_emulator, hubagent_test)
    rig.start()
    assert rig.agent.stop() == 0
    rig.agent.env.update(HUBAGENT_TEST_HOOKS="1", HUBAGENT_TEST_STORAGE_FAULT="open:EMFILE:1")
    mark = rig.agent.start()
    rig.agent.wait_for(r"test hook: injecting EMFILE into open #1 \(.*/relay", timeout=20, since=mark)
    ledger = rc.Ledger()
    producer = rc.Producers(ledger, rig.runtime_dir, size=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and ledger.statuses[202] == 0:
        rc.post_once(producer, 0, ledger)
        time.sleep(0.5)
    assert ledger.statuses[202] >= 1, "no value accepted after the fault: %r" % dict(ledger.statuses)


def test_enospc_at_fdatasync_is_507_with_retry_after(spawn_emulator, hubagent_test):
    """ENOSPC from the group commit's fdatasync (ext4 with delayed allocation reports a full disk
    there) is a full disk like ENOSPC from pwrite: 507 with Retry-After (it used to be a bare 500)."""
    rig = rig_for(spawn_emulator, hubagent_test)
    rig.start()
    assert rig.agent.stop() == 0
    rig.agent.env.update(HUBAGENT_TEST_HOOKS="1", HUBAGENT_TEST_STORAGE_FAULT="fdatasync:ENOSPC:1")
    rig.start()
    lines = "\n".join(json.dumps({"dataPointId": "dp-p0", "value": i, "timestamp": rc.BASE_MS + i}) for i in range(5))
    status, headers, body = rc.data_http(rig.runtime_dir, "POST", "/v1/timeseries", (lines + "\n").encode())
    assert rig.agent.count(r"test hook: injecting ENOSPC into fsync #1 \(.*/relay/segment"), rig.agent.log()
    assert (status, "retry-after" in headers) == (507, True), (status, headers, body)
    assert os.path.isdir(rig.relay_dir)


def test_a_failed_cursor_write_is_tried_again(spawn_emulator, hubagent_test):
    """A cursor write that fails after a 200 is tried again, so the queue drains with no later
    upload (the uploaded records used to stay counted as queued)."""
    rig = rig_for(spawn_emulator, hubagent_test)
    rig.start()
    assert rig.agent.stop() == 0
    rig.agent.env.update(HUBAGENT_TEST_HOOKS="1", HUBAGENT_TEST_STORAGE_FAULT="rename:EIO:1")
    rig.start()
    ledger = rc.Ledger()
    assert rc.post_once(rc.Producers(ledger, rig.runtime_dir, size=10), 0, ledger) == 202
    rig.emu.await_values(rig.agent_id, 10, timeout=20)
    rig.agent.wait_for(r"test hook: injecting EIO into rename #1 \(.*/relay/", timeout=20)
    rig.wait_drained(timeout=8)
