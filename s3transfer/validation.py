"""Checks of a transfer call's arguments before any request, shared by every engine.

The manager, the CRT manager, the process pool and the legacy ``S3Transfer`` all refuse
unknown ``extra_args`` keys with the same message, and the managers refuse bucket values
their requests cannot serve (S3 Object Lambda access points).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

# Bucket values managed transfers cannot use: Object Lambda access points do not
# support the requests they make (ranged GETs, multipart uploads).
UNSUPPORTED_BUCKET_PATTERNS: dict[str, re.Pattern[str]] = {
    'S3 Object Lambda': re.compile(
        r'^arn:(aws).*:s3-object-lambda:[a-z\-0-9]+:[0-9]{12}:'
        r'accesspoint[/:][a-zA-Z0-9\-]{1,63}'
    ),
}


def require_extra_args_mapping(extra_args: object) -> None:
    """``TypeError`` for ``extra_args`` that are not a mapping (e.g. ``['ACL']``)."""
    if not isinstance(extra_args, Mapping):
        raise TypeError(
            "extra_args must be a dict of request parameters (e.g. {'ACL': "
            f"'private'}}), not {type(extra_args).__name__}: {extra_args!r}"
        )


def validate_names(bucket: object, key: object) -> None:
    """``TypeError`` for a bucket or key that is not a string (e.g. ``None``)."""
    for name, value in (('bucket', bucket), ('key', key)):
        if not isinstance(value, str):
            raise TypeError(
                f'{name} must be a string, not {type(value).__name__}: {value!r}'
            )


def validate_extra_args(actual: Iterable[str], allowed: Sequence[str]) -> None:
    """``ValueError`` naming the first key of ``actual`` that is not in ``allowed``.

    ``TypeError`` first when ``actual`` is not a mapping.
    """
    require_extra_args_mapping(actual)
    for kwarg in actual:
        if kwarg not in allowed:
            raise ValueError(
                f"Invalid extra_args key '{kwarg}', must be one of: "
                f"{', '.join(allowed)}"
            )


def validate_bucket_supported(
    bucket: str | None,
    patterns: Mapping[str, re.Pattern[str]] = UNSUPPORTED_BUCKET_PATTERNS,
) -> None:
    """``ValueError`` when ``bucket`` names a resource managed transfers cannot use."""
    for resource, pattern in patterns.items():
        if pattern.match(bucket or ''):
            raise ValueError(
                f'TransferManager methods do not support {resource} '
                f'resource. Use direct client calls instead.'
            )
