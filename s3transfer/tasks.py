"""Units of work run on the executors: the task lifecycle and shared MPU tasks."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError

from s3transfer import fastpaths
from s3transfer.constants import CONDITIONAL_WRITE_ARGS
from s3transfer.exceptions import ConditionalWriteFailedError
from s3transfer.futures import set_current_transfer
from s3transfer.utils import get_callbacks

try:
    from botocore.context import ClientContext, get_context, start_as_current_context
except ImportError:
    ClientContext = None
    start_as_current_context = contextlib.nullcontext

logger = logging.getLogger(__name__)

# The main kwargs shown by ``Task.__repr__``, in display order.
_REPR_PARAMS = (
    'bucket',
    'key',
    'part_number',
    'final_filename',
    'transfer_future',
    'offset',
    'extra_args',
)


if ClientContext is not None:

    class _CheapCopyContext(ClientContext):
        """Fast path "cheap context copy": a ``ClientContext`` copied field by field.

        botocore deep-copies the current context on every API call (and once more when
        a task starts); the generic ``copy.deepcopy`` of a dataclass costs tens of
        microseconds, several times per transferred file. Set members are hashable
        feature ids (strings), so copying the set is a deep copy. Guarded by
        ``CHEAP_CONTEXT_COPY`` (docs/performance.md).
        """

        def __deepcopy__(self, memo: dict) -> _CheapCopyContext:
            clone = memo[id(self)] = object.__new__(type(self))
            for name, value in self.__dict__.items():
                if type(value) is set:
                    clone.__dict__[name] = value.copy()
                else:
                    clone.__dict__[name] = copy.deepcopy(value, memo)
            return clone

        def __eq__(self, other: object) -> bool:
            if isinstance(other, ClientContext):
                return vars(self) == vars(other)
            return NotImplemented

        __hash__ = None  # type: ignore[assignment]  # mutable, like ClientContext


def _context_copies_field_by_field() -> bool:
    """Whether botocore's ``ClientContext`` is still a plain dataclass we may copy so.

    No copy/pickle hooks or slots of its own, its state in ``__dict__`` as its fields,
    and the cheap deep copy equal to the generic one yet independent of the original.
    """
    if ClientContext is None:
        return False
    for hook in ('__deepcopy__', '__copy__', '__reduce_ex__', '__slots__'):
        if hook in vars(ClientContext):
            return False
    original = ClientContext()
    if set(vars(original)) != {f.name for f in dataclasses.fields(ClientContext)}:
        return False
    original.features.add('check')
    cheap = copy.deepcopy(_as_cheap_copy_context(original))
    plain = copy.deepcopy(original)
    cheap.features.add('other')
    return type(cheap) is _CheapCopyContext and vars(plain) == {
        **vars(cheap),
        'features': {'check'},
    }


CHEAP_CONTEXT_COPY = fastpaths.SelfCheck(
    'cheap context copy', _context_copies_field_by_field
)


def _as_cheap_copy_context(current: Any) -> Any:
    if type(current) is _CheapCopyContext:
        return current
    cheap = _CheapCopyContext()
    if current is not None:
        cheap.__dict__.update(vars(current))
    return cheap


def _cheap_copy_context(ctx: Any) -> Any:
    """``ctx`` (or the current context, or a new one) as a ``_CheapCopyContext``.

    Its fields are shared with ``ctx``: ``start_as_current_context`` copies it (cheaply)
    before making it current, so ``ctx`` itself is never changed. ``ctx`` unchanged when
    the fast path is off or its self-check failed.
    """
    if not CHEAP_CONTEXT_COPY.passed():
        return ctx
    return _as_cheap_copy_context(ctx or get_context())


class Task:
    """One unit of a transfer's work; subclasses implement ``_main``."""

    def __init__(
        self,
        transfer_coordinator: Any,
        main_kwargs: dict | None = None,
        pending_main_kwargs: dict | None = None,
        done_callbacks: list[Callable[[], Any]] | None = None,
        is_final: bool = False,
    ) -> None:
        self._transfer_coordinator = transfer_coordinator
        self._main_kwargs = {} if main_kwargs is None else main_kwargs
        self._pending_main_kwargs = (
            {} if pending_main_kwargs is None else pending_main_kwargs
        )
        self._done_callbacks = [] if done_callbacks is None else done_callbacks
        self._is_final = is_final

    def __repr__(self) -> str:
        shown = self._get_kwargs_with_params_to_include(self._main_kwargs, _REPR_PARAMS)
        return (
            f'{self.__class__.__name__}'
            f'(transfer_id={self._transfer_coordinator.transfer_id}, {shown})'
        )

    @property
    def transfer_id(self) -> Any:
        """The id of the transfer this task belongs to."""
        return self._transfer_coordinator.transfer_id

    @property
    def queue_slots(self) -> int:
        """How many queued items this task stands for: ``BoundedExecutor.submit``
        takes that many slots of its default semaphore. 1, except for a batch."""
        return 1

    def __call__(self, ctx: Any = None) -> Any:
        """Run the task under botocore context ``ctx``; errors go to the coordinator."""
        # Marked, so that a subscriber waiting on this very transfer fails fast.
        previous = set_current_transfer(self._transfer_coordinator)
        try:
            with start_as_current_context(_cheap_copy_context(ctx)):
                return self._run()
        finally:
            set_current_transfer(previous)

    def _run(self) -> Any:
        try:
            self._wait_on_dependent_futures()
            kwargs = self._get_all_main_kwargs()
            if not self._transfer_coordinator.done():
                return self._execute_main(kwargs)
        except Exception as e:
            self._log_and_set_exception(e)
        finally:
            for done_callback in self._done_callbacks:
                done_callback()
            if self._is_final:
                self._transfer_coordinator.announce_done()
        return None

    def _execute_main(self, kwargs: dict) -> Any:
        if logger.isEnabledFor(logging.DEBUG):
            shown = self._get_kwargs_with_params_to_exclude(kwargs, ('data',))
            logger.debug('Executing task %s with kwargs %s', self, shown)
        return_value = self._main(**kwargs)
        if self._is_final:
            self._transfer_coordinator.set_result(return_value)
        return return_value

    def _log_and_set_exception(self, exception: BaseException) -> None:
        logger.debug('Exception raised.', exc_info=True)
        self._transfer_coordinator.set_exception(exception)

    def _main(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError('_main() must be implemented')

    def _wait_on_dependent_futures(self) -> None:
        futures_to_wait_on = []
        for future in self._pending_main_kwargs.values():
            if isinstance(future, list):
                futures_to_wait_on.extend(future)
            else:
                futures_to_wait_on.append(future)
        self._wait_until_all_complete(futures_to_wait_on)

    def _wait_until_all_complete(self, futures: Iterable[Any]) -> None:
        # Deliberately not concurrent.futures.wait: these may be other future types.
        logger.debug('%s about to wait for the following futures %s', self, futures)
        for future in futures:
            try:
                logger.debug('%s about to wait for %s', self, future)
                future.result()
            except Exception:
                # Errors were recorded on the coordinator by the task that raised them.
                pass
        logger.debug('%s done waiting for dependent futures', self)

    def _get_all_main_kwargs(self) -> dict:
        kwargs = copy.copy(self._main_kwargs)
        for key, pending_value in self._pending_main_kwargs.items():
            if isinstance(pending_value, list):
                kwargs[key] = [future.result() for future in pending_value]
            else:
                kwargs[key] = pending_value.result()
        return kwargs

    def _get_kwargs_with_params_to_include(
        self, kwargs: dict, include: Iterable[str]
    ) -> dict:
        return {param: kwargs[param] for param in include if param in kwargs}

    def _get_kwargs_with_params_to_exclude(
        self, kwargs: dict, exclude: Iterable[str]
    ) -> dict:
        excluded = set(exclude)
        return {key: value for key, value in kwargs.items() if key not in excluded}


class SubmissionTask(Task):
    """The top-level task of a transfer: queues it, then submits its request tasks."""

    def _main(self, transfer_future: Any, **kwargs: Any) -> None:
        try:
            self._transfer_coordinator.set_status_to_queued()
            for on_queued in get_callbacks(transfer_future, 'queued'):
                on_queued()
            self._transfer_coordinator.set_status_to_running()
            self._submit(transfer_future=transfer_future, **kwargs)
        except BaseException as e:
            # Even Ctrl-C: the transfer must still end in a done state.
            self._log_and_set_exception(e)
            self._wait_for_all_submitted_futures_to_complete()
            self._transfer_coordinator.announce_done()

    def _submit(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError('_submit() must be implemented')

    def _submit_task(
        self,
        request_executor: Any,
        task_cls: type[Task],
        main_kwargs: dict[str, Any],
        **task_kwargs: Any,
    ) -> Any:
        """Submit a ``task_cls`` task of this transfer; return its future."""
        return self._transfer_coordinator.submit(
            request_executor,
            task_cls(
                transfer_coordinator=self._transfer_coordinator,
                main_kwargs=main_kwargs,
                **task_kwargs,
            ),
        )

    def _submit_completion(
        self,
        request_executor: Any,
        task_cls: type[Task],
        main_kwargs: dict[str, Any],
        create_future: Any,
        part_futures: list[Any],
    ) -> Any:
        """Submit a multipart transfer's final task, run with the upload id and
        every part's entry once their futures are done."""
        pending = {'upload_id': create_future, 'parts': part_futures}
        return self._submit_task(
            request_executor,
            task_cls,
            main_kwargs,
            pending_main_kwargs=pending,
            is_final=True,
        )

    def _wait_for_all_submitted_futures_to_complete(self) -> None:
        # Waited-on tasks may submit more; repeat until a wait adds nothing new.
        submitted = self._transfer_coordinator.associated_futures
        while submitted:
            self._wait_until_all_complete(submitted)
            still_associated = self._transfer_coordinator.associated_futures
            if still_associated == submitted:
                return
            submitted = still_associated


def request_kwargs(
    client: Any, call_args: Any, extra_args: dict, /, **kwargs: Any
) -> dict[str, Any]:
    """Main kwargs every request task of a transfer starts from: the client, the
    transfer's bucket and key, the extra args of that request, and ``kwargs``."""
    return {
        'client': client,
        'bucket': call_args.bucket,
        'key': call_args.key,
        'extra_args': extra_args,
        **kwargs,
    }


class CreateMultipartUploadTask(Task):
    """Starts a multipart upload and arranges for it to be aborted on failure."""

    def _main(self, client: Any, bucket: str, key: str, extra_args: dict) -> str:
        response = client.create_multipart_upload(Bucket=bucket, Key=key, **extra_args)
        upload_id = response['UploadId']
        self._transfer_coordinator.add_failure_cleanup(
            client.abort_multipart_upload,
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
        )
        return upload_id


# S3's answers to a conditional write that does not hold.
_CONDITION_FAILED_CODES = ('PreconditionFailed', 'ConditionalRequestConflict')


@contextlib.contextmanager
def conditional_write_errors(extra_args: dict) -> Any:
    """Turn S3's refusal of a conditional write into an error naming the condition."""
    conditions = {
        name: extra_args[name] for name in CONDITIONAL_WRITE_ARGS if name in extra_args
    }
    if not conditions:
        yield
        return
    try:
        yield
    except ClientError as error:
        code = error.response.get('Error', {}).get('Code')
        status = error.response.get('ResponseMetadata', {}).get('HTTPStatusCode')
        if code in _CONDITION_FAILED_CODES or status in (409, 412):
            raise ConditionalWriteFailedError(error, conditions) from error
        raise


class CompleteMultipartUploadTask(Task):
    """Completes a multipart upload from its parts, in part-number order."""

    def _main(
        self,
        client: Any,
        bucket: str,
        key: str,
        upload_id: str,
        parts: list[dict],
        extra_args: dict,
    ) -> None:
        with conditional_write_errors(extra_args):
            client.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={'Parts': parts},
                **extra_args,
            )
