#include "worker/worker.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <csignal>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/channel.hpp"
#include "core/clock.hpp"
#include "core/shared_stats.hpp"
#include "core/signals.hpp"
#include "core/socket.hpp"
#include "http/virtual_servers.hpp"
#include "core/tls/transport.hpp"
#include "worker/event_tag.hpp"

namespace portico::worker {
namespace {

// Whether some location (or server) of `config` passes requests upstream.
bool proxies(const conf::Config& config) {
    auto passes = [](const conf::RouteSettings& r) { return r.proxy && r.proxy->pass; };
    for (const conf::ServerConfig& s : config.servers) {
        if (passes(s.route)) return true;
        for (const conf::LocationConfig& l : s.locations)
            if (passes(l.settings)) return true;
    }
    return false;
}


constexpr size_t kSlabSize = 256;
constexpr int kMaxEvents = 512;
constexpr uint64_t kAcceptPauseMs = 100;    // under fd pressure with nothing idle to shed
constexpr uint64_t kPressureLogMs = 1000;   // log fd pressure at most once per this interval
constexpr uint64_t kHousekeepingMs = 1000;  // access log flush; the loop wakes at least this often
// A stop takes what waits in a listener's queue; this bounds one turn of it, should clients keep
// arriving faster than they are taken.
constexpr uint32_t kMaxTakenAtStop = 65536;

std::string errno_text(const char* call) { return std::string(call) + " failed: " + std::strerror(errno); }

}  // namespace

std::vector<Listener> open_listeners(const conf::Config& config) {
    std::vector<Listener> out;
    for (const conf::ServerConfig& server : config.servers) {
        for (const conf::ListenAddress& a : server.listen) {
            if (std::any_of(out.begin(), out.end(), [&](const Listener& l) { return l.address == a; })) continue;
            std::error_code ec;
            const char* what = "";
            core::UniqueFd fd = core::open_listener(a.host, a.port, a.ipv6, {}, ec, what);
            if (!fd) throw std::runtime_error(std::string(what) + " to " + a.to_string() + " failed: " + ec.message());
            out.push_back({std::move(fd), a});
        }
    }
    return out;
}

namespace {

// Descriptors a worker needs besides its connections and cached files: stdio, the logs, epoll,
// the signalfd, the master's channel, a revalidation's brief open, listeners lent to it.
constexpr uint64_t kDescriptorReserve = 32;
// accept4() got EMFILE: cached files give back this many descriptors before clients are shed.
constexpr size_t kFilesPerAccept = 16;

// RLIMIT_NOFILE as this process has it (after the master applied worker_rlimit_nofile).
uint64_t nofile_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return 1u << 20;
    return rl.rlim_cur;
}

uint64_t descriptor_reserve(const conf::Config& config) {
    return kDescriptorReserve + config.servers.size() + conf::distinct_listen_addresses(config).size();
}

http::FileCache::Limits cache_limits(const conf::Config& config) {
    const conf::OpenFileCacheConfig& c = config.http.open_file_cache;
    http::FileCache::Limits l;
    l.max_entries = c.max;
    l.validity_ms = static_cast<uint64_t>(c.valid.count());
    l.small_file = c.in_memory_max;
    l.max_memory = c.memory;
    l.max_open = http::FileCache::descriptor_budget(nofile_limit(), config.worker_connections,
                                                    descriptor_reserve(config), c.max);
    return l;
}

}  // namespace

Worker::Worker(const conf::Config& config, WorkerSetup setup)
    : config_(config),
      wheel_(core::monotonic_ms()),
      mime_(config.http.mime_types, config.http.default_type),
      files_(mime_, cache_limits(config)),
      access_log_(config.http.access_log),
      ctx_(config, wheel_, pool_, mime_, files_, access_log_),
      setup_(std::move(setup)),
      tls_(config, setup_.tickets) {
    ctx_.stats = setup_.stats;
    ctx_.poller = this;
    if (proxies(config)) {
        proxy_ = std::make_unique<http::proxy::ProxyRuntime>(config, ctx_);
        ctx_.proxy = proxy_.get();
    }
    ctx_.now_ms = core::monotonic_ms();
    ctx_.limits.max_target = config.http.large_client_header_buffer_size;
    ctx_.limits.max_head = config.http.large_client_header_buffer_size;
    ctx_.limits.max_body = config.http.client_max_body_size;
    ctx_.header_scratch.resize(32 * 1024);
    ctx_.path_scratch.reserve(config.http.large_client_header_buffer_size + 256);

    rlimit rl{};
    getrlimit(RLIMIT_NOFILE, &rl);
    by_fd_.assign(rl.rlim_cur == RLIM_INFINITY ? 65536 : rl.rlim_cur, nullptr);
    fd_tag_.assign(by_fd_.size(), 0);
    targets_.assign(by_fd_.size(), nullptr);

    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) throw std::runtime_error(errno_text("epoll_create1()"));
    signals_ = core::block_and_open_signalfd({SIGINT, SIGTERM, SIGQUIT, SIGUSR1, SIGHUP});
    if (!signals_) throw std::runtime_error(errno_text("signalfd()"));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = EventTag::kSignal;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, signals_.get(), &ev) != 0)
        throw std::runtime_error(errno_text("epoll_ctl()"));

    open_roots();
    register_listeners();
    warn_if_descriptors_short();
}

// A worker_connections that RLIMIT_NOFILE cannot hold ends in EMFILE under load: say so at
// start-up, with both numbers, rather than when clients are already being shed.
void Worker::warn_if_descriptors_short() const {
    uint64_t nofile = nofile_limit(), reserve = descriptor_reserve(config_);
    if (config_.worker_connections + reserve <= nofile) return;
    spdlog::warn("worker_connections ({}) does not fit RLIMIT_NOFILE ({}) with {} descriptors reserved: raise "
                 "worker_rlimit_nofile or lower worker_connections; the file cache keeps at most {} files open",
                 config_.worker_connections, nofile, reserve, files_.limits().max_open);
}

Worker::~Worker() { close_all(); }

void Worker::open_roots() {
    http::open_virtual_servers(config_, ctx_);
    // What $scheme and $server_port say for a request, by the listener it came in on.
    for (const Listener& l : setup_.listeners)
        ctx_.listener_vars.push_back({std::to_string(l.address.port), l.address.ssl});
}

// Servers sharing an address are told apart by Host: each listener gets the list of servers
// that listen on its address, the first being the default.
void Worker::register_listeners() {
    for (size_t index = 0; index < setup_.listeners.size(); ++index) register_listener(index);
    if (setup_.control_fd >= 0) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = EventTag::kControl;
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, setup_.control_fd, &ev) != 0)
            throw std::runtime_error(errno_text("epoll_ctl()"));
    }
}

void Worker::register_listener(size_t index) {
    const Listener& l = setup_.listeners[index];
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = EventTag::listener(static_cast<uint32_t>(index));
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, l.fd.get(), &ev) != 0)
        throw std::runtime_error(errno_text("epoll_ctl()"));
    // Set by every worker on every listener it serves, inherited or lent, so a reload applies it.
    if (!core::set_defer_accept(l.fd.get(), config_.http.defer_accept))
        spdlog::warn("setsockopt(TCP_DEFER_ACCEPT) on {} failed: {}", l.address.to_string(), std::strerror(errno));
    ctx_.listener_tls.push_back(tls_.initial_context(l.address));
    auto& servers = ctx_.listener_servers.emplace_back();
    for (size_t i = 0; i < config_.servers.size(); ++i) {
        const auto& listen = config_.servers[i].listen;
        if (std::find(listen.begin(), listen.end(), l.address) != listen.end())
            servers.push_back(static_cast<uint16_t>(i));
    }
    if (servers.empty()) throw std::runtime_error("no server listens on " + l.address.to_string());
}

// The master lends us the listeners of a slot that has no worker while it backs off a crash
// loop; we accept from them too, so connections the kernel hashes to them are not stranded. Once
// the slot has a worker again, the master asks for them back.
void Worker::on_control() {
    for (;;) {
        core::ChannelMessage msg{};
        core::UniqueFd fd;
        int r = core::receive_message(setup_.control_fd, msg, fd);
        if (r <= 0) {
            if (r == 0) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, setup_.control_fd, nullptr);
            return;
        }
        if (msg.type == core::ChannelMessage::Type::kGiveBack) {
            give_back_listeners(msg.slot);
            continue;
        }
        auto addresses = conf::distinct_listen_addresses(config_);
        if (msg.type != core::ChannelMessage::Type::kAdopt || !fd || !accepting_ ||
            msg.address_index >= addresses.size())
            continue;
        adopt_listener(std::move(fd), addresses[msg.address_index], msg.slot);
    }
}

void Worker::adopt_listener(core::UniqueFd fd, const conf::ListenAddress& address, uint32_t slot) {
    // A slot that crash-loops again lends again: reuse a given-back entry of the same address (its
    // server list is the same), so the table does not grow with every loop.
    auto& ls = setup_.listeners;
    auto it =
        std::find_if(ls.begin(), ls.end(), [&](const Listener& l) { return !l.fd && l.address == address; });
    size_t index = static_cast<size_t>(it - ls.begin());
    if (it == ls.end()) {
        ls.push_back({std::move(fd), address, static_cast<int32_t>(slot)});
        try {
            register_listener(index);
        } catch (const std::exception& e) {
            spdlog::error("adopting the listener of slot {} failed: {}", slot, e.what());
            if (ctx_.listener_servers.size() == ls.size()) ctx_.listener_servers.pop_back();
            if (ctx_.listener_tls.size() == ls.size()) ctx_.listener_tls.pop_back();
            ls.pop_back();
            return;
        }
    } else {
        *it = {std::move(fd), address, static_cast<int32_t>(slot)};
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLET;
        ev.data.u64 = EventTag::listener(static_cast<uint32_t>(index));
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, it->fd.get(), &ev) != 0) {
            spdlog::error("adopting the listener of slot {} failed: {}", slot, errno_text("epoll_ctl()"));
            it->fd.reset();
            return;
        }
    }
    spdlog::info("accepting for slot {} on {} while it has no worker", slot, address.to_string());
    accept_from(static_cast<uint16_t>(index));
}

// Closing our duplicate loses nothing: the master and the slot's own worker hold the same socket,
// and that worker registered it after it was bound, so epoll reports what already waits there.
void Worker::give_back_listeners(uint32_t slot) {
    for (Listener& l : setup_.listeners) {
        if (!l.fd || l.lent_slot != static_cast<int32_t>(slot)) continue;
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, l.fd.get(), nullptr);
        l.fd.reset();
        spdlog::info("stopped accepting for slot {} on {}: it has a worker again", slot,
                     l.address.to_string());
    }
}

int Worker::run() {
    ctx_.now_ms = core::monotonic_ms();
    // The loop's heartbeat must beat well within the master's watchdog timeout even when idle.
    auto watchdog = static_cast<uint64_t>(config_.worker_watchdog_timeout.count());
    housekeeping_ms_ = watchdog > 0 ? std::clamp<uint64_t>(watchdog / 4, 1, kHousekeepingMs) : kHousekeepingMs;
    next_housekeeping_ms_ = ctx_.now_ms + housekeeping_ms_;
    while (!stopping_) {
        loop_once();
        if (ctx_.draining && ((active_ == 0 && !listeners_open_) || ctx_.now_ms >= drain_deadline_ms_)) {
            if (active_ > 0) spdlog::warn("worker_shutdown_timeout expired, closing {} connections", active_);
            break;
        }
    }
    close_all();
    access_log_.flush();
    core::flush_error_log();
    return 0;
}

int Worker::next_timeout() const {
    if (!ctx_.resume.empty()) return 0;  // yielded connections wait: poll, do not sleep
    uint64_t until = next_housekeeping_ms_;
    if (resume_accept_ms_ != 0) until = std::min(until, resume_accept_ms_);
    if (ctx_.draining) until = std::min(until, drain_deadline_ms_);
    int housekeeping = until > ctx_.now_ms ? static_cast<int>(until - ctx_.now_ms) : 0;
    return wheel_.timeout_ms(ctx_.now_ms, housekeeping);
}

void Worker::loop_once() {
    std::array<epoll_event, kMaxEvents> events;
    int n = ::epoll_wait(epoll_.get(), events.data(), kMaxEvents, next_timeout());
    if (n < 0 && errno != EINTR) {
        spdlog::critical("epoll_wait() failed: {}", std::strerror(errno));
        stopping_ = true;
        return;
    }
    ctx_.now_ms = core::monotonic_ms();
    ctx_.date.refresh();
    for (int i = 0; i < n; ++i) {
        uint64_t tag = events[i].data.u64;
        if (EventTag::kind(tag) == EventKind::kConnection) [[likely]] {
            // The whole tag must match: an event of a connection closed earlier in this batch
            // carries the old generation of an fd that may be another connection's by now.
            uint32_t fd = EventTag::index(tag);
            if (fd_tag_[fd] != tag) continue;
            if (http::Connection* c = by_fd_[fd]) c->on_event(ctx_, events[i].events);
            else if (http::EventTarget* t = targets_[fd]) t->on_event(ctx_, events[i].events);
        } else {
            dispatch_other(tag);
        }
    }
    resume_yielded();
    wheel_.run(ctx_.now_ms, [this](core::TimerEntry& e) { fire(e); });
    if (resume_accept_ms_ != 0 && ctx_.now_ms >= resume_accept_ms_) resume_accepting();
    if (ctx_.now_ms >= next_housekeeping_ms_) housekeeping();
    free_closed();
    if (!accepting_ && listeners_open_) close_drained_listeners();  // descriptors may be free now
    publish_counters();
}

void Worker::fire(core::TimerEntry& e) noexcept {
    if (e.owner_kind_ == http::EventTarget::kOwnerKind) [[unlikely]] return static_cast<http::EventTarget&>(e).on_timeout(ctx_);
    static_cast<http::Connection&>(e).on_timeout(ctx_);
}

// An upstream's socket joins the loop as a client connection's does: one registration, all
// events, edge-triggered, under a new generation of its fd's slot (so a stale event of the
// slot's previous owner is dropped).
bool Worker::watch(int fd, http::EventTarget& target) noexcept {
    grow_tables(fd);
    if (!register_slot(fd)) return false;
    targets_[static_cast<size_t>(fd)] = &target;
    ++upstream_sockets_;
    return true;
}

// The per-fd tables cover `fd`.
void Worker::grow_tables(int fd) {
    if (static_cast<size_t>(fd) < by_fd_.size()) return;
    by_fd_.resize(static_cast<size_t>(fd) + 1, nullptr);
    fd_tag_.resize(by_fd_.size(), 0);
    targets_.resize(by_fd_.size(), nullptr);
}

// Registers `fd` with epoll once, for every event, edge-triggered, under a new generation of its
// slot (so a stale event of the slot's previous owner is dropped). False, logged, if epoll refuses.
bool Worker::register_slot(int fd) noexcept {
    auto slot = static_cast<size_t>(fd);
    fd_tag_[slot] = EventTag::connection(static_cast<uint32_t>(fd),
                                         EventTag::next_generation(EventTag::generation(fd_tag_[slot])));
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = fd_tag_[slot];
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) == 0) return true;
    spdlog::error("epoll_ctl() failed: {}", std::strerror(errno));
    return false;
}

void Worker::unwatch(int fd) noexcept {
    auto slot = static_cast<size_t>(fd);
    if (slot >= targets_.size() || !targets_[slot]) return;
    targets_[slot] = nullptr;
    --upstream_sockets_;
    fd_tag_[slot] = EventTag::connection(static_cast<uint32_t>(fd),
                                         EventTag::next_generation(EventTag::generation(fd_tag_[slot])));
}

void Worker::dispatch_other(uint64_t tag) noexcept {
    switch (EventTag::kind(tag)) {
        case EventKind::kConnection:
            return;  // handled in loop_once
        case EventKind::kListener:
            return accept_from(static_cast<uint16_t>(EventTag::index(tag)));
        case EventKind::kSignal:
            return on_signal();
        case EventKind::kControl:
            return on_control();
    }
}

// Plain relaxed stores once per iteration: readers (the master's watchdog, the status page)
// need fresh numbers, not a lock-step view.
void Worker::publish_counters() {
    core::WorkerRecord* r = setup_.record;
    if (!r) return;
    constexpr auto relaxed = std::memory_order_relaxed;
    r->heartbeat_ms.store(ctx_.now_ms, relaxed);
    r->accepted.store(ctx_.counters.accepted, relaxed);
    r->active.store(active_, relaxed);
    r->idle.store(ctx_.idle.size, relaxed);
    r->requests.store(ctx_.counters.requests, relaxed);
    r->bytes_out.store(ctx_.counters.bytes_out, relaxed);
    r->status_4xx.store(ctx_.counters.status_4xx, relaxed);
    r->status_5xx.store(ctx_.counters.status_5xx, relaxed);
}

void Worker::housekeeping() {
    next_housekeeping_ms_ = ctx_.now_ms + housekeeping_ms_;
    access_log_.flush();
}

void Worker::on_signal() {
    while (int sig = core::read_signal(signals_.get())) {
        switch (sig) {
            case SIGQUIT:
                begin_graceful_stop();  // first, so the line below means "no longer accepting"
                spdlog::info("received SIGQUIT, shutting down gracefully");
                break;
            case SIGTERM:
            case SIGINT:
                spdlog::info("received {}, exiting", sig == SIGTERM ? "SIGTERM" : "SIGINT");
                stopping_ = true;
                break;
            case SIGUSR1:
                spdlog::info("received SIGUSR1, reopening logs");
                core::reopen_error_log();
                access_log_.reopen();
                break;
            case SIGHUP:
                spdlog::warn("received SIGHUP: reloading needs master_process = true; ignored");
                break;
            default: break;
        }
    }
}

void Worker::begin_graceful_stop() {
    if (ctx_.draining) return;
    ctx_.draining = true;
    drain_deadline_ms_ = ctx_.now_ms + static_cast<uint64_t>(config_.worker_shutdown_timeout.count());
    stop_accepting();
    for (http::Connection* c : by_fd_)
        if (c) c->drain(ctx_);
}

// Closing the last descriptor of a SO_REUSEPORT listener resets whatever waits in its accept
// queue. Under a master, ours are duplicates while the master serves on (a reload, a respawn),
// but on a final stop the master lets go of its copies first, and without a master ours are
// the only ones: so the worker always takes what is already queued before closing, even beyond
// worker_connections or while accepting is paused.
void Worker::stop_accepting() {
    accepting_ = false;
    close_drained_listeners();
}

// Closes each listener whose queue is empty; one whose queue could not be emptied (out of
// descriptors, nothing idle to shed) stays open and is tried again at the end of every loop turn.
void Worker::close_drained_listeners() {
    bool left = false;
    for (size_t i = 0; i < setup_.listeners.size(); ++i) {
        Listener& l = setup_.listeners[i];
        if (!l.fd) continue;
        if (!take_queued(static_cast<uint16_t>(i))) {
            left = true;
            continue;
        }
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, l.fd.get(), nullptr);
        l.fd.reset();
    }
    listeners_open_ = left;
    if (left) return;
    spdlog::info("stopped accepting: listeners closed, {} connections to finish", active_);
    // The master's `-s reload` answers only once the old generation no longer accepts.
    if (setup_.control_fd >= 0)
        core::send_message(setup_.control_fd, {core::ChannelMessage::Type::kStoppedAccepting, 0, 0});
}

// Accepts until the queue is empty (true), or until descriptors run out with nothing idle left to
// shed (false). The connections taken are answered with Connection: close (ctx_.draining).
bool Worker::take_queued(uint16_t index) {
    int lfd = setup_.listeners[index].fd.get();
    for (uint32_t taken = 0; taken < kMaxTakenAtStop;) {
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof peer;
        int fd = ::accept4(lfd, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            ++taken;
            open_connection(fd, index, core::PeerAddress::from(reinterpret_cast<sockaddr*>(&peer)));
            continue;
        }
        switch (errno) {
            case EAGAIN:
                return true;
            case EINTR:
            case ECONNABORTED:
            case EPROTO:
            case EPERM:
                continue;
            case EMFILE:
            case ENFILE:
            case ENOBUFS:
            case ENOMEM:
                if (files_.release_descriptors(kFilesPerAccept) > 0) continue;  // files before clients
                if (shed_oldest_idle()) continue;
                return false;
            default:
                spdlog::error("accept4() failed: {}", std::strerror(errno));
                return true;
        }
    }
    return true;
}

void Worker::accept_from(uint16_t index) {
    if (!accepting_ || resume_accept_ms_ != 0 || index >= setup_.listeners.size()) return;
    int lfd = setup_.listeners[index].fd.get();
    if (lfd < 0) return;  // given back
    for (;;) {
        // At the limit a new connection replaces the oldest idle one; with none idle it waits
        // in the accept queue. Shed only after accept4() returned one, never for the EAGAIN.
        // Connections closed in this iteration still hold their slot until its end. Upstream
        // sockets count as nginx counts them: worker_connections bounds every socket of the loop.
        bool full = active_ + upstream_sockets_ - ctx_.closing.size() >= config_.worker_connections;
        if (full && !ctx_.idle.head) return pause_accepting(0);
        // The peer's address comes with the accept at no extra syscall; access rules and logs use it.
        sockaddr_storage peer{};
        socklen_t peer_len = sizeof peer;
        int fd = ::accept4(lfd, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            switch (errno) {
                case EAGAIN: return;
                case EINTR:
                case ECONNABORTED:
                case EPROTO:
                case EPERM: continue;  // that one connection failed; the next may not
                case EMFILE:
                case ENFILE:
                    if (files_.release_descriptors(kFilesPerAccept) > 0) continue;  // files before clients
                    [[fallthrough]];
                case ENOBUFS:
                case ENOMEM:
                    if (shed_oldest_idle()) continue;
                    return pause_accepting(errno);
                default:
                    spdlog::error("accept4() failed: {}", std::strerror(errno));
                    return pause_accepting(errno);
            }
        }
        if (full) shed_oldest_idle();
        open_connection(fd, index, core::PeerAddress::from(reinterpret_cast<sockaddr*>(&peer)));
    }
}

// Registers an accepted socket under a new generation of its fd's slot. Returns false (the socket
// closed) if epoll would not take it.
bool Worker::open_connection(int fd, uint16_t index, const core::PeerAddress& peer) {
    http::Connection* c = allocate(fd);
    auto slot = static_cast<size_t>(fd);
    if (!register_slot(fd)) {
        ::close(fd);
        free_.push_back(c);
        by_fd_[slot] = nullptr;
        --active_;
        return false;
    }
    ctx_.counters.accepted++;
    std::unique_ptr<core::Transport> transport;
    if (SSL_CTX* tls = ctx_.listener_tls[index]) [[unlikely]] {
        auto t = std::make_unique<core::tls::Transport>(tls, fd);
        // No SSL object (out of memory): the connection is opened and closed at once, so its
        // slot and descriptor go back the usual way.
        if (t->valid()) transport = std::move(t);
        else spdlog::error("SSL_new() failed: {}", core::tls::take_openssl_errors());
        if (!transport) {
            c->open(ctx_, fd, index, peer);
            c->close(ctx_);
            return true;
        }
    }
    c->open(ctx_, fd, index, peer, std::move(transport));
    return true;
}

// Frees one descriptor by closing the connection that has been idle longest.
bool Worker::shed_oldest_idle() {
    http::Connection* oldest = ctx_.idle.head;
    if (!oldest) return false;
    oldest->close(ctx_);
    ::close(oldest->fd());  // now, not at the end of the iteration: the fd is needed right away
    by_fd_[oldest->fd()] = nullptr;
    ++shed_since_log_;
    return true;
}

void Worker::pause_accepting(int err) {
    resume_accept_ms_ = ctx_.now_ms + kAcceptPauseMs;
    if (ctx_.now_ms - pressure_logged_ms_ >= kPressureLogMs || pressure_logged_ms_ == 0) {
        pressure_logged_ms_ = ctx_.now_ms;
        if (err) {
            spdlog::warn("accept4() failed: {}; shed {} idle connections, pausing accept for {} ms",
                         std::strerror(err), shed_since_log_, kAcceptPauseMs);
        } else {
            spdlog::warn("worker_connections ({}) reached; shed {} idle connections, pausing accept for {} ms",
                         config_.worker_connections, shed_since_log_, kAcceptPauseMs);
        }
        shed_since_log_ = 0;
    }
}

void Worker::resume_accepting() {
    resume_accept_ms_ = 0;
    // Edge-triggered listeners will not report connections that queued while we paused.
    for (size_t i = 0; i < setup_.listeners.size(); ++i) accept_from(static_cast<uint16_t>(i));
}

http::Connection* Worker::allocate(int fd) {
    grow_tables(fd);
    if (free_.empty()) {
        slabs_.push_back(std::make_unique<http::Connection[]>(kSlabSize));
        http::Connection* slab = slabs_.back().get();
        for (size_t i = kSlabSize; i-- > 0;) free_.push_back(&slab[i]);
    }
    http::Connection* c = free_.back();
    free_.pop_back();
    by_fd_[fd] = c;
    ++active_;
    return c;
}

// Connections that yielded mid-response continue here, after every event of the batch, one
// budget each. Those that yield again go back on ctx_.resume for the next iteration, so a new
// request never waits for more than one budget per busy connection.
void Worker::resume_yielded() {
    if (ctx_.resume.empty()) return;
    resuming_.swap(ctx_.resume);
    for (http::Connection* c : resuming_) c->on_resume(ctx_);
    resuming_.clear();
}

void Worker::free_closed() {
    ctx_.free_retired();  // streams first: their upstreams are gone already, their clients still here
    for (http::Connection* c : ctx_.closing) {
        int fd = c->fd();
        if (by_fd_[fd] == c) {  // shed connections were closed and unmapped already
            ::close(fd);
            by_fd_[fd] = nullptr;
        }
        free_.push_back(c);
        --active_;
    }
    ctx_.closing.clear();
}

void Worker::close_all() {
    for (http::Connection* c : by_fd_)
        if (c) c->close(ctx_);
    free_closed();
}

}  // namespace portico::worker
