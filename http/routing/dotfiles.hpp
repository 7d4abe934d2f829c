#pragma once
// The dotfile rule: a path with a segment that starts with '.' (".git/config", "/.env") is refused,
// unless it lies under /.well-known/ (RFC 8615: ACME challenges and the like live there).

#include <string_view>

namespace portico::http::routing {

/// True when the normalised `path` (no "." or ".." segments left) must be refused with 404.
/// Allocation-free; one pass over the path.
bool is_hidden_path(std::string_view path) noexcept;

}  // namespace portico::http::routing
