"""TransferConfig validation, argument lists and the coordinator controller."""

import threading

import pytest

from s3transfer import constants
from s3transfer.exceptions import CancelledError
from s3transfer.futures import TransferCoordinator
from s3transfer.manager import (
    TransferConfig,
    TransferCoordinatorController,
    TransferManager,
)

DEFAULTS = {
    'multipart_threshold': 8 * 1024 * 1024,
    'multipart_chunksize': 8 * 1024 * 1024,
    'max_request_concurrency': 10,
    'max_submission_concurrency': 5,
    'max_request_queue_size': 1000,
    'max_submission_queue_size': 1000,
    'max_io_queue_size': 1000,
    'io_chunksize': 256 * 1024,
    'num_download_attempts': 5,
    'max_in_memory_upload_chunks': 10,
    'max_in_memory_download_chunks': 10,
    'max_bandwidth': None,
}


def test_config_defaults():
    config = TransferConfig()
    for name, value in DEFAULTS.items():
        assert getattr(config, name) == value


def test_config_positional_order_is_the_spec_order():
    values = list(range(1, len(DEFAULTS) + 1))
    config = TransferConfig(*values)
    assert [getattr(config, name) for name in DEFAULTS] == values


@pytest.mark.parametrize('name', [n for n in DEFAULTS])
@pytest.mark.parametrize('value', [0, -1])
def test_config_rejects_zero_and_negative_values(name, value):
    with pytest.raises(ValueError) as exc:
        TransferConfig(**{name: value})
    assert str(exc.value) == (
        f'Provided parameter {name} of value {value} must be greater than 0.'
    )


@pytest.mark.parametrize('value', ['8MB', b'8', [8], {}])
def test_config_rejects_wrong_type_naming_the_field(value):
    with pytest.raises(TypeError) as exc:
        TransferConfig(multipart_chunksize=value)
    assert 'multipart_chunksize' in str(exc.value)
    assert type(value).__name__ in str(exc.value)


def test_config_accepts_unset_default_and_none():
    unset = TransferConfig.UNSET_DEFAULT
    config = TransferConfig(multipart_threshold=unset, max_bandwidth=None)
    assert config.get_deep_attr('multipart_threshold') is unset


def test_config_attributes_set_later_are_not_validated():
    config = TransferConfig()
    config.max_in_memory_upload_chunks = 0
    assert config.max_in_memory_upload_chunks == 0


def test_config_validates_through_subclass_setattr_and_skips_foreign_strings():
    seen = []

    class Subclass(TransferConfig):
        def __init__(self, **kwargs):
            self.preferred_transfer_client = 'auto'
            super().__init__(**kwargs)

        def __setattr__(self, name, value):
            seen.append(name)
            super().__setattr__(name, value)

    config = Subclass(multipart_threshold=5)
    assert 'multipart_threshold' in seen
    assert config.preferred_transfer_client == 'auto'
    with pytest.raises(ValueError):
        Subclass(io_chunksize=-5)


def test_get_deep_attr_bypasses_subclass_getattribute():
    class Subclass(TransferConfig):
        def __getattribute__(self, item):
            if item == 'multipart_threshold':
                return 'overridden'
            return super().__getattribute__(item)

    config = Subclass(multipart_threshold=123)
    assert config.multipart_threshold == 'overridden'
    assert config.get_deep_attr('multipart_threshold') == 123


def test_boto3_transfer_config_works_on_top():
    from boto3.s3.transfer import TransferConfig as Boto3Config

    config = Boto3Config(max_concurrency=3)
    assert config.max_request_concurrency == 3
    assert config.max_io_queue_size == 100
    assert config.get_deep_attr('io_chunksize') is TransferConfig.UNSET_DEFAULT


def test_allowed_arg_lists():
    shared = TransferManager._ALLOWED_SHARED_ARGS
    assert TransferManager.ALLOWED_DOWNLOAD_ARGS is constants.ALLOWED_DOWNLOAD_ARGS
    assert TransferManager.ALLOWED_UPLOAD_ARGS == (
        shared
        + ['ChecksumType', 'MpuObjectSize']
        + constants.FULL_OBJECT_CHECKSUM_ARGS
        + ['IfMatch', 'IfNoneMatch']
    )
    assert TransferManager.ALLOWED_COPY_ARGS[: len(shared)] == shared
    assert TransferManager.ALLOWED_COPY_ARGS[-3:] == [
        'MetadataDirective',
        'TaggingDirective',
        'AnnotationDirective',
    ]
    assert TransferManager.ALLOWED_DELETE_ARGS == [
        'MFA',
        'VersionId',
        'RequestPayer',
        'ExpectedBucketOwner',
    ]
    assert (
        len(shared) == 27
        and shared[0] == 'ACL'
        and shared[-1] == ('WebsiteRedirectLocation')
    )


@pytest.mark.parametrize(
    'bucket',
    [
        'arn:aws:s3-object-lambda:eu-west-1:111122223333:accesspoint/olap-1',
        'arn:aws-cn:s3-object-lambda:cn-north-1:111122223333:accesspoint:olap-2',
    ],
)
def test_object_lambda_pattern_matches(bucket):
    pattern = TransferManager._UNSUPPORTED_BUCKET_PATTERNS['S3 Object Lambda']
    assert pattern.match(bucket)


@pytest.mark.parametrize(
    'bucket',
    ['my-bucket', 'arn:aws:s3:us-west-2:123456789012:accesspoint/my-ap'],
)
def test_object_lambda_pattern_does_not_match_ordinary_buckets(bucket):
    pattern = TransferManager._UNSUPPORTED_BUCKET_PATTERNS['S3 Object Lambda']
    assert not pattern.match(bucket)


def test_controller_tracks_adds_and_removes():
    controller = TransferCoordinatorController()
    coordinator = TransferCoordinator(transfer_id=1)
    controller.add_transfer_coordinator(coordinator)
    snapshot = controller.tracked_transfer_coordinators
    assert snapshot == {coordinator}
    snapshot.clear()
    assert controller.tracked_transfer_coordinators == {coordinator}
    controller.remove_transfer_coordinator(coordinator)
    assert controller.tracked_transfer_coordinators == set()
    with pytest.raises(KeyError):
        controller.remove_transfer_coordinator(coordinator)


def test_controller_cancel_uses_message_and_type():
    class Custom(CancelledError):
        pass

    controller = TransferCoordinatorController()
    coordinators = [TransferCoordinator(transfer_id=i) for i in range(3)]
    for coordinator in coordinators:
        controller.add_transfer_coordinator(coordinator)
    controller.cancel('stop', Custom)
    for coordinator in coordinators:
        assert coordinator.status == 'cancelled'
        with pytest.raises(Custom, match='stop'):
            coordinator.result()


def test_controller_wait_returns_after_all_done_and_swallows_errors():
    controller = TransferCoordinatorController()
    failing = TransferCoordinator(transfer_id=1)
    failing.set_exception(ValueError('bad'))
    failing.announce_done()
    controller.add_transfer_coordinator(failing)
    controller.wait()  # does not raise


def test_controller_wait_blocks_until_done():
    controller = TransferCoordinatorController()
    coordinator = TransferCoordinator(transfer_id=1)
    controller.add_transfer_coordinator(coordinator)
    finished = threading.Event()

    def wait():
        controller.wait()
        finished.set()

    thread = threading.Thread(target=wait)
    thread.start()
    assert not finished.wait(0.2)
    coordinator.set_result('x')
    coordinator.announce_done()
    assert finished.wait(5)
    thread.join(5)


def test_controller_wait_reraises_keyboard_interrupt():
    class Interrupting(TransferCoordinator):
        def result(self):
            raise KeyboardInterrupt()

    controller = TransferCoordinatorController()
    controller.add_transfer_coordinator(Interrupting(transfer_id=1))
    with pytest.raises(KeyboardInterrupt):
        controller.wait()
