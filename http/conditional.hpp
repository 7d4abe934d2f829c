#pragma once
// The request fields that make a GET conditional or partial (RFC 9110 13 and 14): Range,
// If-None-Match and If-Range. Pure functions of the field value and the file's validators, so
// that they can be tested and fuzzed without a file, a cache or a connection.

#include <cstdint>
#include <ctime>
#include <string_view>

namespace portico::http {

/// A single byte range resolved against `size`: 1 = [first, last], 0 = ignore the header (serve
/// 200), -1 = unsatisfiable (416). `first` and `last` are written only when it returns 1.
int parse_range(std::string_view value, uint64_t size, uint64_t& first, uint64_t& last) noexcept;

/// True if an If-None-Match value matches `etag` (weak comparison; "*" matches).
bool etag_list_matches(std::string_view list, std::string_view etag) noexcept;

/// True if an If-Range value still names the file: an entity-tag equal to `etag` (a weak one
/// never matches it, being different text), or an HTTP-date equal to `mtime`.
bool if_range_matches(std::string_view value, std::string_view etag, time_t mtime) noexcept;

}  // namespace portico::http
