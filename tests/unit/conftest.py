"""Unit tests do no network or process I/O: sockets and subprocesses fail loudly here.

Files are allowed only under pytest's ``tmp_path``; anything needing a server, a
child process or a real transfer belongs in ``tests/functional`` or
``tests/integration``.
"""

import socket
import subprocess

import pytest


def _refuse(*args, **kwargs):
    raise AssertionError('unit tests must not open sockets or start processes')


@pytest.fixture(autouse=True)
def _no_network_or_processes(monkeypatch):
    monkeypatch.setattr(socket.socket, 'connect', _refuse)
    monkeypatch.setattr(socket.socket, 'connect_ex', _refuse)
    monkeypatch.setattr(socket.socket, 'bind', _refuse)
    monkeypatch.setattr(socket, 'create_connection', _refuse)
    monkeypatch.setattr(subprocess.Popen, '__init__', _refuse)
