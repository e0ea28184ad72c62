"""sync decisions over two listings, no I/O (the AWS CLI's rules, plus --checksum)."""

from s3transfer.sync import (
    CRC,
    DELETE,
    DOWNLOAD,
    MD5,
    NO_CHECKSUM,
    SEND,
    SKIP,
    ContentReference,
    Decision,
    Entry,
    Rules,
    compare,
    content_reference,
    needs_content_check,
    plan_sync,
    same_reference,
)


def _e(name='a', size=10, mtime=100.0):
    return Entry(name, size, mtime)


def test_new_files_are_sent_and_extra_ones_kept_unless_delete():
    source = [_e('a'), _e('b')]
    destination = [_e('b'), _e('c')]
    assert plan_sync(source, destination, Rules()) == [
        Decision('a', SEND, 'not in the destination'),
        Decision('b', SKIP, 'same size, source not newer'),
    ]
    with_delete = plan_sync(source, destination, Rules(delete=True))
    assert with_delete[-1] == Decision('c', DELETE, 'not in the source')


def test_upload_sends_on_size_or_newer_source():
    assert compare(_e(size=1), _e(size=2), Rules()).action == SEND
    assert compare(_e(mtime=200), _e(mtime=100), Rules()) == Decision(
        'a', SEND, 'source is newer'
    )
    assert compare(_e(mtime=100), _e(mtime=200), Rules()).action == SKIP


def test_size_only_ignores_times():
    rules = Rules(size_only=True)
    assert compare(_e(mtime=999), _e(mtime=1), rules) == Decision(
        'a', SKIP, 'same size'
    )
    assert compare(_e(size=1), _e(size=2), rules).action == SEND


def test_download_sends_when_the_local_file_is_newer_or_exactly_different():
    rules = Rules(direction=DOWNLOAD)
    # source = S3 object, destination = local file
    assert compare(_e(mtime=200), _e(mtime=100), rules).action == SKIP
    assert compare(_e(mtime=100), _e(mtime=200), rules) == Decision(
        'a', SEND, 'local file is newer'
    )
    exact = Rules(direction=DOWNLOAD, exact_timestamps=True)
    assert compare(_e(mtime=200), _e(mtime=100), exact).action == SEND
    assert compare(_e(mtime=100), _e(mtime=100), exact).action == SKIP


def test_checksum_decides_on_content_when_it_can():
    rules = Rules(checksum=True)
    same_time = (_e(mtime=100), _e(mtime=100))
    assert compare(*same_time, rules, same_content=False) == Decision(
        'a', SEND, 'content differs'
    )
    newer = (_e(mtime=500), _e(mtime=100))
    assert compare(*newer, rules, same_content=True) == Decision(
        'a', SKIP, 'same content'
    )


def test_checksum_falls_back_to_size_and_time_and_says_so():
    decision = compare(_e(mtime=500), _e(mtime=100), Rules(checksum=True), None)
    assert decision.action == SEND and NO_CHECKSUM in decision.reason
    assert (
        plan_sync([_e()], [_e()], Rules(checksum=True), {'a': False})[0].action == SEND
    )


def test_a_content_check_is_needed_only_for_same_sized_pairs_with_checksum():
    assert needs_content_check(_e(), _e(), Rules(checksum=True))
    assert not needs_content_check(_e(size=1), _e(), Rules(checksum=True))
    assert not needs_content_check(_e(), _e(), Rules())


def test_content_reference_prefers_a_full_object_crc():
    head = {'ChecksumCRC32': 'AAAAAA==', 'ChecksumType': 'FULL_OBJECT', 'ETag': '"x"'}
    assert content_reference(head) == ContentReference(CRC, 'CRC32', 'AAAAAA==')


def test_content_reference_uses_a_single_part_md5_etag():
    etag = '"0123456789abcdef0123456789ABCDEF"'
    assert content_reference({'ETag': etag}) == ContentReference(
        MD5, 'MD5', '0123456789abcdef0123456789abcdef'
    )


def test_content_reference_is_none_when_nothing_is_comparable():
    multipart = {'ETag': '"0123456789abcdef0123456789abcdef-3"'}
    assert content_reference(multipart) is None
    composite = {'ChecksumCRC32': 'AAAAAA==-3', 'ETag': '"abc-3"'}
    assert content_reference(composite) is None
    kms = {
        'ETag': '"0123456789abcdef0123456789abcdef"',
        'ServerSideEncryption': 'aws:kms',
    }
    assert content_reference(kms) is None


def test_same_reference_needs_the_same_algorithm():
    crc = ContentReference(CRC, 'CRC32', 'a')
    assert same_reference(crc, ContentReference(CRC, 'CRC32', 'a')) is True
    assert same_reference(crc, ContentReference(CRC, 'CRC32', 'b')) is False
    assert same_reference(crc, ContentReference(MD5, 'MD5', 'a')) is None
    assert same_reference(crc, None) is None


def test_times_are_compared_in_whole_seconds_as_s3_keeps_them():
    # A file written at 100.7 s and uploaded in that second is listed at 100 s.
    assert compare(_e(mtime=100.7), _e(mtime=100.0), Rules()).action == SKIP
    assert compare(_e(mtime=101.0), _e(mtime=100.0), Rules()).action == SEND
    exact = Rules(direction=DOWNLOAD, exact_timestamps=True)
    assert compare(_e(mtime=100.0), _e(mtime=100.4), exact).action == SKIP
