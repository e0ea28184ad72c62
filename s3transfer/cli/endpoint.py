"""Where requests go: the S3 client of a run, and the embedded ``--local`` server."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import Any

from s3transfer.cli.common import UsageError
from s3transfer.cli.timestamps import use_fast_timestamps
from s3transfer.manager import TransferConfig

_FAKE_CREDENTIALS = {'aws_access_key_id': 'testing', 'aws_secret_access_key': 'testing'}
_NO_PROFILE = {'profile': (None, None, None, None)}


@contextlib.contextmanager
def endpoint(args: argparse.Namespace) -> Iterator[str | None]:
    """Yield the endpoint URL; with --local, one of an embedded server."""
    if not args.local:
        yield args.endpoint_url
        return
    with local_server() as url:
        yield url


@contextlib.contextmanager
def local_server() -> Iterator[str]:
    """An embedded S3 server (``localbucket``) on 127.0.0.1, storing in a temporary
    folder that is removed afterwards, with its URL."""
    import shutil
    import tempfile
    import threading
    from http.server import ThreadingHTTPServer
    from pathlib import Path

    try:
        import localbucket
    except ImportError:
        raise UsageError(
            "--local needs the 'local' extra: pip install 's3transfer[local]'"
        )
    root = tempfile.mkdtemp(prefix='s3transfer-local-')
    handler = type(
        'LocalHandler', (localbucket.S3Handler,), {'data_root': Path(root).resolve()}
    )
    server = ThreadingHTTPServer(('127.0.0.1', 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{server.server_port}'
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def make_client(
    args: argparse.Namespace, endpoint_url: str | None, config: TransferConfig
) -> Any:
    """A botocore S3 client for the run (fake credentials with --local)."""
    import botocore.session
    from botocore.config import Config

    client_config = Config(
        max_pool_connections=max(10, config.max_request_concurrency),
        s3={'addressing_style': 'path'} if args.local else None,
    )
    if args.local:
        # Ignore AWS_PROFILE: the embedded endpoint needs no profile, even a broken one.
        session = botocore.session.Session(session_vars=_NO_PROFILE)
        use_fast_timestamps(session)
        return session.create_client(
            's3',
            region_name=args.region or 'us-east-1',
            endpoint_url=endpoint_url,
            config=client_config,
            **_FAKE_CREDENTIALS,
        )
    session = botocore.session.Session(profile=args.profile)
    use_fast_timestamps(session)
    return session.create_client(
        's3', region_name=args.region, endpoint_url=endpoint_url, config=client_config
    )
