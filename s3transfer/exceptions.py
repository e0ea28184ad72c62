"""The exception hierarchy shared by every transfer engine."""

from concurrent.futures import CancelledError


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


class S3ValidationError(Exception):
    """A response's ``Content-Range`` does not match the requested range."""
