#pragma once
// Turning a request path into a safe path under a document root.

#include <cstddef>
#include <string_view>

namespace portico::http {

/// Percent-decodes `path` (the path part of an origin-form target: starts with '/', no query,
/// no fragment) and removes dot-segments (RFC 3986 5.2.4) and repeated slashes, writing the
/// result to out[0, cap). The result always starts with '/', never contains "." or ".."
/// segments, and keeps a trailing slash if the input had one (after dot removal: "/a/.." gives
/// "/"). Returns the length written, or 0 when the path must be refused with 400:
///   - it does not start with '/';
///   - a bad escape ("%G1", "%4" at the end);
///   - an encoded NUL or any decoded control byte (< 0x20, 0x7f);
///   - an encoded slash "%2f"/"%2F" or backslash "%5c" (they would change the segment structure);
///   - ".." that would climb above the root;
///   - the result does not fit in cap.
/// No allocation. `out` may not alias `path`.
size_t normalize_path(std::string_view path, char* out, size_t cap) noexcept;

/// The same, and sets `dot_segment` when a segment written to `out` started with '.' (".git",
/// ".env"; decoded, so "%2egit" counts). A hint for the dotfile rule, noted in the same pass so
/// that requests without one pay a compare per segment and no second scan; a segment that a later
/// ".." removed may have set it, so routing::is_hidden_path() decides.
size_t normalize_path(std::string_view path, char* out, size_t cap, bool& dot_segment) noexcept;

}  // namespace portico::http
