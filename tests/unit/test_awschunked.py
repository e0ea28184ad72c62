"""The fast aws-chunked encoder sends exactly what botocore's would."""

import io

import pytest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum
from hypothesis import given, settings
from hypothesis import strategies as st

from s3transfer import _awschunked, fastpaths
from s3transfer._awschunked import use_offset_reads
from s3transfer.utils import ReadFileChunk, signal_transferring
from tests.helpers import rename_private_attribute


class _Request:
    def __init__(self, body):
        self.body = body


def encode(cls, data, read_sizes, chunk_size):
    body = cls(io.BytesIO(data), checksum_cls=Crc32Checksum, chunk_size=chunk_size)
    pieces = [body.read(size) for size in read_sizes]
    body.seek(0)
    pieces.append(body.read(5))
    pieces.append(body.read())
    return pieces


@settings(max_examples=200, deadline=None)
@given(
    data=st.binary(max_size=5000),
    read_sizes=st.lists(
        st.one_of(st.none(), st.integers(min_value=-2, max_value=3000)), max_size=30
    ),
    chunk_size=st.integers(min_value=1, max_value=2048),
)
def test_fast_encoder_matches_botocore_byte_for_byte(data, read_sizes, chunk_size):
    fast = encode(_awschunked._OffsetAwsChunkedWrapper, data, read_sizes, chunk_size)
    slow = encode(AwsChunkedWrapper, data, read_sizes, chunk_size)
    assert fast == slow


def test_fast_encoder_matches_for_socket_sized_reads_of_megabytes():
    data = bytes(range(256)) * (3 * 4096 + 17)  # ~3 MiB
    sizes = [16384] * 300
    fast = encode(_awschunked._OffsetAwsChunkedWrapper, data, sizes, 1024 * 1024)
    slow = encode(AwsChunkedWrapper, data, sizes, 1024 * 1024)
    assert fast == slow


def _wrapped_upload_body(data=b'abc'):
    chunk = ReadFileChunk(
        io.BytesIO(data), len(data), len(data), enable_callbacks=False
    )
    return AwsChunkedWrapper(chunk, checksum_cls=Crc32Checksum)


@pytest.fixture(autouse=True)
def fresh_self_check(fast_paths_on):
    """Every test sees the self-check run anew, and leaves no verdict behind."""
    _awschunked.OFFSET_READS.reset()
    yield
    _awschunked.OFFSET_READS.reset()


def test_our_upload_bodies_get_the_fast_encoder():
    wrapper = _wrapped_upload_body()
    use_offset_reads(_Request(wrapper), 'UploadPart')
    assert type(wrapper) is _awschunked._OffsetAwsChunkedWrapper
    assert wrapper.read().startswith(b'3\r\nabc\r\n')


def test_signal_transferring_no_longer_changes_the_body_class():
    wrapper = _wrapped_upload_body()
    signal_transferring(_Request(wrapper), 'UploadPart')
    assert type(wrapper) is AwsChunkedWrapper


def test_foreign_bodies_and_other_operations_are_left_alone():
    foreign = AwsChunkedWrapper(io.BytesIO(b'abc'), checksum_cls=Crc32Checksum)
    use_offset_reads(_Request(foreign), 'PutObject')
    assert type(foreign) is AwsChunkedWrapper
    ours = _wrapped_upload_body()
    use_offset_reads(_Request(ours), 'GetObject')
    assert type(ours) is AwsChunkedWrapper


def test_subclasses_of_botocores_encoder_are_left_alone():
    class Custom(AwsChunkedWrapper):
        pass

    body = Custom(ReadFileChunk(io.BytesIO(b'a'), 1, 1), checksum_cls=Crc32Checksum)
    use_offset_reads(_Request(body), 'UploadPart')
    assert type(body) is Custom


def test_the_environment_variable_switches_it_off(monkeypatch):
    monkeypatch.setenv(fastpaths.ENV_VAR, '1')
    body = _wrapped_upload_body()
    use_offset_reads(_Request(body), 'UploadPart')
    assert type(body) is AwsChunkedWrapper


def test_nothing_is_switched_when_the_self_check_fails(monkeypatch):
    monkeypatch.setattr(_awschunked.OFFSET_READS, '_check', lambda: False)
    body = _wrapped_upload_body()
    use_offset_reads(_Request(body), 'UploadPart')
    assert type(body) is AwsChunkedWrapper


def test_self_check_passes_on_this_botocore():
    assert _awschunked._encodes_like_botocore() is True
    assert _awschunked.OFFSET_READS.passed() is True


@pytest.mark.parametrize('private', ['_make_chunk', '_remaining', '_complete'])
def test_a_botocore_that_renamed_a_private_attribute_gets_no_fast_path(
    monkeypatch, private
):
    rename_private_attribute(monkeypatch, AwsChunkedWrapper, private)
    data = bytes(range(256)) * 40
    body = _wrapped_upload_body(data)
    use_offset_reads(_Request(body), 'UploadPart')
    assert type(body) is AwsChunkedWrapper  # stepped aside, no error
    reference = AwsChunkedWrapper(io.BytesIO(data), checksum_cls=Crc32Checksum)
    assert body.read() == reference.read()  # botocore's own encoder still works
    assert _awschunked.OFFSET_READS.passed() is False


@pytest.mark.parametrize('broken', ['_make_chunk', 'read'])
def test_self_check_fails_if_the_encoders_diverge(monkeypatch, broken):
    if broken == 'read':
        monkeypatch.setattr(
            _awschunked._OffsetAwsChunkedWrapper, 'read', lambda self, size=None: b'x'
        )
    else:
        monkeypatch.setattr(
            AwsChunkedWrapper,
            '_make_chunk',
            lambda self: (_ for _ in ()).throw(AttributeError('gone')),
        )
    assert _awschunked._encodes_like_botocore() is False
