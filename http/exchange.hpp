#pragma once
// What a handler is given for one request, and what it gives back. A handler (static files, the
// status page, `return`, later the proxy) fills a response head and a Reply describing the body;
// it never touches the socket: the connection owns all I/O, so TLS, chunking and compression
// apply to every handler alike.

#include <cstdint>
#include <string_view>

#include "core/socket.hpp"
#include "http/parser.hpp"

namespace portico::http {

struct CachedFile;

/// One request as a handler sees it. Everything is borrowed for the duration of the call.
struct Exchange {
    const Request& req;
    std::string_view head;          ///< the whole request head; req's spans point into it
    uint16_t listener = 0;          ///< index of the listener (address) it arrived on
    const core::PeerAddress& peer;  ///< the client, as accept4() reported it
};

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

}  // namespace portico::http
