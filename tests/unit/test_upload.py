"""Unit tests for s3transfer.upload: progress batching, input managers, tasks."""

import io
import mmap
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3transfer.constants import FULL_OBJECT_CHECKSUM_ARGS
from s3transfer.futures import (
    IN_MEMORY_UPLOAD_TAG,
    ExecutorFuture,
    NonThreadedExecutor,
    TransferCoordinator,
    TransferFuture,
    TransferMeta,
)
from s3transfer.upload import (
    AggregatedProgressCallback,
    InterruptReader,
    PutObjectTask,
    UploadFilenameInputManager,
    UploadInputManager,
    UploadNonSeekableInputManager,
    UploadPartTask,
    UploadSeekableInputManager,
    UploadSubmissionTask,
    _apply_full_object_checksum,
    _PartBuffer,
    _PartBufferPool,
    _PartReadPacer,
)
from s3transfer.utils import CallArgs, OSUtils, ReadFileChunk
from tests.helpers import ReadOnlyStream

MB = 1024 * 1024


class Recorder:
    """Records keyword calls, as progress callbacks receive them."""

    def __init__(self):
        self.calls = []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)


class ProgressSubscriber:
    """A duck-typed subscriber collecting on_progress amounts."""

    def __init__(self):
        self.amounts = []

    def on_progress(self, future, bytes_transferred, **kwargs):
        self.amounts.append(bytes_transferred)


class RecordingOSUtils(OSUtils):
    """OSUtils that remembers every ``open``."""

    def __init__(self):
        self.opened = []

    def open(self, filename, mode):
        self.opened.append((filename, mode))
        return super().open(filename, mode)


class RawPipe(io.RawIOBase):
    """A non-seekable raw stream (like a pipe) recording its ``readinto`` sizes."""

    def __init__(self, data):
        self._stream = io.BytesIO(data)
        self.readintos = []

    def readable(self):
        return True

    def readinto(self, buffer):
        self.readintos.append(len(buffer))
        return self._stream.readinto(buffer)


def pipe_of(data):
    """A ``BufferedReader`` over a pipe-like stream: parts are read with readinto.

    Its tiny buffer makes it pass every read straight to the raw stream.
    """
    return io.BufferedReader(RawPipe(data), buffer_size=1)


class FakeLimiter:
    """Records how uploads ask for a bandwidth-limited stream."""

    def __init__(self):
        self.calls = []

    def get_bandwith_limited_stream(self, fileobj, coordinator, enabled=True):
        self.calls.append((fileobj, coordinator, enabled))
        return fileobj


def make_future(fileobj, subscribers=(), size=None, extra_args=None):
    call_args = CallArgs(
        fileobj=fileobj,
        bucket='bucket',
        key='key',
        extra_args={} if extra_args is None else extra_args,
        subscribers=list(subscribers),
    )
    future = TransferFuture(TransferMeta(call_args), TransferCoordinator())
    if size is not None:
        future.meta.provide_transfer_size(size)
    return future


def config(threshold=8 * MB):
    """The only config value input managers read."""
    return SimpleNamespace(multipart_threshold=threshold)


def make_manager(cls, future, osutil=None, limiter=None):
    return cls(osutil or OSUtils(), future._coordinator, limiter)


def send(body):
    """Read a body as botocore does once it transmits it, then close it."""
    body.signal_transferring()
    with body:
        return body.read()


def data_of(size):
    return bytes(i % 251 for i in range(size))


@pytest.fixture
def sample_file(tmp_path):
    path = tmp_path / 'source'
    path.write_bytes(data_of(1000))
    return str(path)


# --- AggregatedProgressCallback ---------------------------------------------------


def test_aggregated_progress_spec_example():
    recorder = Recorder()
    aggregated = AggregatedProgressCallback([recorder], threshold=10)
    aggregated(4)
    aggregated(4)
    assert recorder.calls == []
    aggregated(5)
    assert recorder.calls == [{'bytes_transferred': 13}]
    aggregated.flush()
    assert recorder.calls == [{'bytes_transferred': 13}]
    aggregated(3)
    aggregated.flush()
    assert recorder.calls == [{'bytes_transferred': 13}, {'bytes_transferred': 3}]
    aggregated.flush()
    assert len(recorder.calls) == 2


def test_aggregated_progress_calls_every_callback_and_default_threshold():
    first, second = Recorder(), Recorder()
    aggregated = AggregatedProgressCallback([first, second])
    aggregated(256 * 1024 - 1)
    assert first.calls == []
    aggregated(1)
    assert first.calls == second.calls == [{'bytes_transferred': 256 * 1024}]


def test_aggregated_progress_negative_amounts_reduce_and_never_emit():
    recorder = Recorder()
    aggregated = AggregatedProgressCallback([recorder], threshold=10)
    aggregated(6)
    aggregated(-8)
    aggregated.flush()
    assert recorder.calls == []
    aggregated(12)
    assert recorder.calls == [{'bytes_transferred': 10}]


# --- InterruptReader --------------------------------------------------------------


def test_interrupt_reader_delegates_until_the_transfer_fails():
    coordinator = TransferCoordinator()
    raw = io.BytesIO(b'0123456789')
    reader = InterruptReader(raw, coordinator)
    assert reader.read(3) == b'012'
    assert reader.tell() == 3
    reader.seek(-2, 2)
    assert reader.read() == b'89'
    coordinator.set_exception(ValueError('boom'))
    with pytest.raises(ValueError, match='boom'):
        reader.read(1)
    with reader:
        pass
    assert raw.closed


# --- base and filename input manager ----------------------------------------------


def test_base_input_manager_members_are_abstract():
    manager = UploadInputManager(OSUtils(), TransferCoordinator())
    future = make_future('x')
    with pytest.raises(NotImplementedError):
        UploadInputManager.is_compatible('x')
    for call in (
        lambda: manager.stores_body_in_memory('put_object'),
        lambda: manager.provide_transfer_size(future),
        lambda: manager.requires_multipart_upload(future, config()),
        lambda: manager.get_put_object_body(future),
        lambda: next(iter(manager.yield_upload_part_bodies(future, 5))),
    ):
        with pytest.raises(NotImplementedError):
            call()


def test_filename_manager_sizes_and_thresholds(sample_file):
    future = make_future(sample_file)
    manager = make_manager(UploadFilenameInputManager, future)
    assert UploadFilenameInputManager.is_compatible(sample_file)
    assert not UploadFilenameInputManager.is_compatible(io.BytesIO())
    assert not manager.stores_body_in_memory('put_object')
    assert not manager.stores_body_in_memory('upload_part')
    manager.provide_transfer_size(future)
    assert future.meta.size == 1000
    assert manager.requires_multipart_upload(future, config(1000))
    assert not manager.requires_multipart_upload(future, config(1001))


def test_filename_put_body_opens_the_file_only_when_read(sample_file):
    osutil = RecordingOSUtils()
    subscriber = ProgressSubscriber()
    future = make_future(sample_file, [subscriber], size=1000)
    body = make_manager(UploadFilenameInputManager, future, osutil).get_put_object_body(
        future
    )
    assert isinstance(body, ReadFileChunk)
    assert len(body) == 1000
    assert osutil.opened == []
    assert send(body) == data_of(1000)
    assert osutil.opened == [(sample_file, 'rb')]
    assert subscriber.amounts == [1000]


def test_body_reads_before_signal_transferring_report_no_progress(sample_file):
    subscriber = ProgressSubscriber()
    future = make_future(sample_file, [subscriber], size=1000)
    body = make_manager(UploadFilenameInputManager, future).get_put_object_body(future)
    body.read()  # e.g. botocore computing a checksum
    body.seek(0)
    assert subscriber.amounts == []
    assert send(body) == data_of(1000)
    assert subscriber.amounts == [1000]


def test_filename_part_bodies_are_lazy_windows(sample_file):
    osutil = RecordingOSUtils()
    subscriber = ProgressSubscriber()
    future = make_future(sample_file, [subscriber], size=1000)
    manager = make_manager(UploadFilenameInputManager, future, osutil)
    parts = list(manager.yield_upload_part_bodies(future, 300))
    assert [number for number, _ in parts] == [1, 2, 3, 4]
    assert [len(body) for _, body in parts] == [300, 300, 300, 100]
    assert osutil.opened == []
    assert b''.join(send(body) for _, body in parts) == data_of(1000)
    assert subscriber.amounts == [300, 300, 300, 100]
    assert len(osutil.opened) == 4


def test_bodies_are_wrapped_for_bandwidth_limiting_but_start_disabled(sample_file):
    limiter = FakeLimiter()
    future = make_future(sample_file, size=1000)
    manager = make_manager(UploadFilenameInputManager, future, limiter=limiter)
    body = manager.get_put_object_body(future)
    [(wrapped, coordinator, enabled)] = limiter.calls
    assert isinstance(wrapped, InterruptReader)
    assert coordinator is future._coordinator
    assert enabled is False
    assert send(body) == data_of(1000)


def test_no_progress_subscribers_means_no_callbacks(sample_file):
    future = make_future(sample_file, [object()], size=1000)
    manager = make_manager(UploadFilenameInputManager, future)
    assert manager._get_progress_callbacks(future) == []
    assert manager._get_close_callbacks([]) == []


def test_body_read_raises_the_transfer_exception(sample_file):
    future = make_future(sample_file, size=1000)
    body = make_manager(UploadFilenameInputManager, future).get_put_object_body(future)
    future._coordinator.set_exception(RuntimeError('cancelled'))
    with pytest.raises(RuntimeError, match='cancelled'):
        body.read(10)


# --- seekable input manager --------------------------------------------------------


def test_seekable_compatibility_and_memory_use():
    assert UploadSeekableInputManager.is_compatible(io.BytesIO())
    assert not UploadSeekableInputManager.is_compatible(ReadOnlyStream(b''))
    manager = UploadSeekableInputManager(OSUtils(), TransferCoordinator())
    assert not manager.stores_body_in_memory('put_object')
    assert manager.stores_body_in_memory('upload_part')


def test_seekable_size_counts_from_the_current_position():
    fileobj = io.BytesIO(data_of(100))
    fileobj.seek(30)
    future = make_future(fileobj)
    make_manager(UploadSeekableInputManager, future).provide_transfer_size(future)
    assert future.meta.size == 70
    assert fileobj.tell() == 30


def test_seekable_put_body_uploads_from_offset_and_keeps_caller_file_open():
    # Quirk fix: 0.19.3 closed the caller's file object after a PutObject.
    fileobj = io.BytesIO(data_of(100))
    fileobj.seek(30)
    subscriber = ProgressSubscriber()
    future = make_future(fileobj, [subscriber], size=70)
    body = make_manager(UploadSeekableInputManager, future).get_put_object_body(future)
    assert len(body) == 70
    assert send(body) == data_of(100)[30:]
    assert not fileobj.closed
    assert subscriber.amounts == [70]


def test_seekable_parts_are_read_when_yielded_and_keep_caller_file_open():
    fileobj = io.BytesIO(data_of(100))
    fileobj.seek(10)
    future = make_future(fileobj, size=90)
    manager = make_manager(UploadSeekableInputManager, future)
    parts = manager.yield_upload_part_bodies(future, 40)
    number, body = next(parts)
    assert number == 1
    assert fileobj.tell() == 50  # read eagerly, in the submitting thread
    rest = list(parts)
    assert [n for n, _ in rest] == [2, 3]
    assert [len(b) for _, b in rest] == [40, 10]
    assert send(body) + b''.join(send(b) for _, b in rest) == data_of(100)[10:]
    assert not fileobj.closed


def test_seekable_short_read_shifts_parts_but_keeps_the_count():
    class ShortReads(io.BytesIO):
        def read(self, amount=-1):
            return super().read(min(amount, 30))

    future = make_future(ShortReads(data_of(100)), size=100)
    parts = list(
        make_manager(UploadSeekableInputManager, future).yield_upload_part_bodies(
            future, 40
        )
    )
    assert [len(body) for _, body in parts] == [30, 30, 30]


# --- non-seekable input manager ----------------------------------------------------


def test_non_seekable_compatibility_and_memory_use():
    assert UploadNonSeekableInputManager.is_compatible(ReadOnlyStream(b''))
    assert not UploadNonSeekableInputManager.is_compatible(object())
    manager = UploadNonSeekableInputManager(OSUtils(), TransferCoordinator())
    assert manager.stores_body_in_memory('put_object')
    assert manager.stores_body_in_memory('upload_part')
    assert manager._initial_data == b''


def test_non_seekable_size_stays_unknown():
    future = make_future(ReadOnlyStream(b'abc'))
    make_manager(UploadNonSeekableInputManager, future).provide_transfer_size(future)
    assert future.meta.size is None


def test_non_seekable_probe_reads_threshold_once():
    stream = ReadOnlyStream(data_of(100))
    future = make_future(stream)
    manager = make_manager(UploadNonSeekableInputManager, future)
    assert manager.requires_multipart_upload(future, config(60))
    assert stream.reads == [60]
    assert manager._initial_data == data_of(60)


def test_non_seekable_short_first_read_means_single_put():
    stream = ReadOnlyStream(data_of(100), max_read=25)
    subscriber = ProgressSubscriber()
    future = make_future(stream, [subscriber])
    manager = make_manager(UploadNonSeekableInputManager, future)
    assert not manager.requires_multipart_upload(future, config(60))
    body = manager.get_put_object_body(future)
    assert manager._initial_data is None
    assert len(body) == 25 + 25  # buffered 25, then one read() to "EOF"
    assert send(body) == data_of(50)
    assert subscriber.amounts == [50]


def test_non_seekable_known_size_skips_the_probe():
    stream = ReadOnlyStream(data_of(100))
    future = make_future(stream, size=100)
    manager = make_manager(UploadNonSeekableInputManager, future)
    assert manager.requires_multipart_upload(future, config(100))
    assert not manager.requires_multipart_upload(future, config(101))
    assert stream.reads == []


def test_non_seekable_put_body_reads_to_eof():
    stream = ReadOnlyStream(data_of(100))
    future = make_future(stream)
    manager = make_manager(UploadNonSeekableInputManager, future)
    assert not manager.requires_multipart_upload(future, config(200))
    body = manager.get_put_object_body(future)
    assert stream.reads == [200, None]
    assert send(body) == data_of(100)


def test_empty_non_seekable_stream_is_an_empty_put():
    future = make_future(ReadOnlyStream(b''))
    manager = make_manager(UploadNonSeekableInputManager, future)
    assert not manager.requires_multipart_upload(future, config())
    body = manager.get_put_object_body(future)
    assert len(body) == 0
    assert send(body) == b''


def test_non_seekable_parts_consume_buffer_then_stream():
    stream = ReadOnlyStream(data_of(100))
    future = make_future(stream)
    manager = make_manager(UploadNonSeekableInputManager, future)
    assert manager.requires_multipart_upload(future, config(50))
    parts = manager.yield_upload_part_bodies(future, 30)
    first = next(parts)
    assert stream.reads == [50]  # served from the buffer
    second = next(parts)
    assert stream.reads == [50, 10]  # buffer of 20 topped up with one read
    rest = list(parts)
    assert stream.reads == [50, 10, 30, 30, 30]  # the last read hits EOF
    bodies = [first, second, *rest]
    assert [n for n, _ in bodies] == [1, 2, 3, 4]
    assert b''.join(send(b) for _, b in bodies) == data_of(100)


def test_non_seekable_read_without_truncate_keeps_buffer():
    manager = UploadNonSeekableInputManager(OSUtils(), TransferCoordinator())
    manager._initial_data = b'abcdef'
    assert manager._read(ReadOnlyStream(b'xyz'), 4, truncate=False) == b'abcd'
    assert manager._initial_data == b'abcdef'
    assert manager._read(ReadOnlyStream(b'xyz'), 8, truncate=False) == b'abcdefxy'
    assert manager._initial_data == b'abcdef'
    assert manager._read(ReadOnlyStream(b'xyz'), 4) == b'abcd'
    assert manager._initial_data == b'ef'


def test_wrap_data_builds_an_exact_window():
    recorder = Recorder()
    aggregated = AggregatedProgressCallback([recorder])
    manager = UploadNonSeekableInputManager(OSUtils(), TransferCoordinator())
    body = manager._wrap_data(b'hello', [aggregated], [aggregated.flush])
    assert len(body) == 5
    assert send(body) == b'hello'
    assert recorder.calls == [{'bytes_transferred': 5}]


@given(
    size=st.integers(min_value=0, max_value=400),
    threshold=st.integers(min_value=1, max_value=120),
    chunksize=st.integers(min_value=1, max_value=120),
    make_stream=st.sampled_from([ReadOnlyStream, pipe_of]),
)
def test_non_seekable_parts_reassemble_the_stream(
    size, threshold, chunksize, make_stream
):
    data = data_of(size)
    future = make_future(make_stream(data))
    manager = make_manager(UploadNonSeekableInputManager, future)
    if not manager.requires_multipart_upload(future, config(threshold)):
        assert size < threshold
        assert send(manager.get_put_object_body(future)) == data
        return
    parts = [
        send(body) for _, body in manager.yield_upload_part_bodies(future, chunksize)
    ]
    assert b''.join(parts) == data
    assert all(len(part) == chunksize for part in parts[:-1])
    assert 0 < len(parts[-1]) <= chunksize


# --- in-memory part buffers --------------------------------------------------------


def test_part_buffers_of_readinto_sources_are_filled_in_place():
    pipe = pipe_of(data_of(100))
    pool = _PartBufferPool()
    part = pool.read_part(pipe, 40)
    assert isinstance(part._data, mmap.mmap)
    assert pipe.raw.readintos == [40]  # straight into the mapping, no bytes copy
    assert len(part) == 40
    assert part.read() == data_of(40)


def test_part_buffers_of_read_only_sources_keep_the_returned_bytes():
    returned = []

    class Recording(ReadOnlyStream):
        def read(self, amount=None):
            returned.append(super().read(amount))
            return returned[-1]

    part = _PartBufferPool().read_part(Recording(data_of(100)), 40)
    assert part._data is returned[0]


def test_subclasses_overriding_read_are_read_with_read():
    class ReadOnlyRaw(io.RawIOBase):  # readinto() would raise NotImplementedError
        def readable(self):
            return True

        def read(self, amount=-1):
            return b'x' * min(amount, 3)

    part = _PartBufferPool().read_part(ReadOnlyRaw(), 10)
    assert part.read() == b'xxx'


def test_part_buffer_prefix_is_topped_up_with_one_read():
    pipe = pipe_of(b'cdefgh')
    pool = _PartBufferPool()
    assert pool.read_part(pipe, 4, memoryview(b'ab')).read() == b'abcd'
    assert pipe.raw.readintos == [2]
    assert pool.read_part(pipe, 2, b'xyz').read() == b'xyz'  # long enough: no read
    assert pipe.raw.readintos == [2]


def test_mappings_are_recycled_and_unmapped_once_the_pool_closes():
    pool = _PartBufferPool()
    first = pool.read_part(io.BytesIO(data_of(100)), 50)
    mapping = first._data
    first.close()
    first.close()  # idempotent: the mapping is given back once
    assert pool._idle == [mapping]
    second = pool.read_part(io.BytesIO(b'later'), 50)
    assert second._data is mapping
    assert second.read() == b'later'  # never the previous part's stale bytes
    pool.close()
    assert not mapping.closed  # still in use by the second part
    second.close()
    assert mapping.closed
    assert pool._idle == []


def test_empty_reads_make_empty_parts_without_a_mapping():
    pool = _PartBufferPool()
    part = pool.read_part(io.BytesIO(b''), 50)
    assert len(part) == 0
    assert not part
    assert part.read() == b''
    assert len(pool._idle) == 1  # the unused mapping waits for the next part
    assert len(pool.read_part(io.BytesIO(b''), 0)) == 0


def test_a_failing_read_gives_the_mapping_back():
    pool = _PartBufferPool()
    pipe = pipe_of(b'abc')
    pipe.raw.readinto = None  # calling it raises TypeError inside BufferedReader
    with pytest.raises(TypeError):
        pool.read_part(pipe, 10)
    assert len(pool._idle) == 1


@given(
    size=st.integers(min_value=0, max_value=20),
    operations=st.lists(
        st.one_of(
            st.tuples(st.just('read'), st.none() | st.integers(-2, 25)),
            st.tuples(st.just('seek'), st.integers(-5, 30), st.sampled_from([0, 1, 2])),
            st.tuples(st.just('tell')),
        ),
        max_size=12,
    ),
)
def test_part_buffer_behaves_like_bytesio(size, operations):
    data = data_of(size)
    reference = io.BytesIO(data)
    for source in (pipe_of(data), ReadOnlyStream(data)):
        part = _PartBufferPool().read_part(source, 25)
        reference.seek(0)
        for name, *args in operations:
            try:
                expected = getattr(reference, name)(*args)
            except ValueError:
                with pytest.raises(ValueError):
                    getattr(part, name)(*args)
            else:
                assert getattr(part, name)(*args) == expected


def test_closed_part_buffer_refuses_io_like_bytesio():
    part = _PartBufferPool().read_part(io.BytesIO(b'abc'), 3)
    part.close()
    assert part.closed
    for call in (part.read, part.tell, lambda: part.seek(0)):
        with pytest.raises(ValueError, match='closed file'):
            call()
    with pytest.raises(ValueError, match='invalid whence'):
        _PartBuffer(_PartBufferPool(), b'abc').seek(0, 3)


def test_seekable_parts_from_a_file_use_pooled_mappings(tmp_path):
    path = tmp_path / 'source'
    path.write_bytes(data_of(100))
    with open(path, 'rb') as fileobj:
        future = make_future(fileobj, size=100)
        manager = make_manager(UploadSeekableInputManager, future)
        parts = manager.yield_upload_part_bodies(future, 40)
        number, body = next(parts)
        assert isinstance(manager._part_buffers._idle, list)
        assert send(body) == data_of(40)
        assert len(manager._part_buffers._idle) == 1  # sent part's mapping is reused
        rest = [send(b) for _, b in parts]
    assert rest == [data_of(100)[40:80], data_of(100)[80:]]
    assert manager._part_buffers._idle == []  # exhausted: the pool is closed


def test_seekable_trailing_parts_past_the_data_are_empty():
    # A size larger than the data (the object shrank): the count stays, parts are empty.
    future = make_future(io.BytesIO(data_of(50)), size=120)
    manager = make_manager(UploadSeekableInputManager, future)
    parts = list(manager.yield_upload_part_bodies(future, 40))
    assert [len(body) for _, body in parts] == [40, 10, 0]
    assert [send(body) for _, body in parts] == [data_of(40), data_of(50)[40:], b'']


def test_non_seekable_pool_is_closed_when_the_parts_end_early():
    future = make_future(pipe_of(data_of(100)))
    manager = make_manager(UploadNonSeekableInputManager, future)
    parts = manager.yield_upload_part_bodies(future, 30)
    _, body = next(parts)
    send(body)
    assert len(manager._part_buffers._idle) == 1
    parts.close()
    assert manager._part_buffers._idle == []


# --- pacing and release of in-memory parts -----------------------------------------


class ManualFuture:
    """A part future completed by waiting on it, recording the wait."""

    def __init__(self, name, events):
        self._name = name
        self._events = events
        self._done = False

    def done(self):
        return self._done

    def result(self):
        self._events.append(f'wait {self._name}')
        self._done = True


def counting_parts(count, events):
    for number in range(1, count + 1):
        events.append(f'read {number}')
        yield number


def test_pacer_reads_a_part_only_when_fewer_than_the_limit_are_in_flight():
    events = []
    pacer = _PartReadPacer(2)
    for number in pacer.paced(counting_parts(4, events)):
        pacer.track(ManualFuture(number, events))
    assert events == [
        'read 1',
        'read 2',
        'wait 1',
        'read 3',
        'wait 2',
        'read 4',
        'wait 3',  # room for a fifth part is made before learning there is none
    ]


def test_pacer_skips_finished_parts_and_limit_zero_disables_it():
    events = []
    pacer = _PartReadPacer(1)
    for number in pacer.paced(counting_parts(3, events)):
        future = ManualFuture(number, events)
        future._done = number != 2
        pacer.track(future)
    assert events == ['read 1', 'read 2', 'wait 2', 'read 3']
    events = []
    pacer = _PartReadPacer(0)
    for number in pacer.paced(counting_parts(3, events)):
        pacer.track(ManualFuture(number, events))
    assert events == ['read 1', 'read 2', 'read 3']


def test_pacer_ignores_errors_of_the_futures_it_waits_on():
    class FailedFuture(ManualFuture):
        def result(self):
            super().result()
            raise ValueError('recorded on the coordinator')

    events = []
    pacer = _PartReadPacer(1)
    for number in pacer.paced(counting_parts(2, events)):
        pacer.track(FailedFuture(number, events))
    assert events == ['read 1', 'wait 1', 'read 2', 'wait 2']


def part_task(coordinator, body, client=None):
    return UploadPartTask(
        coordinator,
        main_kwargs={
            'client': client or FakeClient(),
            'fileobj': body,
            'bucket': 'b',
            'key': 'k',
            'upload_id': 'id',
            'part_number': 1,
            'extra_args': {},
        },
    )


def pooled_body(pool, data=b'data'):
    part = pool.read_part(io.BytesIO(data), len(data))
    return part, ReadFileChunk(part, len(part), len(part))


def test_skipped_part_task_releases_its_in_memory_part():
    coordinator = TransferCoordinator()
    coordinator.set_exception(ValueError('an earlier part failed'))
    pool = _PartBufferPool()
    part, body = pooled_body(pool)
    client = FakeClient()
    part_task(coordinator, body, client)()
    assert client.calls == []
    assert part.closed
    assert len(pool._idle) == 1


def test_sent_part_task_closes_its_body_once():
    closes = []

    class CountingBody(io.BytesIO):
        def close(self):
            closes.append(True)
            super().close()

    raw = CountingBody(b'data')
    part_task(TransferCoordinator(), ReadFileChunk(raw, 4, 4))()
    assert closes == [True]


class FailingExecutor:
    """Accepts ``accept`` submissions, then raises like a shut-down executor."""

    def __init__(self, accept):
        self._accept = accept
        self.tasks = []

    def submit(self, task, tag=None, block=True):
        if len(self.tasks) == self._accept:
            raise RuntimeError('cannot schedule new futures after shutdown')
        self.tasks.append(task)
        return ExecutorFuture(NonThreadedExecutor().submit(lambda: None))


class ExactChunksize:
    def adjust_chunksize(self, current_chunksize, file_size=None):
        return current_chunksize


def test_a_failed_part_submission_releases_the_part_and_the_pool(monkeypatch):
    monkeypatch.setattr('s3transfer.upload.ChunksizeAdjuster', ExactChunksize)
    source = pipe_of(data_of(100))
    future = make_future(source)
    coordinator = future._coordinator
    manager = make_manager(UploadNonSeekableInputManager, future)
    task = UploadSubmissionTask(coordinator)
    executor = FailingExecutor(accept=1)
    config = SimpleNamespace(multipart_chunksize=40, max_in_memory_upload_chunks=10)
    try:
        task._submit_upload_part_tasks(
            FakeClient(), config, executor, future, manager, create_future=None
        )
    except RuntimeError as error:
        kept = error  # the coordinator keeps the exception, traceback and all
    assert 'after shutdown' in str(kept)
    [submitted] = executor.tasks
    assert source.raw.readintos == [40, 40]  # the second part was read...
    assert manager._part_buffers._idle == []  # ...then unmapped with the closed pool
    mapping = submitted._main_kwargs['fileobj']._fileobj._fileobj._data
    submitted._main_kwargs['fileobj'].close()  # as the submitted task will
    assert mapping.closed


# --- submission task helpers -------------------------------------------------------


def test_extra_arg_lists():
    assert UploadSubmissionTask.PUT_OBJECT_BLOCKLIST == [
        'ChecksumType',
        'MpuObjectSize',
    ]
    assert UploadSubmissionTask.CREATE_MULTIPART_BLOCKLIST == [
        *FULL_OBJECT_CHECKSUM_ARGS,
        'MpuObjectSize',
    ]
    assert UploadSubmissionTask.UPLOAD_PART_ARGS == [
        'ChecksumAlgorithm',
        'SSECustomerKey',
        'SSECustomerAlgorithm',
        'SSECustomerKeyMD5',
        'RequestPayer',
        'ExpectedBucketOwner',
    ]
    assert UploadSubmissionTask.COMPLETE_MULTIPART_ARGS == [
        'SSECustomerKey',
        'SSECustomerAlgorithm',
        'SSECustomerKeyMD5',
        'RequestPayer',
        'ExpectedBucketOwner',
        'ChecksumType',
        'MpuObjectSize',
        *FULL_OBJECT_CHECKSUM_ARGS,
    ]


def make_submission_task():
    return UploadSubmissionTask(transfer_coordinator=TransferCoordinator())


ALL_ARGS = {
    'ACL': 'private',
    'ChecksumAlgorithm': 'SHA256',
    'ChecksumSHA256': 'c2hh',
    'ChecksumType': 'FULL_OBJECT',
    'MpuObjectSize': 10,
    'SSECustomerKey': 'key',
    'RequestPayer': 'requester',
    'Metadata': {'a': 'b'},
}


def test_extra_arg_routing():
    task = make_submission_task()
    assert task._extra_put_object_args(ALL_ARGS) == {
        'ACL': 'private',
        'ChecksumAlgorithm': 'SHA256',
        'ChecksumSHA256': 'c2hh',
        'SSECustomerKey': 'key',
        'RequestPayer': 'requester',
        'Metadata': {'a': 'b'},
    }
    assert task._extra_create_multipart_args(ALL_ARGS) == {
        'ACL': 'private',
        'ChecksumAlgorithm': 'SHA256',
        'ChecksumType': 'FULL_OBJECT',
        'SSECustomerKey': 'key',
        'RequestPayer': 'requester',
        'Metadata': {'a': 'b'},
    }
    assert task._extra_upload_part_args(ALL_ARGS) == {
        'ChecksumAlgorithm': 'SHA256',
        'SSECustomerKey': 'key',
        'RequestPayer': 'requester',
    }
    assert task._extra_complete_multipart_args(ALL_ARGS) == {
        'ChecksumSHA256': 'c2hh',
        'ChecksumType': 'FULL_OBJECT',
        'MpuObjectSize': 10,
        'SSECustomerKey': 'key',
        'RequestPayer': 'requester',
    }


def test_upload_task_tag_follows_the_input_manager():
    task = make_submission_task()
    seekable = UploadSeekableInputManager(OSUtils(), TransferCoordinator())
    filename = UploadFilenameInputManager(OSUtils(), TransferCoordinator())
    assert task._get_upload_task_tag(seekable, 'put_object') is None
    assert task._get_upload_task_tag(seekable, 'upload_part') is IN_MEMORY_UPLOAD_TAG
    assert task._get_upload_task_tag(filename, 'upload_part') is None


@pytest.mark.parametrize(
    'source, expected',
    [
        ('a/path', UploadFilenameInputManager),
        (io.BytesIO(), UploadSeekableInputManager),
        (ReadOnlyStream(b''), UploadNonSeekableInputManager),
    ],
)
def test_input_manager_selection(source, expected):
    task = make_submission_task()
    assert task._get_upload_input_manager_cls(make_future(source)) is expected


def test_unsupported_source_is_a_runtime_error():
    source = object()
    with pytest.raises(RuntimeError) as error:
        make_submission_task()._get_upload_input_manager_cls(make_future(source))
    assert str(error.value) == f'Input {source} of type: {object} is not supported.'


# --- request tasks -----------------------------------------------------------------


class FakeClient:
    """Records S3 calls and answers with canned responses."""

    def __init__(self, part_response=None):
        self.calls = []
        self.bodies = []
        self._part_response = part_response or {'ETag': '"etag"'}

    def put_object(self, **kwargs):
        self.calls.append(('put_object', kwargs))
        self.bodies.append(kwargs['Body'].read())
        return {}

    def upload_part(self, **kwargs):
        self.calls.append(('upload_part', kwargs))
        self.bodies.append(kwargs['Body'].read())
        return dict(self._part_response)


def make_body(data=b'data'):
    raw = io.BytesIO(data)
    return raw, ReadFileChunk(raw, len(data), len(data))


def test_put_object_task_sends_and_closes_the_body():
    client = FakeClient()
    raw, body = make_body()
    task = PutObjectTask(
        TransferCoordinator(),
        main_kwargs={
            'client': client,
            'fileobj': body,
            'bucket': 'b',
            'key': 'k',
            'extra_args': {'ACL': 'private'},
        },
    )
    assert task() is None
    assert client.calls == [
        ('put_object', {'Bucket': 'b', 'Key': 'k', 'Body': body, 'ACL': 'private'})
    ]
    assert client.bodies == [b'data']
    assert raw.closed


def run_upload_part(client, extra_args):
    raw, body = make_body()
    task = UploadPartTask(
        TransferCoordinator(),
        main_kwargs={
            'client': client,
            'fileobj': body,
            'bucket': 'b',
            'key': 'k',
            'upload_id': 'id',
            'part_number': 3,
            'extra_args': extra_args,
        },
    )
    result = task()
    assert raw.closed
    return result


def test_upload_part_task_returns_the_part_entry():
    client = FakeClient({'ETag': '"e"', 'ChecksumCRC32': 'ignored'})
    assert run_upload_part(client, {'RequestPayer': 'requester'}) == {
        'ETag': '"e"',
        'PartNumber': 3,
    }
    [(name, kwargs)] = client.calls
    assert name == 'upload_part'
    assert kwargs == {
        'Bucket': 'b',
        'Key': 'k',
        'UploadId': 'id',
        'PartNumber': 3,
        'Body': kwargs['Body'],
        'RequestPayer': 'requester',
    }


def test_upload_part_task_copies_the_part_checksum():
    client = FakeClient({'ETag': '"e"', 'ChecksumSHA1': 'c2hhMQ=='})
    assert run_upload_part(client, {'ChecksumAlgorithm': 'sha1'}) == {
        'ETag': '"e"',
        'PartNumber': 3,
        'ChecksumSHA1': 'c2hhMQ==',
    }


def test_upload_part_task_tolerates_a_missing_part_checksum():
    client = FakeClient({'ETag': '"e"'})
    assert run_upload_part(client, {'ChecksumAlgorithm': 'CRC32'}) == {
        'ETag': '"e"',
        'PartNumber': 3,
    }


def test_full_object_checksum_sets_type_and_algorithm_last_one_wins():
    extra_args = {'ChecksumSHA256': 's', 'ChecksumCRC32': 'c', 'MpuObjectSize': 3}
    _apply_full_object_checksum(extra_args)
    assert extra_args == {
        'ChecksumSHA256': 's',
        'ChecksumCRC32': 'c',
        'MpuObjectSize': 3,
        'ChecksumType': 'FULL_OBJECT',
        'ChecksumAlgorithm': 'SHA256',
    }
    plain = {'ChecksumAlgorithm': 'CRC32'}
    _apply_full_object_checksum(plain)
    assert plain == {'ChecksumAlgorithm': 'CRC32'}
