#pragma once
// What a handler is given for one request, and what it gives back. A handler (static files, the
// status page, `return`, later the proxy) fills a response head and a Reply describing the body;
// it never touches the socket: the connection owns all I/O, so TLS, chunking and compression
// apply to every handler alike.

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/socket.hpp"
#include "http/body_stream.hpp"
#include "http/parser.hpp"

namespace portico::conf {
struct RouteSettings;
}

namespace portico::http {

struct CachedFile;

/// One request as a handler sees it. Everything is borrowed for the duration of the call.
struct Exchange {
    const Request& req;
    std::string_view head;          ///< the whole request head; req's spans point into it
    uint16_t listener = 0;          ///< index of the listener (address) it arrived on
    const core::PeerAddress& peer;  ///< the client, as accept4() reported it
    /// The server (index into Context::servers) the client named in the TLS handshake (SNI), or
    /// -1 (plain HTTP, or no name sent): a Host that names another server is refused (421).
    int32_t named_server = -1;
};

/// A response body: bytes in memory, then (or instead) a range of a cached file for sendfile, or a
/// stream. A streamed body's framing is the connection's: the handler writes no Content-Length
/// for a stream of unknown length, and the connection adds Transfer-Encoding: chunked (HTTP/1.1)
/// or ends the connection with the body (HTTP/1.0).
struct Reply {
    uint16_t status = 200;
    CachedFile* file = nullptr;   ///< borrowed from the FileCache; ref() it to keep it past this call
    std::string_view mem;         ///< body bytes in memory (a small file, an error page)
    uint64_t file_offset = 0;     ///< sendfile range, when the body is not in memory
    uint64_t file_length = 0;
    bool mem_is_scratch = false;  ///< mem lives in per-worker scratch: copy what cannot go out now
    std::unique_ptr<BodyStream> stream;     ///< the body after mem, produced piece by piece
    uint64_t stream_length = kUnknownLength; ///< the stream's length when the head states it
    /// Takes the request body as it arrives (null: the connection discards it by its framing).
    /// Not owned: it lives in `stream`, which a reader needs.
    BodyReader* body_reader = nullptr;
    /// The head is not in the HeaderWriter yet: `stream` writes it when it knows it (see
    /// BodyStream::head); the handler wrote nothing.
    bool head_from_stream = false;
    /// With head_from_stream: the location whose add_headers and expires the connection adds to
    /// the stream's head, once its status says they apply (the router sets it; null: none).
    const conf::RouteSettings* route_headers = nullptr;
    /// The bytes in memory and in the file range (a stream counts what it sends as it goes).
    [[nodiscard]] uint64_t body_length() const noexcept { return mem.size() + file_length; }
};

}  // namespace portico::http
