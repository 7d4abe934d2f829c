#pragma once
// What every connection of one worker shares: configuration, pools, caches, the clock.
// The worker owns it; connections get it passed into every call and keep no pointer to it,
// which keeps an idle connection small.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "core/buffer_pool.hpp"
#include "core/clock.hpp"
#include "core/fd.hpp"
#include "core/log.hpp"
#include "core/timer_wheel.hpp"
#include "http/file_cache.hpp"
#include "http/mime.hpp"
#include "http/parser.hpp"

namespace portico::core {
class SharedStats;
}

namespace portico::http {

class Connection;
class HeaderWriter;
class Negotiator;
struct Exchange;
struct Reply;
struct Context;

/// Answers one request (see http/exchange.hpp).
using Handler = void (*)(Context& ctx, const Exchange& ex, HeaderWriter& hw, Reply& reply);

/// A virtual server as a worker uses it: its config and an open handle on its root.
struct VirtualServer {
    const conf::ServerConfig* config = nullptr;
    core::UniqueFd root_fd;  ///< O_PATH directory handle; files are opened beneath it
    std::string real_root;   ///< the root with symlinks resolved (what /proc/self/fd shows)
};

/// Per-worker counters (the process model moves them to shared memory).
struct Counters {
    uint64_t accepted = 0;
    uint64_t requests = 0;
    uint64_t bytes_out = 0;
    uint64_t status_4xx = 0;
    uint64_t status_5xx = 0;
};

/// Intrusive list of idle keep-alive connections, oldest first, for shedding under fd pressure.
struct IdleList {
    Connection* head = nullptr;
    Connection* tail = nullptr;
    size_t size = 0;
};

struct Context {
    Context(const conf::Config& cfg, core::TimerWheel& w, core::BufferPool& p, const MimeTypes& m, FileCache& f,
            core::AccessLog& log)
        : config(cfg), wheel(w), pool(p), mime(m), files(f), access_log(log) {}

    const conf::Config& config;
    core::TimerWheel& wheel;
    core::BufferPool& pool;
    const MimeTypes& mime;
    FileCache& files;
    core::AccessLog& access_log;
    core::DateCache date;
    ParserLimits limits;
    std::vector<VirtualServer> servers;
    /// For each listener (by index), the servers bound to its address; the first is the default.
    std::vector<std::vector<uint16_t>> listener_servers;
    /// What answers requests when set; null means handle_static (the router), the only one a
    /// worker uses. Tests of the connection put their own handlers here.
    Handler handler = nullptr;
    uint64_t now_ms = 0;       ///< cached once per loop iteration
    bool draining = false;     ///< graceful stop: finish what is in flight, keep nothing alive
    Counters counters;
    const core::SharedStats* stats = nullptr;  ///< all workers' records, for the status endpoint
    IdleList idle;
    std::vector<Connection*> closing;  ///< closed this iteration; the worker frees them at its end
    /// Connections that yielded mid-response with the socket still writable (see
    /// Connection::on_resume); the worker resumes them after each epoll batch, and polls without
    /// sleeping while any wait. A connection removes itself when it closes.
    std::vector<Connection*> resume;
    std::vector<char> header_scratch;  ///< where response headers are built before the first write
    std::string path_scratch;          ///< normalised request path
    std::string status_body;           ///< the status endpoint's last document
    /// Content negotiation and the compressed cache (http/negotiator.hpp): made on the first
    /// request a content policy applies to. shared_ptr so this header needs no complete type.
    std::shared_ptr<Negotiator> negotiator;
};

}  // namespace portico::http
