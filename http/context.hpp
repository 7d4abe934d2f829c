#pragma once
// What every connection of one worker shares: configuration, pools, caches, the clock.
// The worker owns it; connections get it passed into every call and keep no pointer to it,
// which keeps an idle connection small.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "http/body_stream.hpp"
#include "core/buffer_pool.hpp"
#include "core/clock.hpp"
#include "core/fd.hpp"
#include "core/log.hpp"
#include "core/timer_wheel.hpp"
#include "http/event_target.hpp"
#include "http/file_cache.hpp"
#include "http/mime.hpp"
#include "http/parser.hpp"
#include "http/routing/regex.hpp"

namespace portico::core {
class SharedStats;
}

// OpenSSL's own spelling (openssl/types.h), so this header needs none of libssl's.
typedef struct ssl_ctx_st SSL_CTX;

namespace portico::http {

class Connection;
class HeaderWriter;
class ProxyService;
class Negotiator;
struct Exchange;
struct Reply;
struct Context;

/// Answers one request (see http/exchange.hpp).
using Handler = void (*)(Context& ctx, const Exchange& ex, HeaderWriter& hw, Reply& reply);

/// What answers a location, chosen when the worker starts (the proxy joins later).
enum class HandlerKind : uint8_t {
    kStatic,  ///< files under a root or alias, with try_files and index
    kReturn,  ///< `return`: a redirect or a fixed text
    kProxy,   ///< `proxy_pass`: the upstream answers (ctx.proxy)
};

/// A location (or a server's own settings, for requests no location matches) as a worker uses
/// it: its settings, its handler, and the directory its files are opened beneath.
struct RouteRuntime {
    const conf::RouteSettings* settings = nullptr;
    HandlerKind handler = HandlerKind::kStatic;
    int root_fd = -1;           ///< O_PATH handle on the root or alias (borrowed); -1: it did not exist
    std::string real_root;      ///< its path with symlinks resolved: the file cache keys by it
    std::string alias_prefix;   ///< with an alias: the location's prefix, which the alias replaces
    bool alias = false;
    uint32_t match_prefix = 0;  ///< a prefix location's prefix length (proxy_pass replaces it)
};

/// A virtual server as a worker uses it: its config and an open handle on its root.
struct VirtualServer {
    const conf::ServerConfig* config = nullptr;
    core::UniqueFd root_fd;  ///< O_PATH directory handle; files are opened beneath it
    std::string real_root;   ///< the root with symlinks resolved (what /proc/self/fd shows)
    /// No locations and no routing setting but root, index and dotfiles: requests take the
    /// straight path (root, index, the dotfile rule), decided once when the worker starts.
    bool plain = true;
    bool dotfiles_allowed = false;        ///< plain servers: dotfiles = "allow" was inherited
    RouteRuntime own;                     ///< the server's own settings (routed servers)
    std::vector<RouteRuntime> locations;  ///< indexed like config->locations
};

/// The `listen` address a listener serves, as $scheme and $server_port need it.
struct ListenerVars {
    std::string port;  ///< "8080"
    bool ssl = false;
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
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
    ~Context() { free_retired(); }

    /// Takes a detached stream (BodyStream::detach) to delete once the event that let it go is
    /// over: the worker calls free_retired() with its closed connections, after every batch, and
    /// in close_all() before its proxy runtime goes (a retired exchange's destructor uses it).
    void retire(std::unique_ptr<BodyStream> stream) noexcept {
        BodyStream* s = stream.release();
        s->retired_next_ = retired_;
        retired_ = s;
    }
    void free_retired() noexcept {
        while (BodyStream* s = retired_) {
            retired_ = s->retired_next_;
            delete s;
        }
    }

    const conf::Config& config;
    core::TimerWheel& wheel;
    core::BufferPool& pool;
    const MimeTypes& mime;
    FileCache& files;
    core::AccessLog& access_log;
    core::DateCache date;
    ParserLimits limits;
    std::vector<VirtualServer> servers;
    /// Directories that locations' roots and aliases name, each opened once (RouteRuntime::root_fd
    /// borrows them); a server's own root stays in its VirtualServer.
    std::vector<core::UniqueFd> location_roots;
    std::vector<ListenerVars> listener_vars;  ///< by listener index, like listener_servers
    /// For each listener (by index), the servers bound to its address; the first is the default.
    std::vector<std::vector<uint16_t>> listener_servers;
    /// What answers requests when set; null means handle_static (the router), the only one a
    /// worker uses. Tests of the connection put their own handlers here.
    Handler handler = nullptr;
    /// Registers sockets other than client connections (upstreams) with the worker's loop.
    Poller* poller = nullptr;
    /// Answers the locations that proxy (http/proxy/); null when no location does.
    ProxyService* proxy = nullptr;
    /// For each listener (by index), the TLS context its connections start their handshake from
    /// (the SNI selector's initial one), or nullptr for a plain listener. Owned by the worker.
    std::vector<SSL_CTX*> listener_tls;
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
    // Routed requests only (http/router.cpp): what one request's passes through the locations use.
    routing::MatchData match_data;  ///< regex captures of the location that matched
    std::string uri_scratch;        ///< the URI an internal redirect goes to
    std::string args_scratch;       ///< its query, when the redirect named one
    std::string file_scratch;       ///< the path looked up beneath a root (an alias's remainder)
    std::string value_scratch;      ///< an expanded template: a Location, a `return` text
    std::string host_scratch;       ///< $host, lower-cased
    /// The fields of the last error build_error wrote (a 416's Content-Range), for a router that
    /// answers the status with an error page instead.
    std::string error_fields;
    std::string status_body;           ///< the status endpoint's last document
    /// Content negotiation and the compressed cache (http/negotiator.hpp): made on the first
    /// request a content policy applies to. shared_ptr so this header needs no complete type.
    std::shared_ptr<Negotiator> negotiator;

private:
    BodyStream* retired_ = nullptr;  // streams detached this turn, linked through retired_next_
};

}  // namespace portico::http
