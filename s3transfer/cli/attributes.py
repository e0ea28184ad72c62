"""Object-attribute flags (``--content-type``, ``--sse``, ``--metadata`` …) and the
``extra_args`` they become for each kind of transfer, as pure functions.

The flag names and values are the AWS CLI's. Each flag maps to one request
parameter; a parameter only goes to the operations that accept it.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
from typing import Any

from s3transfer.manager import TransferManager

UPLOAD = 'upload'
DOWNLOAD = 'download'
COPY = 'copy'

ACLS = (
    'private',
    'public-read',
    'public-read-write',
    'authenticated-read',
    'aws-exec-read',
    'bucket-owner-read',
    'bucket-owner-full-control',
    'log-delivery-write',
)
STORAGE_CLASSES = (
    'STANDARD',
    'REDUCED_REDUNDANCY',
    'STANDARD_IA',
    'ONEZONE_IA',
    'INTELLIGENT_TIERING',
    'GLACIER',
    'DEEP_ARCHIVE',
    'GLACIER_IR',
    'EXPRESS_ONEZONE',
)
CHECKSUM_ALGORITHMS = ('CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256')
_GRANTS = {
    'read': 'GrantRead',
    'readacl': 'GrantReadACP',
    'writeacl': 'GrantWriteACP',
    'full': 'GrantFullControl',
}
# Flags whose value goes straight to one request parameter: (flag, parameter, help).
_SIMPLE = (
    ('--content-type', 'ContentType', 'Content-Type (default: guessed from the name)'),
    ('--cache-control', 'CacheControl', 'Cache-Control'),
    ('--content-disposition', 'ContentDisposition', 'Content-Disposition'),
    ('--content-encoding', 'ContentEncoding', 'Content-Encoding'),
    ('--content-language', 'ContentLanguage', 'Content-Language'),
    ('--expires', 'Expires', 'Expires (a date)'),
    ('--website-redirect', 'WebsiteRedirectLocation', 'website redirect location'),
    ('--sse-kms-key-id', 'SSEKMSKeyId', 'KMS key for --sse aws:kms'),
    ('--sse-c-key', 'SSECustomerKey', 'customer key for --sse-c'),
    ('--sse-c-copy-source-key', 'CopySourceSSECustomerKey', 'key of the source'),
)
# Parameters that describe the object itself: giving one on a copy replaces them all.
_DESCRIBING = {
    'ContentType',
    'CacheControl',
    'ContentDisposition',
    'ContentEncoding',
    'ContentLanguage',
    'Expires',
    'Metadata',
    'WebsiteRedirectLocation',
}
_ALLOWED = {
    UPLOAD: set(TransferManager.ALLOWED_UPLOAD_ARGS),
    DOWNLOAD: set(TransferManager.ALLOWED_DOWNLOAD_ARGS),
    COPY: set(TransferManager.ALLOWED_COPY_ARGS),
}


def parse_metadata(text: str) -> dict[str, str]:
    """``'{"a": "1"}'`` (JSON) or ``'a=1,b=2'`` (the AWS CLI's shorthand)."""
    text = text.strip()
    if text.startswith('{'):
        try:
            value = json.loads(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f'invalid --metadata JSON: {error}')
        if not isinstance(value, dict):
            raise argparse.ArgumentTypeError('--metadata JSON must be an object')
        return {str(k): str(v) for k, v in value.items()}
    pairs = {}
    for item in filter(None, text.split(',')):
        name, sep, value = item.partition('=')
        if not sep or not name:
            raise argparse.ArgumentTypeError(f'invalid --metadata entry: {item!r}')
        pairs[name.strip()] = value.strip()
    return pairs


def parse_grant(text: str) -> tuple[str, str]:
    """``'read=uri=http://…'`` -> ``('GrantRead', 'uri=http://…')``."""
    permission, sep, grantee = text.partition('=')
    if not sep or permission not in _GRANTS or '=' not in grantee:
        raise argparse.ArgumentTypeError(
            f'invalid grant {text!r}: use Permission=Grantee_Type=Grantee_ID with '
            f'Permission one of {", ".join(_GRANTS)}'
        )
    return _GRANTS[permission], grantee


def add_attribute_options(group: Any) -> None:
    """The AWS CLI's object-attribute flags, for cp, mv and sync."""
    group.add_argument('--acl', choices=ACLS, help='canned ACL for new objects')
    group.add_argument(
        '--grants', nargs='+', type=parse_grant, metavar='GRANT', help='read=uri=…'
    )
    group.add_argument('--storage-class', choices=STORAGE_CLASSES)
    group.add_argument(
        '--sse',
        nargs='?',
        const='AES256',
        choices=('AES256', 'aws:kms', 'aws:kms:dsse'),
        help='server-side encryption (AES256 if given without a value)',
    )
    group.add_argument('--sse-c', nargs='?', const='AES256', choices=('AES256',))
    group.add_argument(
        '--sse-c-copy-source', nargs='?', const='AES256', choices=('AES256',)
    )
    for flag, _, text in _SIMPLE:
        group.add_argument(flag, help=text)
    group.add_argument(
        '--metadata', type=parse_metadata, metavar='MAP', help='a=1,b=2 or JSON'
    )
    group.add_argument(
        '--metadata-directive',
        choices=('COPY', 'REPLACE'),
        help='on copies: keep the source metadata or replace it',
    )
    group.add_argument('--request-payer', nargs='?', const='requester')
    group.add_argument('--checksum-algorithm', choices=CHECKSUM_ALGORITHMS)
    group.add_argument(
        '--no-guess-mime-type',
        dest='guess_mime_type',
        action='store_false',
        help='do not guess Content-Type from file names',
    )
    group.add_argument(
        '--no-follow-symlinks',
        dest='follow_symlinks',
        action='store_false',
        help='skip symbolic links instead of uploading what they point to',
    )
    group.add_argument('--follow-symlinks', dest='follow_symlinks', action='store_true')


def requested(args: argparse.Namespace) -> dict[str, Any]:
    """Every request parameter the attribute flags ask for, for any operation."""
    extra: dict[str, Any] = {}
    for flag, parameter, _ in _SIMPLE:
        value = getattr(args, flag[2:].replace('-', '_'), None)
        if value is not None:
            extra[parameter] = value
    simple = {
        'ACL': 'acl',
        'StorageClass': 'storage_class',
        'ServerSideEncryption': 'sse',
        'SSECustomerAlgorithm': 'sse_c',
        'CopySourceSSECustomerAlgorithm': 'sse_c_copy_source',
        'Metadata': 'metadata',
        'MetadataDirective': 'metadata_directive',
        'RequestPayer': 'request_payer',
        'ChecksumAlgorithm': 'checksum_algorithm',
    }
    for parameter, attribute in simple.items():
        value = getattr(args, attribute, None)
        if value is not None:
            extra[parameter] = value
    for parameter, grantee in getattr(args, 'grants', None) or ():
        extra[parameter] = grantee
    return extra


def extra_args_for(
    requested_args: dict[str, Any], operation: str, guess_from: str | None = None
) -> dict[str, Any]:
    """The ``extra_args`` of one ``operation`` (upload/download/copy).

    ``guess_from`` is a file name whose type fills ``ContentType`` on uploads when
    no ``--content-type`` was given. A copy that sets any describing attribute
    replaces the source's (``MetadataDirective=REPLACE``) unless told otherwise.
    """
    extra = {k: v for k, v in requested_args.items() if k in _ALLOWED[operation]}
    if operation == UPLOAD and guess_from and 'ContentType' not in extra:
        guessed, _ = mimetypes.guess_type(guess_from)
        if guessed:
            extra['ContentType'] = guessed
    if operation == COPY and 'MetadataDirective' not in extra:
        if _DESCRIBING & set(extra):
            extra['MetadataDirective'] = 'REPLACE'
    return extra
