"""Memory bound of non-seekable uploads, measured as peak RSS in a child process.

Runs with the default glibc allocator settings: in-memory parts must be released
to the OS (or reused) as they complete, not left fragmented in malloc arenas.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

MB = 1024 * 1024
CHILD = Path(__file__).with_name('upload_rss_child.py')
TOTAL = 256 * MB
# Budget beyond the configured parts, in chunks: botocore's 1 MiB body reads that
# glibc keeps per request thread (the child uses 4 threads), interpreter growth and
# margin; a read()-only stream also returns fresh bytes for the part being read.
SLACK_CHUNKS = {'readinto': 3, 'read': 4}


def run_child(max_in_memory_upload_chunks, source, request_threads=4):
    completed = subprocess.run(
        [
            sys.executable,
            str(CHILD),
            str(TOTAL),
            str(max_in_memory_upload_chunks),
            source,
            str(request_threads),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(completed.stdout)


def growth_against_budget(report, source, chunks=10):
    growth = report['peak_rss'] - report['start_rss']
    budget = (chunks + SLACK_CHUNKS[source]) * report['chunksize']
    message = f'peak RSS grew by {growth / MB:.1f} MiB, budget {budget / MB:.0f} MiB'
    return growth, budget, message


@pytest.mark.parametrize('source', ['read', 'readinto'])
def test_non_seekable_upload_buffers_at_most_the_configured_chunks(source):
    report = run_child(10, source)
    chunksize = report['chunksize']
    assert report['max_in_memory_upload_chunks'] == 10
    assert report['bytes_received'] == TOTAL
    parts = TOTAL // chunksize
    assert report['operations'] == {
        'CreateMultipartUpload': 1,
        'UploadPart': parts,
        'CompleteMultipartUpload': 1,
    }
    # The baseline is genuine: no peak inherited from the (large) test process.
    assert report['start_maxrss'] - report['start_rss'] < chunksize
    growth, budget, message = growth_against_budget(report, source)
    assert growth < budget, message


@pytest.mark.parametrize('source', ['read', 'readinto'])
def test_the_measurement_sees_unbounded_buffering(source):
    # Same upload with a bound too large to matter: the reader outruns the senders
    # and the growth clearly exceeds the budget checked above.
    report = run_child(1000, source)
    growth, budget, message = growth_against_budget(report, source)
    assert growth > budget, message
