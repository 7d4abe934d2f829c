#pragma once
// Precompressed siblings (file.gz, file.br beside file): when one may be served for its source.

#include <sys/stat.h>

namespace portico::http::content {

/// Whether `sibling` may stand for `source`: a regular file whose mtime is not older than the
/// source's (issue 9 §1: a .gz older than its source is stale, ignored and logged by the caller).
/// Its ETag should be CompressedCache::derive_etag() of the sibling's own file ETag, so a
/// sibling regenerated alone still gets a new validator.
bool precompressed_fresh(const struct stat& source, const struct stat& sibling) noexcept;

}  // namespace portico::http::content
