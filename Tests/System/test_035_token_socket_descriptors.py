"""Scenario 35: the token socket's mode and group are never set by path (a symbolic link planted
at that path would redirect a chmod or chown, docs/design.md §8). The mode comes from the umask
of the bind, the group through the runtime directory's descriptor without following a link
(fchownat with AT_SYMLINK_NOFOLLOW), and the socket listens only after both. Traced with strace:
no chmod or chown names the socket's path; the result is mode 0660 and the configured group."""

import glob
import grp
import os
import re
import shutil
import stat

import pytest

CALLS = "chmod,fchmod,fchmodat,chown,fchown,lchown,fchownat,bind,listen,umask"


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_socket_mode_and_group_are_set_without_a_path(spawn_emulator, hubagent):
    group = grp.getgrnam("nogroup") if "nogroup" in {g.gr_name for g in grp.getgrall()} else grp.getgrall()[-1]
    assert group.gr_gid != os.getegid()
    emu = spawn_emulator()
    agent = hubagent(emu)
    with open(os.path.join(agent.config_dir, "hubagent.conf"), "w") as f:
        f.write("token_socket_group = %s\n" % group.gr_name)
    trace = os.path.join(agent.workdir, "trace")
    agent.start(prefix=["strace", "-f", "-ff", "-qq", "-o", trace, "-e", "trace=" + CALLS])
    agent.wait_for(r"serving access tokens to local programs", timeout=20)
    socket_path = os.path.join(agent.runtime_dir, "token.sock")
    info = os.lstat(socket_path)
    assert stat.S_ISSOCK(info.st_mode) and info.st_mode & 0o777 == 0o660 and info.st_gid == group.gr_gid
    assert agent.stop() == 0

    lines = [line for path in glob.glob(trace + ".*") for line in open(path).read().splitlines()]
    by_path = [line for line in lines if re.match(r"(l?chown|chmod)\(", line)
               or re.match(r"f(chown|chmod)at\(AT_FDCWD,", line)]
    assert by_path == [], by_path
    binds = [i for i, line in enumerate(lines) if line.startswith("bind(") and "token.sock" in line]
    assert len(binds) == 1, lines
    chowns = [line for line in lines if re.match(r'fchownat\(\d+, "token\.sock", -1, %d, AT_SYMLINK_NOFOLLOW\) = 0'
                                                  % group.gr_gid, line)]
    assert len(chowns) == 1, lines
    # The umask around the bind gives exactly 0660 (0117 masked), and is put back at once.
    umasks = [line for line in lines if line.startswith("umask(")]
    assert umasks[:1] and umasks[0].startswith("umask(0117)"), umasks
