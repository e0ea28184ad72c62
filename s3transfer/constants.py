"""Sizes, allowed extra-argument lists and user-agent strings."""

import s3transfer

KB = 1024
MB = KB * KB
GB = MB * KB

# SSE-C: the customer's key and its algorithm, on every request that touches the data.
SSE_C_ARGS = ['SSECustomerAlgorithm', 'SSECustomerKey', 'SSECustomerKeyMD5']

# The HTTP headers S3 stores with an object: allowed on uploads, kept by copies.
CONTENT_HEADER_ARGS = [
    'CacheControl',
    'ContentDisposition',
    'ContentEncoding',
    'ContentLanguage',
    'ContentType',
    'Expires',
]

# The caller's args that every part and the completion of a multipart upload (or
# copy) carry: the target's SSE-C key, requester pays and the expected owner.
MULTIPART_PART_ARGS = [
    'SSECustomerKey',
    'SSECustomerAlgorithm',
    'SSECustomerKeyMD5',
    'RequestPayer',
    'ExpectedBucketOwner',
]

ALLOWED_DOWNLOAD_ARGS = [
    'ChecksumMode',
    'VersionId',
    *SSE_C_ARGS,
    'RequestPayer',
    'ExpectedBucketOwner',
]

FULL_OBJECT_CHECKSUM_ARGS = [
    'ChecksumCRC32',
    'ChecksumCRC32C',
    'ChecksumCRC64NVME',
    'ChecksumMD5',
    'ChecksumSHA1',
    'ChecksumSHA256',
    'ChecksumSHA512',
    'ChecksumXXHASH3',
    'ChecksumXXHASH64',
    'ChecksumXXHASH128',
]

# Conditional writes (docs/integrity.md): accepted in upload extra_args, sent only on
# PutObject and CompleteMultipartUpload, where S3 evaluates them.
CONDITIONAL_WRITE_ARGS = ['IfMatch', 'IfNoneMatch']

USER_AGENT = f's3transfer/{s3transfer.__version__}'
PROCESS_USER_AGENT = f'{USER_AGENT} processpool'
