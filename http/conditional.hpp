#pragma once
// The request fields that make a GET conditional or partial (RFC 9110 13 and 14): Range,
// If-Match, If-Unmodified-Since, If-None-Match and If-Range. Pure functions of the field value and the file's validators, so
// that they can be tested and fuzzed without a file, a cache or a connection.

#include <cstdint>
#include <ctime>
#include <string_view>

#include "http/parser.hpp"

namespace portico::http {

/// A single byte range resolved against `size`: 1 = [first, last], 0 = ignore the header (serve
/// 200), -1 = unsatisfiable (416). `first` and `last` are written only when it returns 1.
int parse_range(std::string_view value, uint64_t size, uint64_t& first, uint64_t& last) noexcept;

/// True if an If-None-Match value matches `etag` (weak comparison; "*" matches).
bool etag_list_matches(std::string_view list, std::string_view etag) noexcept;

/// RFC 9110 13.2.2, its first two steps: false when If-Match (strong comparison: a weak tag
/// never matches; "*" matches any current file) or, when there is no If-Match, If-Unmodified-
/// Since (a valid date; the file changed after it) says the client's copy is not this one. The
/// answer is then 412, before If-None-Match or a Range is looked at: a download resumed with
/// If-Match must not splice two versions. Empty values are absent fields.
bool preconditions_hold(std::string_view if_match, std::string_view if_unmodified_since, std::string_view etag,
                        time_t mtime) noexcept;

/// The same for a request's fields (in `head`): two compares when it sent neither.
inline bool preconditions_hold(const Request& req, const char* head, std::string_view etag, time_t mtime) noexcept {
    return (req.if_match.empty() && req.if_unmodified_since.empty()) ||
           preconditions_hold(req.if_match.in(head), req.if_unmodified_since.in(head), etag, mtime);
}

/// True if an If-Range value still names the file: an entity-tag equal to `etag` (a weak one
/// never matches it, being different text), or an HTTP-date equal to `mtime`.
bool if_range_matches(std::string_view value, std::string_view etag, time_t mtime) noexcept;

}  // namespace portico::http
