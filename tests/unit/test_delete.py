"""Unit tests for s3transfer.delete: one final DeleteObject task per transfer."""

import pytest
from botocore.exceptions import ClientError

from s3transfer.delete import DeleteObjectTask, DeleteSubmissionTask
from s3transfer.futures import (
    BoundedExecutor,
    NonThreadedExecutor,
    TransferCoordinator,
    TransferFuture,
    TransferMeta,
)
from s3transfer.utils import CallArgs


class DeletingClient:
    """Records ``delete_object`` calls; raises ``error`` if given."""

    def __init__(self, error=None):
        self.calls = []
        self._error = error

    def delete_object(self, **kwargs):
        self.calls.append(kwargs)
        if self._error is not None:
            raise self._error
        return {'DeleteMarker': False}


def transfer(extra_args=None):
    coordinator = TransferCoordinator(transfer_id=7)
    call_args = CallArgs(
        bucket='bucket', key='key', extra_args=extra_args or {}, subscribers=[]
    )
    meta = TransferMeta(call_args, transfer_id=7)
    return TransferFuture(meta=meta, coordinator=coordinator), coordinator


def inline_executor():
    return BoundedExecutor(10, 1, executor_cls=NonThreadedExecutor)


def test_delete_object_task_sends_bucket_key_and_extra_args():
    client = DeletingClient()
    coordinator = TransferCoordinator(transfer_id=1)
    task = DeleteObjectTask(
        coordinator,
        main_kwargs={
            'client': client,
            'bucket': 'b',
            'key': 'k',
            'extra_args': {'VersionId': 'v1', 'RequestPayer': 'requester'},
        },
    )
    assert task() is None
    assert client.calls == [
        {'Bucket': 'b', 'Key': 'k', 'VersionId': 'v1', 'RequestPayer': 'requester'}
    ]


def test_submission_submits_one_final_task_and_the_transfer_succeeds():
    client = DeletingClient()
    future, coordinator = transfer({'MFA': 'serial 123456'})
    DeleteSubmissionTask(
        coordinator,
        main_kwargs={
            'client': client,
            'request_executor': inline_executor(),
            'transfer_future': future,
        },
    )()
    assert future.done()
    assert future.result() is None
    assert coordinator.status == 'success'
    assert client.calls == [{'Bucket': 'bucket', 'Key': 'key', 'MFA': 'serial 123456'}]


def test_a_failed_delete_fails_the_transfer_with_the_client_error():
    error = ClientError({'Error': {'Code': 'AccessDenied'}}, 'DeleteObject')
    client = DeletingClient(error=error)
    future, coordinator = transfer()
    DeleteSubmissionTask(
        coordinator,
        main_kwargs={
            'client': client,
            'request_executor': inline_executor(),
            'transfer_future': future,
        },
    )()
    with pytest.raises(ClientError) as raised:
        future.result()
    assert raised.value is error
    assert coordinator.status == 'failed'


def test_a_cancelled_transfer_sends_no_delete():
    client = DeletingClient()
    future, coordinator = transfer()
    coordinator.cancel()
    DeleteSubmissionTask(
        coordinator,
        main_kwargs={
            'client': client,
            'request_executor': inline_executor(),
            'transfer_future': future,
        },
    )()
    assert client.calls == []
    assert future.done()
