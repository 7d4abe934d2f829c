#pragma once
// Static files: from a parsed request to a response head and a description of its body.

#include <cstdint>
#include <string_view>

#include "http/context.hpp"
#include "http/header_writer.hpp"
#include "http/parser.hpp"

namespace portico::http {

/// A response body: bytes in memory, then (or instead) a range of a cached file for sendfile.
struct Reply {
    uint16_t status = 200;
    CachedFile* file = nullptr;   ///< borrowed from the FileCache; ref() it to keep it past this call
    std::string_view mem;         ///< body bytes in memory (a small file, an error page)
    uint64_t file_offset = 0;     ///< sendfile range, when the body is not in memory
    uint64_t file_length = 0;
    bool mem_is_scratch = false;  ///< mem lives in per-worker scratch: copy what cannot go out now
    [[nodiscard]] uint64_t body_length() const noexcept { return mem.size() + file_length; }
};

/// Answers `req`, whose whole head is `head`, received on listener `listener`. Writes the status
/// line and every header field except Connection (and the blank line) into `hw`, and fills `reply`.
void handle_static(Context& ctx, const Request& req, std::string_view head, uint16_t listener, HeaderWriter& hw,
                   Reply& reply);

/// An error response with its small HTML page (no body for HEAD). `extra` is inserted as is
/// (whole "Name: value\r\n" lines, or empty).
void build_error(Context& ctx, uint16_t status, bool head_only, std::string_view extra, HeaderWriter& hw,
                 Reply& reply);

}  // namespace portico::http
