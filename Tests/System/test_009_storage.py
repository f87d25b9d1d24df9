"""Scenario 9: the state directory is 0700 and every file in it 0600; each credential write is
an O_EXCL 0600 create, fsync, rename, fsync of the directory, in that order (checked with
strace when it is installed)."""

import glob
import os
import re
import shutil

import pytest


def test_modes(spawn_emulator, hubagent):
    emu = spawn_emulator()
    _, boarding = emu.create_agent("RSA_3072")
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    agent.start()
    agent.wait_for(r"access token valid until", timeout=20)
    assert agent.stop() == 0
    assert os.stat(agent.state_dir).st_mode & 0o777 == 0o700
    names = agent.state_files()
    assert names and all(re.fullmatch(r"state\.\d+\.json", n) for n in names), names
    for name in names:
        assert os.stat(os.path.join(agent.state_dir, name)).st_mode & 0o777 == 0o600, name


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_durable_write_order(spawn_emulator, hubagent):
    emu = spawn_emulator()
    _, boarding = emu.create_agent("SHARED_SECRET")
    agent = hubagent(emu)
    agent.write_boarding(boarding)
    trace = os.path.join(agent.workdir, "trace")
    # -ff: one file per thread, so no call is split by another thread's (`<unfinished ...>`);
    # a durable write happens on one thread from open to the directory fsync.
    agent.start(prefix=["strace", "-f", "-ff", "-qq", "-o", trace,
                        "-e", "trace=open,openat,write,fsync,fdatasync,rename,renameat,renameat2,close"])
    agent.wait_for(r"access token valid until", timeout=20)
    assert agent.stop() == 0

    checked = 0
    for path in glob.glob(trace + ".*"):
        lines = open(path).read().splitlines()
        renames = [i for i, l in enumerate(lines) if re.search(r'rename(at2?)?\(.*"\.state\.\d+\.json\.tmp\.\d+".*"state\.\d+\.json"', l)]
        for index in renames:
            line = lines[index]
            temp = re.search(r'"(\.state\.\d+\.json\.tmp\.\d+)"', line).group(1)
            dirfd = re.search(r"renameat2?\((\d+),", line).group(1)
            opens = [i for i, l in enumerate(lines[:index]) if '"%s"' % temp in l and "openat(" in l]
            assert opens, "no open of %s" % temp
            open_line = lines[opens[-1]]
            for flag in ("O_WRONLY", "O_CREAT", "O_EXCL", "O_NOFOLLOW", "O_CLOEXEC"):
                assert flag in open_line, open_line
            assert ", 0600)" in open_line, open_line
            fd = re.search(r"= (\d+)$", open_line).group(1)
            between = lines[opens[-1]:index]
            assert any(re.search(r"write\(%s," % fd, l) for l in between), "no write to the temp file"
            assert any(re.search(r"fsync\(%s\) += 0" % fd, l) for l in between), "temp file not fsynced before rename"
            after = lines[index + 1:index + 4]
            assert any(re.search(r"fsync\(%s\) += 0" % dirfd, l) for l in after), "directory not fsynced after rename: %r" % after
            checked += 1
    assert checked >= 2, "expected the pending onboarding and the identity to be written"
