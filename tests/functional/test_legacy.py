"""The legacy S3Transfer API against a stubbed botocore client."""

import io

import pytest
from botocore.exceptions import ClientError, ResponseStreamingError
from botocore.response import StreamingBody
from botocore.stub import ANY
from urllib3.exceptions import ProtocolError

import s3transfer
from s3transfer import OSUtils, S3Transfer, TransferConfig
from s3transfer.exceptions import RetriesExceededError, S3UploadFailedError


@pytest.fixture
def fixed_extension(monkeypatch):
    monkeypatch.setattr(s3transfer, 'random_file_extension', lambda: 'TMPEXT')
    return 'TMPEXT'


class BodyEquals:
    """Stubber matcher: the request body holds exactly ``data``."""

    def __init__(self, data):
        self.data = data

    def __eq__(self, body):
        data = body.read()
        body.seek(0)
        return data == self.data

    def __repr__(self):
        return f'BodyEquals({self.data!r})'


class FailingRaw:
    """A raw HTTP stream that yields ``data`` once, then fails mid-stream."""

    def __init__(self, data):
        self._data = data

    def read(self, amt=None):
        if self._data:
            data, self._data = self._data, b''
            return data
        raise ProtocolError('connection broken')


def streaming_body(data):
    return StreamingBody(io.BytesIO(data), len(data))


def failing_body(data, content_length):
    return StreamingBody(FailingRaw(data), content_length)


def small_config(**kwargs):
    kwargs.setdefault('multipart_threshold', 4)
    kwargs.setdefault('multipart_chunksize', 4)
    kwargs.setdefault('max_concurrency', 1)
    return TransferConfig(**kwargs)


def write_file(tmp_path, data, name='src'):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


class TestUploadFile:
    def test_put_object(self, client, stubber, tmp_path):
        filename = write_file(tmp_path, b'hello')
        stubber.add_response(
            'put_object',
            {'ETag': '"e"'},
            {
                'Bucket': 'bucket',
                'Key': 'key',
                'Body': BodyEquals(b'hello'),
                'ContentType': 'text/plain',
            },
        )
        S3Transfer(client).upload_file(
            filename, 'bucket', 'key', extra_args={'ContentType': 'text/plain'}
        )
        stubber.assert_no_pending_responses()

    def test_below_threshold_uses_put_object(self, client, stubber, tmp_path):
        filename = write_file(tmp_path, b'abc')
        stubber.add_response(
            'put_object',
            {},
            {'Bucket': 'bucket', 'Key': 'key', 'Body': BodyEquals(b'abc')},
        )
        S3Transfer(client, small_config()).upload_file(filename, 'bucket', 'key')
        stubber.assert_no_pending_responses()

    def test_multipart_upload(self, client, stubber, tmp_path):
        filename = write_file(tmp_path, b'0123456789')
        base = {'Bucket': 'bucket', 'Key': 'key'}
        stubber.add_response(
            'create_multipart_upload',
            {'UploadId': 'upload-id'},
            {**base, 'ContentType': 'text/plain', 'RequestPayer': 'requester'},
        )
        for number, data in enumerate([b'0123', b'4567', b'89'], start=1):
            stubber.add_response(
                'upload_part',
                {'ETag': f'"etag-{number}"'},
                {
                    **base,
                    'UploadId': 'upload-id',
                    'PartNumber': number,
                    'Body': BodyEquals(data),
                    'RequestPayer': 'requester',
                },
            )
        stubber.add_response(
            'complete_multipart_upload',
            {},
            {
                **base,
                'UploadId': 'upload-id',
                'MultipartUpload': {
                    'Parts': [
                        {'ETag': '"etag-1"', 'PartNumber': 1},
                        {'ETag': '"etag-2"', 'PartNumber': 2},
                        {'ETag': '"etag-3"', 'PartNumber': 3},
                    ]
                },
            },
        )
        S3Transfer(client, small_config()).upload_file(
            filename,
            'bucket',
            'key',
            extra_args={'ContentType': 'text/plain', 'RequestPayer': 'requester'},
        )
        stubber.assert_no_pending_responses()

    def test_multipart_failure_aborts(self, client, stubber, tmp_path):
        filename = write_file(tmp_path, b'01234567')
        base = {'Bucket': 'bucket', 'Key': 'key'}
        stubber.add_response('create_multipart_upload', {'UploadId': 'upload-id'}, base)
        stubber.add_response(
            'upload_part',
            {'ETag': '"etag-1"'},
            {**base, 'UploadId': 'upload-id', 'PartNumber': 1, 'Body': ANY},
        )
        stubber.add_client_error(
            'upload_part',
            service_error_code='AccessDenied',
            service_message='Denied',
            http_status_code=403,
            expected_params={
                **base,
                'UploadId': 'upload-id',
                'PartNumber': 2,
                'Body': ANY,
            },
        )
        stubber.add_response(
            'abort_multipart_upload', {}, {**base, 'UploadId': 'upload-id'}
        )
        with pytest.raises(S3UploadFailedError) as exc:
            S3Transfer(client, small_config()).upload_file(filename, 'bucket', 'key')
        assert str(exc.value) == (
            f'Failed to upload {filename} to bucket/key: An error occurred '
            '(AccessDenied) when calling the UploadPart operation: Denied'
        )
        stubber.assert_no_pending_responses()

    def test_put_object_error_is_not_wrapped(self, client, stubber, tmp_path):
        filename = write_file(tmp_path, b'abc')
        stubber.add_client_error('put_object', 'NoSuchBucket', http_status_code=404)
        with pytest.raises(ClientError):
            S3Transfer(client).upload_file(filename, 'bucket', 'key')

    def test_invalid_extra_args_before_any_request(self, client, stubber):
        with pytest.raises(ValueError, match="Invalid extra_args key 'Foo'"):
            S3Transfer(client).upload_file(
                '/does/not/exist', 'bucket', 'key', extra_args={'Foo': 'x'}
            )
        stubber.assert_no_pending_responses()


class RecordingOSUtils(OSUtils):
    def __init__(self):
        self.opened = []
        self.removed = []
        self.renamed = []

    def open(self, filename, mode):
        self.opened.append((filename, mode))
        return super().open(filename, mode)

    def remove_file(self, filename):
        self.removed.append(filename)
        super().remove_file(filename)

    def rename_file(self, current_filename, new_filename):
        self.renamed.append((current_filename, new_filename))
        super().rename_file(current_filename, new_filename)


class TestDownloadFile:
    def test_single_get(self, client, stubber, tmp_path, fixed_extension):
        data = b'hello world'
        filename = str(tmp_path / 'data.bin')
        params = {'Bucket': 'bucket', 'Key': 'key', 'VersionId': 'v1'}
        stubber.add_response('head_object', {'ContentLength': len(data)}, params)
        stubber.add_response('get_object', {'Body': streaming_body(data)}, dict(params))
        osutil = RecordingOSUtils()
        amounts = []
        S3Transfer(client, osutil=osutil).download_file(
            'bucket',
            'key',
            filename,
            extra_args={'VersionId': 'v1'},
            callback=amounts.append,
        )
        temp = filename + '.' + fixed_extension
        assert osutil.opened == [(temp, 'wb')]
        assert osutil.renamed == [(temp, filename)]
        assert osutil.removed == []
        assert (tmp_path / 'data.bin').read_bytes() == data
        assert sum(amounts) == len(data)
        assert [p.name for p in tmp_path.iterdir()] == ['data.bin']
        stubber.assert_no_pending_responses()

    def test_ranged_get_does_not_forward_extra_args(self, client, stubber, tmp_path):
        data = b'0123456789'
        filename = str(tmp_path / 'data.bin')
        stubber.add_response(
            'head_object',
            {'ContentLength': len(data)},
            {'Bucket': 'bucket', 'Key': 'key', 'RequestPayer': 'requester'},
        )
        for range_param, start, end in [
            ('bytes=0-3', 0, 4),
            ('bytes=4-7', 4, 8),
            ('bytes=8-', 8, 10),
        ]:
            stubber.add_response(
                'get_object',
                {'Body': streaming_body(data[start:end])},
                {'Bucket': 'bucket', 'Key': 'key', 'Range': range_param},
            )
        amounts = []
        S3Transfer(client, small_config()).download_file(
            'bucket',
            'key',
            filename,
            extra_args={'RequestPayer': 'requester'},
            callback=amounts.append,
        )
        assert (tmp_path / 'data.bin').read_bytes() == data
        assert sum(amounts) == len(data)
        assert [p.name for p in tmp_path.iterdir()] == ['data.bin']
        stubber.assert_no_pending_responses()

    def test_single_get_retries_streaming_error(self, client, stubber, tmp_path):
        data = b'hello world'
        filename = str(tmp_path / 'data.bin')
        params = {'Bucket': 'bucket', 'Key': 'key'}
        stubber.add_response('head_object', {'ContentLength': len(data)}, params)
        stubber.add_response(
            'get_object', {'Body': failing_body(b'hel', len(data))}, params
        )
        stubber.add_response('get_object', {'Body': streaming_body(data)}, params)
        S3Transfer(client).download_file('bucket', 'key', filename)
        assert (tmp_path / 'data.bin').read_bytes() == data
        stubber.assert_no_pending_responses()

    def test_ranged_get_retries_same_range(self, client, stubber, tmp_path):
        data = b'01234567'
        filename = str(tmp_path / 'data.bin')
        base = {'Bucket': 'bucket', 'Key': 'key'}
        stubber.add_response('head_object', {'ContentLength': len(data)}, base)
        stubber.add_response(
            'get_object',
            {'Body': streaming_body(b'0123')},
            {**base, 'Range': 'bytes=0-3'},
        )
        stubber.add_response(
            'get_object',
            {'Body': failing_body(b'45', 4)},
            {**base, 'Range': 'bytes=4-'},
        )
        stubber.add_response(
            'get_object',
            {'Body': streaming_body(b'4567')},
            {**base, 'Range': 'bytes=4-'},
        )
        S3Transfer(client, small_config()).download_file('bucket', 'key', filename)
        assert (tmp_path / 'data.bin').read_bytes() == data
        stubber.assert_no_pending_responses()

    def test_retries_exhausted_removes_temp_file(
        self, client, stubber, tmp_path, fixed_extension
    ):
        data = b'hello world'
        filename = str(tmp_path / 'data.bin')
        params = {'Bucket': 'bucket', 'Key': 'key'}
        stubber.add_response('head_object', {'ContentLength': len(data)}, params)
        for _ in range(2):
            stubber.add_response(
                'get_object', {'Body': failing_body(b'hel', len(data))}, params
            )
        osutil = RecordingOSUtils()
        transfer = S3Transfer(client, TransferConfig(num_download_attempts=2), osutil)
        with pytest.raises(RetriesExceededError) as exc:
            transfer.download_file('bucket', 'key', filename)
        assert isinstance(exc.value.last_exception, ResponseStreamingError)
        temp = filename + '.' + fixed_extension
        assert osutil.opened == [(temp, 'wb'), (temp, 'wb')]
        assert osutil.removed == [temp]
        assert osutil.renamed == []
        assert list(tmp_path.iterdir()) == []
        stubber.assert_no_pending_responses()

    def test_ranged_failure_removes_temp_file(self, client, stubber, tmp_path):
        filename = str(tmp_path / 'data.bin')
        base = {'Bucket': 'bucket', 'Key': 'key'}
        stubber.add_response('head_object', {'ContentLength': 8}, base)
        stubber.add_response(
            'get_object',
            {'Body': streaming_body(b'0123')},
            {**base, 'Range': 'bytes=0-3'},
        )
        stubber.add_client_error(
            'get_object',
            'AccessDenied',
            http_status_code=403,
            expected_params={**base, 'Range': 'bytes=4-'},
        )
        with pytest.raises(ClientError):
            S3Transfer(client, small_config()).download_file('bucket', 'key', filename)
        assert list(tmp_path.iterdir()) == []
        stubber.assert_no_pending_responses()

    def test_get_object_error_is_not_retried(self, client, stubber, tmp_path):
        params = {'Bucket': 'bucket', 'Key': 'key'}
        stubber.add_response('head_object', {'ContentLength': 3}, params)
        stubber.add_client_error('get_object', 'NoSuchKey', http_status_code=404)
        with pytest.raises(ClientError):
            S3Transfer(client).download_file(
                'bucket', 'key', str(tmp_path / 'data.bin')
            )
        assert list(tmp_path.iterdir()) == []
        stubber.assert_no_pending_responses()

    def test_invalid_extra_args_before_any_request(self, client, stubber, tmp_path):
        with pytest.raises(ValueError, match="Invalid extra_args key 'Range'"):
            S3Transfer(client).download_file(
                'bucket',
                'key',
                str(tmp_path / 'data.bin'),
                extra_args={'Range': 'bytes=0-1'},
            )
        assert list(tmp_path.iterdir()) == []
        stubber.assert_no_pending_responses()
