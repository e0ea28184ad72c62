"""Managed delete: one DeleteObject request per transfer."""

from __future__ import annotations

from typing import Any

from s3transfer.futures import BoundedExecutor, TransferFuture
from s3transfer.tasks import SubmissionTask, Task, request_kwargs


class DeleteSubmissionTask(SubmissionTask):
    """Submits the single, final DeleteObject task of a delete transfer."""

    def _submit(
        self,
        client: Any,
        request_executor: BoundedExecutor,
        transfer_future: TransferFuture,
        **kwargs: Any,
    ) -> None:
        call_args = transfer_future.meta.call_args
        main_kwargs = request_kwargs(client, call_args, call_args.extra_args)
        self._submit_task(
            request_executor, DeleteObjectTask, main_kwargs, is_final=True
        )


class DeleteObjectTask(Task):
    """Deletes one object."""

    def _main(
        self, client: Any, bucket: str, key: str, extra_args: dict[str, Any]
    ) -> None:
        client.delete_object(Bucket=bucket, Key=key, **extra_args)
