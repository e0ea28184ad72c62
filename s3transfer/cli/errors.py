"""Failures in words: what a person reads instead of ``An error occurred (404)``.

``describe_error`` maps S3 error codes, HTTP statuses and local errors to one line
that says the cause and, where there is one, what to do.
"""

from __future__ import annotations


class ObjectError(Exception):
    """A request about one object failed: ``s3://bucket/key: cause in words``."""

    def __init__(self, url: str, error: BaseException) -> None:
        super().__init__(f'{url}: {describe_error(error)}')
        self.url = url
        self.error = error


_CODE_WORDS = {
    'NoSuchKey': 'no such key',
    'NoSuchBucket': 'no such bucket',
    'NoSuchUpload': 'the multipart upload no longer exists',
    'AccessDenied': 'access denied (403): check credentials and bucket policy',
    'InvalidAccessKeyId': 'the access key id is not known to S3: check credentials',
    'SignatureDoesNotMatch': 'the signature does not match: check the secret key',
    'ExpiredToken': 'the credentials have expired: refresh them',
    'PreconditionFailed': 'precondition failed (412): the object changed or exists',
    'InvalidObjectState': 'the object is archived: restore it before reading it',
    'SlowDown': 'S3 is throttling requests (503 SlowDown): retry later or slower',
    'RequestTimeout': 'the request timed out',
    'EntityTooLarge': 'the object is larger than S3 allows for this request',
    'InvalidRequest': 'S3 refused the request as invalid',
}
_STATUS_WORDS = {
    '301': 'the bucket is in another region: pass --region',
    '400': 'bad request (400)',
    '403': 'access denied (403): check credentials and bucket policy',
    '404': 'no such key',
    '412': 'precondition failed (412): the object changed or exists',
    '416': 'the requested range is not satisfiable (416)',
    '500': 'S3 internal error (500): retry later',
    '503': 'S3 is unavailable or throttling (503): retry later',
}


def error_code(error: BaseException) -> str | None:
    """The S3 error code (or HTTP status) of a botocore ``ClientError``, if any."""
    response = getattr(error, 'response', None)
    if not isinstance(response, dict):
        return None
    code = response.get('Error', {}).get('Code')
    return str(code) if code else None


def describe_error(error: BaseException) -> str:
    """The cause of a failure in words, for a person reading one line."""
    conditions = getattr(error, 'conditions', None)
    if isinstance(conditions, dict) and conditions:  # ConditionalWriteFailedError
        if conditions.get('IfNoneMatch') == '*':
            return "not overwritten: the object already exists (IfNoneMatch='*')"
        return f'not replaced: the object does not have ETag {conditions["IfMatch"]}'
    code = error_code(error)
    if code is not None:
        words = _CODE_WORDS.get(code) or _STATUS_WORDS.get(code)
        if words:
            return words
        message = getattr(error, 'response', {}).get('Error', {}).get('Message')
        return f'{code}: {message}' if message else f'S3 error {code}'
    name = type(error).__name__
    if name == 'NoCredentialsError':
        return 'no credentials found: configure a profile or pass --local'
    if name in ('EndpointConnectionError', 'ConnectionClosedError'):
        return f'cannot reach S3: {error}'
    if isinstance(error, OSError) and error.strerror:
        where = f': {error.filename}' if error.filename else ''
        return f'{error.strerror.lower()}{where}'
    text = str(error) or name
    return ' '.join(text.split())
