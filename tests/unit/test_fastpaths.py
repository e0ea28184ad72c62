"""The fast paths' one switch (S3TRANSFER_NO_FAST_PATHS) and their first-use checks.

Each fast path (docs/performance.md) must step aside when switched off, and a change
of botocore's private internals must make it step aside, never fail a transfer.
"""

import copy
import os
import threading

import pytest
from botocore.context import ClientContext, get_context, start_as_current_context
from botocore.useragent import register_feature_id

from s3transfer import fastpaths, tasks
from s3transfer.download import (
    DownloadFilenameOutputManager,
    DownloadNonSeekableOutputManager,
    IOStreamingWriteTask,
    IOWriteTask,
)
from s3transfer.futures import TransferCoordinator
from s3transfer.tasks import Task
from s3transfer.utils import OSUtils
from tests.helpers import WriteOnly
from tests.unit.test_download import RecordingExecutor, future_for


@pytest.fixture
def fast_paths_off(monkeypatch):
    monkeypatch.setenv(fastpaths.ENV_VAR, '1')


@pytest.fixture(autouse=True)
def fresh_context_check(fast_paths_on):
    tasks.CHEAP_CONTEXT_COPY.reset()
    yield
    tasks.CHEAP_CONTEXT_COPY.reset()


@pytest.mark.parametrize(
    ('value', 'enabled'), [(None, True), ('', True), ('0', True), ('1', False)]
)
def test_the_environment_variable_is_the_one_switch(monkeypatch, value, enabled):
    if value is None:
        monkeypatch.delenv(fastpaths.ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(fastpaths.ENV_VAR, value)
    assert fastpaths.enabled() is enabled


def test_a_self_check_runs_once_and_a_raising_check_means_no(monkeypatch):
    calls = []

    def check():
        calls.append(1)
        raise AttributeError('botocore changed')

    guard = fastpaths.SelfCheck('demo', check)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(guard.passed()))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == [False] * 8 and calls == [1]
    guard.reset()
    assert guard.passed() is False and calls == [1, 1]


def test_a_switched_off_self_check_is_not_even_run(monkeypatch, fast_paths_off):
    guard = fastpaths.SelfCheck('demo', lambda: pytest.fail('must not run'))
    assert guard.passed() is False


# --- cheap context copy (tasks.py) ---------------------------------------------


class _ContextTask(Task):
    def _main(self, seen):
        seen.append(get_context())


def _context_seen_by_a_task():
    with start_as_current_context():
        register_feature_id('S3_TRANSFER')
        submitted = get_context()
    seen = []
    _ContextTask(TransferCoordinator(), main_kwargs={'seen': seen})(submitted)
    return submitted, seen[0]


def test_tasks_run_under_the_cheap_context_copy_when_on():
    submitted, current = _context_seen_by_a_task()
    assert type(current) is tasks._CheapCopyContext
    assert current == submitted


def test_tasks_run_under_botocores_own_context_when_off(fast_paths_off):
    submitted, current = _context_seen_by_a_task()
    assert type(current) is ClientContext
    assert current == submitted and current is not submitted


@pytest.mark.parametrize('hook', ['__deepcopy__', '__copy__'])
def test_a_botocore_context_with_its_own_copy_hook_gets_no_fast_path(monkeypatch, hook):
    # Simulates a botocore release that customises how its context is copied.
    def botocores_copy(self, *args):
        clone = object.__new__(type(self))
        clone.__dict__.update({k: copy.copy(v) for k, v in vars(self).items()})
        return clone

    monkeypatch.setattr(ClientContext, hook, botocores_copy, raising=False)
    submitted, current = _context_seen_by_a_task()
    assert type(current) is ClientContext
    assert current.features == submitted.features
    assert tasks.CHEAP_CONTEXT_COPY.passed() is False


def test_a_botocore_context_with_state_outside_its_fields_gets_no_fast_path(
    monkeypatch,
):
    # Simulates a release whose context keeps private state besides its fields.
    original_init = ClientContext.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self._private_cache = {}

    monkeypatch.setattr(ClientContext, '__init__', init)
    _, current = _context_seen_by_a_task()
    assert type(current) is ClientContext
    assert tasks.CHEAP_CONTEXT_COPY.passed() is False


# --- positional writes and batched streaming writes (download.py) ---------------


def test_temp_file_writes_are_queued_io_tasks_when_off(tmp_path, fast_paths_off):
    executor = RecordingExecutor()
    coordinator = TransferCoordinator(transfer_id=1)
    manager = DownloadFilenameOutputManager(OSUtils(), coordinator, executor)
    fileobj = manager.get_fileobj_for_io_writes(future_for(str(tmp_path / 'f')))
    manager.queue_file_io_task(fileobj, b'abc', 0)
    assert [type(task) for task, _ in executor.submitted] == [IOWriteTask]
    assert list(tmp_path.iterdir()) == []  # nothing written yet: the task does it


def test_streaming_writes_released_together_are_one_task_each_when_off(
    fast_paths_off,
):
    executor = RecordingExecutor()
    coordinator = TransferCoordinator(transfer_id=1)
    manager = DownloadNonSeekableOutputManager(OSUtils(), coordinator, executor)
    target = WriteOnly()
    manager.queue_file_io_task(target, b'cd', 2)
    manager.queue_file_io_task(target, b'ab', 0)
    submitted = [task for task, _ in executor.submitted]
    assert [type(task) for task in submitted] == [IOStreamingWriteTask] * 2
    assert [task.queue_slots for task in submitted] == [1, 1]


def test_the_switch_follows_os_environ_changes(monkeypatch):
    monkeypatch.delenv(fastpaths.ENV_VAR, raising=False)
    assert fastpaths.enabled()
    for value, expected in (('1', False), (' 0 ', True), ('yes', False), ('', True)):
        monkeypatch.setenv(fastpaths.ENV_VAR, value)
        assert fastpaths.enabled() is expected
    monkeypatch.delenv(fastpaths.ENV_VAR)
    assert fastpaths.enabled()


def test_the_switch_reads_a_replaced_os_environ(monkeypatch):
    monkeypatch.setattr(os, 'environ', {fastpaths.ENV_VAR: '1'})
    assert not fastpaths.enabled()
