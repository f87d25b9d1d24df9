"""Fixtures: the emulator as a subprocess (HTTPS on port 0, a temporary TLS directory; see
harness.py), and a pool of RSA-3072 keys (generating one takes a noticeable fraction of a
second, so tests share a few)."""

import os
import sys
import threading

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import client as sgclient  # noqa: E402
from harness import Emulator, spawner  # noqa: E402


class KeyPool:
    """RSA-3072 keys made on first use and shared by the whole run."""

    def __init__(self):
        self._keys = []
        self._lock = threading.Lock()

    def __getitem__(self, index):
        with self._lock:
            while len(self._keys) <= index:
                self._keys.append(sgclient.generate_rsa_key(3072))
            return self._keys[index]


@pytest.fixture(scope="session")
def keys():
    return KeyPool()


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    emu = Emulator(tmp_path_factory.mktemp("southgate")).start()
    emu.defaults = emu.admin_json("GET", "/_admin/settings")
    yield emu
    assert emu.stop() == 0, emu.stderr()
    assert "internal error" not in emu.stderr(), emu.stderr()


@pytest.fixture
def emu(emulator):
    """The shared emulator, with faults and settings reset after each test."""
    yield emulator
    emulator.admin_json("DELETE", "/_admin/faults")
    emulator.settings(**emulator.defaults)


@pytest.fixture
def spawn(tmp_path):
    """Start a dedicated emulator: spawn(*extra_args, name=..., **Emulator kwargs).
    Every one still running is stopped at the end and must exit 0."""
    start, stop_all = spawner(tmp_path)
    yield start
    stop_all()
