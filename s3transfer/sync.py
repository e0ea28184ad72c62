"""Sync decisions as pure functions over two listings: what to send, what to delete,
and why. ``s3transfer.directory`` executes the resulting plans.

The rules are the AWS CLI's ``aws s3 sync``: a file is sent when the destination
lacks it, when the sizes differ, or when the times say so: for uploads and copies
when the source is newer; for downloads (where the AWS CLI gives the local file the
object's time) when the local file is newer, or with ``exact_timestamps`` when the
times differ at all. ``size_only`` compares sizes only. ``checksum`` (ours) compares
content: the caller supplies whether the content is the same where it could tell;
where it could not, size and time decide and the reason says so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from s3transfer.checksums import object_checksum_from_head

UPLOAD = 'upload'
DOWNLOAD = 'download'
COPY = 'copy'

SEND = 'send'
DELETE = 'delete'
SKIP = 'skip'

NO_CHECKSUM = 'S3 has no comparable checksum: compared size and time'


@dataclass(frozen=True)
class Entry:
    """One file or object of a listing: its relative name, size and time (epoch s)."""

    name: str
    size: int
    mtime: float


@dataclass(frozen=True)
class Rules:
    """How to compare (the flags of ``sync``)."""

    direction: str = UPLOAD
    size_only: bool = False
    exact_timestamps: bool = False
    checksum: bool = False
    delete: bool = False


@dataclass(frozen=True)
class Decision:
    """What to do with one name, and why (for ``--dryrun`` and JSON output)."""

    name: str
    action: str
    reason: str


def compare(
    source: Entry, destination: Entry, rules: Rules, same_content: bool | None = None
) -> Decision:
    """Decide whether ``source`` must be sent over an existing ``destination``.

    ``same_content`` is the result of a content comparison (``checksum`` rule), or
    ``None`` when none was possible.
    """
    name = source.name
    if source.size != destination.size:
        return Decision(name, SEND, 'size differs')
    if rules.checksum and same_content is not None:
        if same_content:
            return Decision(name, SKIP, 'same content')
        return Decision(name, SEND, 'content differs')
    fallback = rules.checksum  # content could not be compared
    if rules.size_only:
        return Decision(name, SKIP, 'same size')
    send, reason = _compare_times(source.mtime, destination.mtime, rules)
    if fallback:
        reason = f'{reason} ({NO_CHECKSUM})'
    return Decision(name, SEND if send else SKIP, reason)


def _compare_times(source: float, destination: float, rules: Rules) -> tuple[bool, str]:
    # S3 keeps whole seconds: a file written in the second of its upload is not newer.
    source, destination = math.floor(source), math.floor(destination)
    if rules.direction == DOWNLOAD:
        if rules.exact_timestamps:
            if source != destination:
                return True, 'timestamps differ'
            return False, 'same size and time'
        if destination > source:
            return True, 'local file is newer'
        return False, 'same size, local file not newer'
    if source > destination:
        return True, 'source is newer'
    return False, 'same size, source not newer'


def plan_sync(
    source: Iterable[Entry],
    destination: Iterable[Entry],
    rules: Rules,
    same_content: Mapping[str, bool | None] | None = None,
) -> list[Decision]:
    """One decision per name of either listing, in name order.

    Names only in the source are sent; names only in the destination are deleted
    with ``rules.delete`` and otherwise left alone (no decision).
    """
    sources = {entry.name: entry for entry in source}
    destinations = {entry.name: entry for entry in destination}
    contents = same_content or {}
    decisions = []
    for name in sorted(sources.keys() | destinations.keys()):
        src, dst = sources.get(name), destinations.get(name)
        if src is None:
            if rules.delete:
                decisions.append(Decision(name, DELETE, 'not in the source'))
        elif dst is None:
            decisions.append(Decision(name, SEND, 'not in the destination'))
        else:
            decisions.append(compare(src, dst, rules, contents.get(name)))
    return decisions


def needs_content_check(source: Entry, destination: Entry, rules: Rules) -> bool:
    """Whether ``compare`` would use a content comparison for this pair."""
    return rules.checksum and source.size == destination.size


# -- What S3 stores that local content can be compared with ---------------------------

CRC = 'crc'
MD5 = 'md5'
_MD5_ETAG = re.compile(r'^"?([0-9a-fA-F]{32})"?$')


@dataclass(frozen=True)
class ContentReference:
    """A stored digest of an object's whole content: ``kind`` (crc/md5), algorithm
    name (``CRC32``… or ``MD5``) and the value as S3 reports it (base64 / hex)."""

    kind: str
    algorithm: str
    value: str


def content_reference(head: Mapping[str, Any]) -> ContentReference | None:
    """What a HeadObject response (``ChecksumMode=ENABLED``) offers to compare with.

    A full-object CRC first; else a single-part ETag that is the MD5 of the content
    (not with SSE-KMS or SSE-C, where it is not); else ``None``.
    """
    stored = object_checksum_from_head(head)
    if stored is not None and not stored.composite:
        return ContentReference(CRC, stored.algorithm.name, stored.value)
    encrypted = head.get('ServerSideEncryption', '').startswith('aws:kms') or bool(
        head.get('SSECustomerAlgorithm')
    )
    match = _MD5_ETAG.match(head.get('ETag') or '')
    if match and not encrypted:
        return ContentReference(MD5, 'MD5', match.group(1).lower())
    return None


def same_reference(
    left: ContentReference | None, right: ContentReference | None
) -> bool | None:
    """Whether two objects' references prove equal (or different) content.

    ``None`` when they are not comparable (missing, or of different algorithms).
    """
    if left is None or right is None or left.algorithm != right.algorithm:
        return None
    return left.value == right.value
