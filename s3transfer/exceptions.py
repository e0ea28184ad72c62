"""The exception hierarchy shared by every transfer engine."""

from concurrent.futures import CancelledError

from botocore.exceptions import ClientError


class RetriesExceededError(Exception):
    """Every attempt of a retried operation failed; ``last_exception`` says why."""

    def __init__(
        self, last_exception: BaseException | None, msg: str = 'Max Retries Exceeded'
    ) -> None:
        super().__init__(msg)
        self.last_exception = last_exception


class S3UploadFailedError(Exception):
    """A legacy multipart upload failed."""


class S3DownloadFailedError(Exception):
    """The object changed (ETag precondition failed) while it was downloaded."""


class S3CopyFailedError(Exception):
    """A multipart copy saw its source change, or annotations failed to copy."""


class InvalidSubscriberMethodError(Exception):
    """A subscriber class defines an ``on_*`` member that cannot be called as one."""


class TransferNotDoneError(Exception):
    """An operation needed a finished transfer but it is still in progress."""


class FatalError(CancelledError):
    """A cancellation caused by an error inside the manager's context (not Ctrl-C)."""


class ConditionalWriteFailedError(ClientError):
    """S3 refused a conditional upload (``IfNoneMatch``/``IfMatch``): 412 or 409.

    A ``ClientError`` (same response and operation) whose message names the
    condition, so existing ``except ClientError`` handlers keep working.
    """

    def __init__(self, error: ClientError, conditions: dict) -> None:
        super().__init__(error.response, error.operation_name)
        self.conditions = dict(conditions)
        described = ', '.join(f'{name}={value!r}' for name, value in conditions.items())
        if conditions.get('IfNoneMatch') == '*':
            meaning = 'the object already exists and was not overwritten'
        else:
            meaning = 'the object does not match the given ETag and was not replaced'
        self.args = (
            f'Conditional write refused by S3 ({described}): {meaning} '
            f'[{self.operation_name}: {error}]',
        )

    def __str__(self) -> str:
        return self.args[0]

    def __reduce__(self):  # type: ignore[no-untyped-def]
        original = ClientError(self.response, self.operation_name)
        return self.__class__, (original, self.conditions)


class S3ValidationError(Exception):
    """A response's ``Content-Range`` does not match the requested range."""
