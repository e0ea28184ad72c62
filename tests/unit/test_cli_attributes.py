"""Object-attribute flags -> extra_args per operation (pure)."""

import argparse

import pytest

from s3transfer.cli import build_parser
from s3transfer.cli.attributes import (
    COPY,
    DOWNLOAD,
    UPLOAD,
    extra_args_for,
    parse_grant,
    parse_metadata,
    requested,
)


def _requested(*flags):
    return requested(build_parser().parse_args(['cp', 'a', 's3://b/', *flags]))


def test_each_flag_becomes_its_request_parameter():
    got = _requested(
        '--acl', 'public-read', '--storage-class', 'STANDARD_IA', '--sse',
        '--content-type', 'text/x', '--cache-control', 'max-age=1',
        '--content-disposition', 'inline', '--content-encoding', 'gzip',
        '--content-language', 'fr', '--expires', '2030-01-01T00:00:00Z',
        '--website-redirect', '/x', '--metadata', 'a=1,b=2',
        '--request-payer', '--checksum-algorithm', 'SHA256',
        '--grants', 'read=uri=http://acs.amazonaws.com/groups/global/AllUsers',
    )  # fmt: skip
    assert got == {
        'ACL': 'public-read',
        'StorageClass': 'STANDARD_IA',
        'ServerSideEncryption': 'AES256',
        'ContentType': 'text/x',
        'CacheControl': 'max-age=1',
        'ContentDisposition': 'inline',
        'ContentEncoding': 'gzip',
        'ContentLanguage': 'fr',
        'Expires': '2030-01-01T00:00:00Z',
        'WebsiteRedirectLocation': '/x',
        'Metadata': {'a': '1', 'b': '2'},
        'RequestPayer': 'requester',
        'ChecksumAlgorithm': 'SHA256',
        'GrantRead': 'uri=http://acs.amazonaws.com/groups/global/AllUsers',
    }


def test_kms_and_sse_c_flags():
    got = _requested('--sse', 'aws:kms', '--sse-kms-key-id', 'k1')
    assert got == {'ServerSideEncryption': 'aws:kms', 'SSEKMSKeyId': 'k1'}
    got = _requested(
        '--sse-c',
        '--sse-c-key',
        'x',
        '--sse-c-copy-source',
        '--sse-c-copy-source-key',
        'y',
    )
    assert got == {
        'SSECustomerAlgorithm': 'AES256',
        'SSECustomerKey': 'x',
        'CopySourceSSECustomerAlgorithm': 'AES256',
        'CopySourceSSECustomerKey': 'y',
    }
    assert extra_args_for(got, UPLOAD) == {
        'SSECustomerAlgorithm': 'AES256',
        'SSECustomerKey': 'x',
    }
    assert extra_args_for(got, COPY) == got


def test_only_what_an_operation_accepts_goes_to_it():
    req = {'StorageClass': 'GLACIER', 'RequestPayer': 'requester', 'ACL': 'private'}
    assert extra_args_for(req, DOWNLOAD) == {'RequestPayer': 'requester'}
    assert extra_args_for(req, UPLOAD) == req


def test_content_type_is_guessed_unless_given():
    assert extra_args_for({}, UPLOAD, 'page.html') == {'ContentType': 'text/html'}
    assert extra_args_for({}, UPLOAD, 'noext') == {}
    given = {'ContentType': 'a/b'}
    assert extra_args_for(given, UPLOAD, 'page.html') == given
    assert extra_args_for({}, DOWNLOAD, 'page.html') == {}


def test_a_copy_that_describes_the_object_replaces_its_metadata():
    assert extra_args_for({'ContentType': 'a/b'}, COPY) == {
        'ContentType': 'a/b',
        'MetadataDirective': 'REPLACE',
    }
    assert extra_args_for({'StorageClass': 'GLACIER'}, COPY) == {
        'StorageClass': 'GLACIER'
    }
    keep = {'ContentType': 'a/b', 'MetadataDirective': 'COPY'}
    assert extra_args_for(keep, COPY) == keep


def test_metadata_accepts_json_and_shorthand():
    assert parse_metadata('{"a": "1", "b": 2}') == {'a': '1', 'b': '2'}
    assert parse_metadata('a=1,b=x=y') == {'a': '1', 'b': 'x=y'}
    for bad in ('{"a"', '[1]', 'novalue'):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_metadata(bad)


def test_grants_name_a_known_permission():
    assert parse_grant('full=id=abc') == ('GrantFullControl', 'id=abc')
    for bad in ('write=id=x', 'read', 'read=abc'):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_grant(bad)


def test_no_guess_and_no_follow_symlinks_flags():
    args = build_parser().parse_args(
        ['cp', 'a', 's3://b/', '--no-guess-mime-type', '--no-follow-symlinks']
    )
    assert (args.guess_mime_type, args.follow_symlinks) == (False, False)
    args = build_parser().parse_args(['cp', 'a', 's3://b/'])
    assert (args.guess_mime_type, args.follow_symlinks) == (True, True)
