"""``python -m s3transfer``: the same command line as the ``s3transfer`` script."""

from s3transfer.cli import main

if __name__ == '__main__':
    raise SystemExit(main())
