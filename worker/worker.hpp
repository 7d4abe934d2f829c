#pragma once
// One worker: its listeners, one edge-triggered epoll loop, its connections and timing wheel.
// It knows nothing of how it was started; the master (or main, when master_process is off)
// constructs it and calls run().

#include <cstdint>
#include <memory>
#include <vector>

#include "conf/config.hpp"
#include "core/buffer_pool.hpp"
#include "core/fd.hpp"
#include "core/log.hpp"
#include "core/timer_wheel.hpp"
#include "http/connection.hpp"
#include "http/context.hpp"
#include "http/file_cache.hpp"
#include "http/mime.hpp"
#include "http/proxy/proxy_runtime.hpp"
#include "worker/tls_contexts.hpp"

namespace portico::core {
class SharedStats;
struct WorkerRecord;
}  // namespace portico::core

namespace portico::core::tls {
class TicketKeyRing;
}

namespace portico::worker {

/// A bound, listening socket and the address it serves.
struct Listener {
    core::UniqueFd fd;  ///< invalid once closed (indices stay put: connections refer to them)
    conf::ListenAddress address;
    int32_t lent_slot = -1;  ///< the slot that lent it while it had no worker; -1 if it is ours
};

struct WorkerSetup {
    /// The sockets this worker accepts from. Under a master these are duplicates of sockets the
    /// master keeps, so closing them here never drops a queued connection.
    std::vector<Listener> listeners;
    core::SharedStats* stats = nullptr;    ///< every worker's record, for the status endpoint
    core::WorkerRecord* record = nullptr;  ///< this worker's own record (in stats)
    /// The worker's end of its channel to the master (not owned), or -1 without a master. The
    /// master sends listeners to adopt over it.
    int control_fd = -1;
    /// The session-ticket keys every worker shares (the master's ring, mapped before the fork),
    /// or nullptr for OpenSSL's per-process keys. Not owned; outlives the worker.
    core::tls::TicketKeyRing* tickets = nullptr;
};

/// One listener per distinct address of `config`, for running without a master. Throws
/// std::runtime_error naming the call and the address that failed.
std::vector<Listener> open_listeners(const conf::Config& config);

class Worker final : private http::Poller {
public:
    /// Prepares everything that can fail at start-up: mime types, document roots, the access
    /// log, the TLS contexts (certificates), epoll and the signalfd, and registers the
    /// listeners. Throws std::runtime_error.
    Worker(const conf::Config& config, WorkerSetup setup);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    /// Serves until SIGTERM/SIGINT (fast stop) or SIGQUIT (graceful stop, bounded by
    /// worker_shutdown_timeout). SIGUSR1 reopens the logs. Returns the process exit code.
    int run();

    /// Graceful stop: stop accepting, close idle connections, let in-flight responses finish
    /// (with Connection: close); run() returns when none is left or the timeout cuts them.
    void begin_graceful_stop();

private:
    void open_roots();
    void warn_if_descriptors_short() const;
    void register_listeners();
    void register_listener(size_t index);
    void on_control();
    void adopt_listener(core::UniqueFd fd, const conf::ListenAddress& address, uint32_t slot);
    void give_back_listeners(uint32_t slot);
    void stop_accepting();
    void close_drained_listeners();
    bool take_queued(uint16_t index);
    void dispatch_other(uint64_t tag) noexcept;
    void publish_counters();
    void loop_once();
    void on_signal();
    void accept_from(uint16_t index);
    bool open_connection(int fd, uint16_t index, const core::PeerAddress& peer);
    bool shed_oldest_idle();
    void pause_accepting(int err);
    void resume_accepting();
    http::Connection* allocate(int fd);
    void resume_yielded();
    void free_closed();
    void close_all();
    int next_timeout() const;
    void housekeeping();
    bool watch(int fd, http::EventTarget& target) noexcept override;
    void unwatch(int fd) noexcept override;
    void fire(core::TimerEntry& e) noexcept;
    void grow_tables(int fd);
    bool register_slot(int fd) noexcept;

    const conf::Config& config_;
    core::TimerWheel wheel_;
    core::BufferPool pool_;
    http::MimeTypes mime_;
    http::FileCache files_;
    core::AccessLog access_log_;
    http::Context ctx_;
    // The reverse proxy, when some location proxies. Declared before the connection slabs: a
    // connection's exchange uses it to the end.
    std::unique_ptr<http::proxy::ProxyRuntime> proxy_;
    WorkerSetup setup_;
    TlsContexts tls_;  // before the connections, which point into it, and after setup_ (tickets)
    core::UniqueFd epoll_;
    core::UniqueFd signals_;

    std::vector<http::Connection*> by_fd_;  // the connection table, indexed by fd
    std::vector<http::EventTarget*> targets_;  // by fd: the other sockets (upstreams), see watch()
    std::vector<uint64_t>
        fd_tag_;  // by fd: its connection's epoll tag (the generation bumped per connection)
    std::vector<std::unique_ptr<http::Connection[]>> slabs_;
    std::vector<http::Connection*> free_;
    std::vector<http::Connection*> resuming_;  // this iteration's share of ctx_.resume
    size_t active_ = 0;
    size_t upstream_sockets_ = 0;  // watched targets: they count against worker_connections too

    bool stopping_ = false;      // fast stop: leave the loop now
    bool accepting_ = true;
    bool listeners_open_ = true;      // false once a stop took every queued connection and closed them
    uint64_t resume_accept_ms_ = 0;   // accepting paused until then (fd pressure), 0 = not paused
    uint64_t pressure_logged_ms_ = 0;
    uint64_t shed_since_log_ = 0;
    uint64_t drain_deadline_ms_ = 0;
    uint64_t next_housekeeping_ms_ = 0;
    uint64_t housekeeping_ms_ = 1000;
};

}  // namespace portico::worker
