#include "master/master.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/channel.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/signals.hpp"
#include "core/socket.hpp"
#include "conf/defaults.hpp"
#include "core/tls/ktls.hpp"
#include "master/proctitle.hpp"
#include "master/rlimit.hpp"
#include "worker/worker.hpp"

namespace portico::master {
namespace {

constexpr size_t kStatsRecords = 4096;
constexpr uint64_t kReadyTimeoutMs = 10'000;     // a reload's workers must be ready by then
constexpr uint64_t kStableRunMs = 10'000;        // a worker up this long resets its slot's crash count
constexpr uint64_t kFirstBackoffMs = 250;        // the second crash in a row waits this, then doubling
constexpr uint64_t kFastStopGraceMs = 3'000;     // SIGTERM, then SIGKILL after this
constexpr uint64_t kGracefulExtraMs = 2'000;     // on top of worker_shutdown_timeout
constexpr uint64_t kWatchdogPeriodMs = 500;
constexpr int kChildStartupFailure = 2;

bool serves_tls(const conf::Config& cfg) {
    return std::any_of(cfg.servers.begin(), cfg.servers.end(), [](const conf::ServerConfig& s) {
        return std::any_of(s.listen.begin(), s.listen.end(), [](const conf::ListenAddress& a) { return a.ssl; });
    });
}

// The master's clock is core::monotonic_ms(), CLOCK_MONOTONIC as steady_clock is on Linux.
std::chrono::steady_clock::time_point to_steady(uint64_t ms) {
    return std::chrono::steady_clock::time_point{std::chrono::milliseconds{ms}};
}
uint64_t from_steady(std::chrono::steady_clock::time_point t) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    return ms > 0 ? static_cast<uint64_t>(ms) : 0;
}

// Asked once in the master, before forking, so that the answer is logged once and inherited by
// every worker rather than logged by each.
void detect_ktls_if_needed(const conf::Config& cfg) {
    if (serves_tls(cfg)) (void)core::tls::ktls_available();
}

uint64_t backoff_ms(uint32_t crashes, uint64_t cap) {
    if (crashes <= 1) return 0;  // a single crash is replaced at once
    uint32_t shift = std::min<uint32_t>(crashes - 2, 20);
    return std::min<uint64_t>(cap, kFirstBackoffMs << shift);
}

std::string describe_exit(int status) {
    if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return fmt::format("killed by signal {} ({}){}", WTERMSIG(status), strsignal(WTERMSIG(status)),
                           WCOREDUMP(status) ? ", core dumped" : "");
    return fmt::format("ended with status {}", status);
}


// A worker that cannot start says why on its channel before it exits, so that a reload's
// answer (-s reload) can name the reason, not only an exit code.
[[noreturn]] void fail_start(int channel, const std::string& why) {
    spdlog::critical("worker process {} failed to start: {}", getpid(), why);
    core::ChannelMessage msg{core::ChannelMessage::Type::kFailed, 0, 0};
    std::snprintf(msg.reason, sizeof msg.reason, "%s", why.c_str());
    core::send_message(channel, msg);
    core::flush_error_log();
    _exit(kChildStartupFailure);
}

void drop_privileges_or_die(const conf::Config& cfg) {
    if (cfg.user.empty() || geteuid() != 0) return;
    if (initgroups(cfg.user.c_str(), cfg.user_gid) != 0 || setgid(cfg.user_gid) != 0 ||
        setuid(cfg.user_uid) != 0) {
        spdlog::critical("dropping privileges to user \"{}\" failed: {}", cfg.user, std::strerror(errno));
        core::flush_error_log();
        _exit(kChildStartupFailure);
    }
}

void pin_to_cpu(uint32_t slot) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus <= 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<int>(slot % static_cast<uint32_t>(cpus)), &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        spdlog::warn("sched_setaffinity() failed: {}", std::strerror(errno));
}

// The keys the previous master handed over in an upgrade, else fresh ones.
std::unique_ptr<core::tls::TicketKeyRing> inherited_tickets(Inheritance& inherited) {
    if (inherited.tickets) {
        auto ring = core::tls::TicketKeyRing::import_keys(inherited.tickets.get());
        inherited.tickets.reset();
        if (ring) {
            spdlog::info("upgrade: session-ticket keys taken over from the previous master");
            return ring;
        }
        spdlog::warn("upgrade: the previous master's session-ticket keys are unreadable; starting with new ones");
    }
    return core::tls::TicketKeyRing::create();
}

}  // namespace

// The probe never listens, so closing it cannot reset anybody's connections.
void probe_address_free(const conf::ListenAddress& a) {
    core::ListenOptions opts;
    opts.reuse_port = false;
    opts.backlog = -1;  // bind only
    std::error_code ec;
    const char* what = "";
    core::UniqueFd fd = core::open_listener(a.host, a.port, a.ipv6, opts, ec, what);
    if (!fd && ec.value() == EADDRINUSE)
        throw std::runtime_error("address " + a.to_string() + " is already in use (is another server running?)");
    if (!fd) throw std::runtime_error(std::string(what) + " to " + a.to_string() + " failed: " + ec.message());
}

Master::Master(std::string config_path, std::unique_ptr<conf::Config> config, PidFile pid_file,
               std::string title, Inheritance inherited)
    : config_path_(std::move(config_path)),
      config_(std::move(config)),
      pid_file_(std::move(pid_file)),
      title_(std::move(title)),
      inherited_(std::move(inherited)),
      stats_(kStatsRecords),
      tickets_(inherited_tickets(inherited_)),
      self_pid_(getpid()) {
    if (!tickets_) throw std::runtime_error("cannot create the session-ticket keys (mmap or RAND_bytes failed)");
    detect_ktls_if_needed(*config_);
    for (const auto& a : conf::distinct_listen_addresses(*config_)) {
        bool handed = std::any_of(inherited_.sockets.begin(), inherited_.sockets.end(),
                                  [&](const HandedSocket& s) { return s.address == a.to_string(); });
        if (!handed) probe_address_free(a);
    }
    ensure_groups(*config_);
    adopt_inherited();
    epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll_) throw std::runtime_error(std::string("epoll_create1() failed: ") + std::strerror(errno));
    signals_ = core::block_and_open_signalfd({SIGCHLD, SIGHUP, SIGQUIT, SIGTERM, SIGINT, SIGUSR1, SIGUSR2});
    if (!signals_) throw std::runtime_error(std::string("signalfd() failed: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, signals_.get(), &ev) != 0)
        throw std::runtime_error(std::string("epoll_ctl() failed: ") + std::strerror(errno));
    // A new master takes the control socket over only once it serves (take_over()).
    if (!config_->pid_file.empty() && !inherited_.upgrading())
        control_ = ControlServer(control_socket_path(config_->pid_file), epoll_.get());
}

// The old master's sockets become this master's slots' sockets; its workers inherit them as a
// respawned worker inherits its slot's. One for an address this config no longer has is closed
// (the old master still holds it until it exits).
void Master::adopt_inherited() {
    for (HandedSocket& s : inherited_.sockets) {
        core::UniqueFd fd(std::exchange(s.fd, -1));
        auto g = std::find_if(groups_.begin(), groups_.end(), [&](const Group& group) {
            return group.active && group.address.to_string() == s.address;
        });
        if (g == groups_.end()) continue;
        if (g->sockets.size() <= s.slot) g->sockets.resize(s.slot + 1);
        g->sockets[s.slot] = std::move(fd);
    }
    inherited_.sockets.clear();
    if (inherited_.upgrading()) generation_ = last_generation_ = inherited_.last_generation + 1;
}

void Master::set_upgrade_command(std::string binary, std::vector<std::string> argv) {
    binary_ = std::move(binary);
    argv_ = std::move(argv);
}

Master::~Master() = default;

void Master::ensure_groups(const conf::Config& cfg) {
    for (const auto& a : conf::distinct_listen_addresses(cfg)) {
        auto it = std::find_if(groups_.begin(), groups_.end(),
                               [&](const Group& g) { return g.active && g.address == a; });
        if (it == groups_.end()) groups_.push_back({a, {}, true});
    }
}

int Master::run() {
    set_process_title(("portico: master process " + title_).c_str());
    now_ = core::monotonic_ms();
    slots_.assign(config_->worker_processes, Slot{});
    for (uint32_t s = 0; s < config_->worker_processes; ++s) spawn(s, generation_, *config_);
    spdlog::info("master process {} started {} workers", self_pid_, config_->worker_processes);
    while (!(stopping_ && children_.empty())) {
        epoll_event events[64];
        int n = ::epoll_wait(epoll_.get(), events, 64, next_timeout());
        if (n < 0 && errno != EINTR) {
            spdlog::critical("epoll_wait() failed: {}", std::strerror(errno));
            begin_stop(false);
        }
        now_ = core::monotonic_ms();
        for (int i = 0; i < n; ++i) on_event(events[i].data.u64);
        respawn_due();
        check_upgrade_deadline();
        check_started();
        check_reload();
        start_queued_reload();
        check_confirmations();
        kill_overdue();
        watchdog();
        rotate_tickets();
        if (!pending_ && !stopping_) notifier_.serving(generation_, ready_workers(), config_->worker_processes);
        if (stopping_ && !killed_stragglers_ && now_ >= stop_deadline_) {
            spdlog::warn("{} workers still running at the deadline, killing them", children_.size());
            signal_children(SIGKILL);
            killed_stragglers_ = true;
        }
    }
    answer(handover_waiters_, true, "the new master serves and the old one has exited");
    spdlog::info("master process {} exiting", self_pid_);
    core::flush_error_log();
    return 0;
}

void Master::on_event(uint64_t tag) {
    if (tag == 0) return on_signals();
    if (tag == ControlServer::kListenTag) return control_.on_listen_ready();
    if (tag == kUpgradeTag) return on_successor_channel();
    if (tag & ControlServer::kClientTag) return on_control_client(static_cast<int>(tag & 0xffffffff));
    on_channel(static_cast<pid_t>(tag));
}

void Master::on_control_client(int fd) {
    std::string command = control_.on_client_ready(fd);
    if (command.empty()) return;
    if (command == "reload") return request_reload(fd);
    if (command == "upgrade") return start_upgrade(fd);
    control_.reply(fd, false, "unknown command \"" + command + "\"");
}

// A reload asked for over the control socket is the same reload as SIGHUP's; the client is told
// its outcome. One asked for while another runs gets the outcome of the one that follows.
void Master::request_reload(int client) {
    if (stopping_) return control_.reply(client, false, "the master is stopping");
    spdlog::info("reload of {} requested on the control socket", config_path_);
    notifier_.reloading();
    if (pending_) {
        next_reload_waiters_.push_back(client);
        reload_again_ = true;
        return;
    }
    reload_waiters_.push_back(client);
    start_reload();
}

void Master::answer(std::vector<int>& clients, bool ok, const std::string& text) {
    for (int fd : clients) control_.reply(fd, ok, text);
    clients.clear();
}

// Generation 1 serves once all its workers are ready (a reload's generation, once committed).
void Master::check_started() {
    if (serving_announced_) return;
    size_t ready = 0;
    for (const Child& c : children_) ready += c.generation == generation_ && c.ready;
    if (ready < config_->worker_processes) return;
    serving_announced_ = true;
    on_generation_serving();
}

// The one place where a generation becomes the serving one: at start-up once its workers are
// ready, and when a reload commits. (A hook for readiness notification.)
void Master::on_generation_serving() {
    spdlog::info("generation {} serves with {} workers", generation_, config_->worker_processes);
    if (inherited_.upgrading()) take_over();
}

void Master::start_queued_reload() {
    if (pending_ || !reload_again_ || stopping_) return;
    reload_again_ = false;
    reload_waiters_ = std::move(next_reload_waiters_);
    next_reload_waiters_.clear();
    start_reload();
}

// A committed reload is reported once no worker of an older generation accepts any more.
void Master::check_confirmations() {
    if (!handover_waiters_.empty() &&
        std::all_of(children_.begin(), children_.end(), [](const Child& c) { return c.stopped_accepting; }))
        answer(handover_waiters_, true, "the new master serves and the old one no longer accepts");
    if (confirm_waiters_.empty()) return;
    bool old_accepting = std::any_of(children_.begin(), children_.end(), [&](const Child& c) {
        return c.generation != generation_ && (!pending_ || c.generation != pending_generation_) &&
               !c.stopped_accepting;
    });
    if (old_accepting) return;
    answer(confirm_waiters_, true,
           fmt::format("generation {} serves with {} workers", generation_, config_->worker_processes));
}

int Master::next_timeout() const {
    uint64_t until = now_ + kWatchdogPeriodMs;
    for (const Slot& s : slots_)
        if (s.respawn_at) until = std::min(until, s.respawn_at);
    if (pending_) until = std::min(until, reload_deadline_);
    if (successor_) until = std::min(until, upgrade_deadline_);
    if (stopping_ && !killed_stragglers_) until = std::min(until, stop_deadline_);
    auto rotation = tickets_->next_rotation(ticket_interval());
    if (rotation != std::chrono::steady_clock::time_point::max()) until = std::min(until, from_steady(rotation));
    for (const Child& c : children_)
        if (c.kill_at) until = std::min(until, c.kill_at);
    return until > now_ ? static_cast<int>(until - now_) : 0;
}

uint32_t Master::ready_workers() const {
    return static_cast<uint32_t>(std::count_if(children_.begin(), children_.end(), [&](const Child& c) {
        return c.ready && !c.retiring && c.generation == generation_;
    }));
}

Master::Child* Master::find(pid_t pid) {
    for (Child& c : children_)
        if (c.pid == pid) return &c;
    return nullptr;
}

void Master::spawn(uint32_t slot, uint32_t generation, const conf::Config& cfg) {
    int record = stats_.find_free();
    if (record < 0) {
        spdlog::error("no free worker record; cannot start a worker for slot {}", slot);
        return;
    }
    core::UniqueFd ours, theirs;
    if (!core::make_channel(ours, theirs)) {
        spdlog::error("socketpair() failed: {}", std::strerror(errno));
        return;
    }
    stats_.at(static_cast<size_t>(record)).reset(-1, generation, slot, now_);  // taken before the fork
    Child child;
    child.slot = slot;
    child.generation = generation;
    child.record = record;
    child.channel = std::move(ours);
    child.started_ms = now_;
    children_.push_back(std::move(child));
    core::flush_error_log();
    pid_t pid = ::fork();
    if (pid < 0) {
        spdlog::error("fork() failed: {}", std::strerror(errno));
        stats_.at(static_cast<size_t>(record)).pid.store(0);
        children_.pop_back();
        return;
    }
    if (pid == 0) run_child(children_.size() - 1, cfg, std::move(theirs));
    Child& c = children_.back();
    c.pid = pid;
    stats_.at(static_cast<size_t>(record)).pid.store(pid, std::memory_order_release);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = static_cast<uint64_t>(pid);
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c.channel.get(), &ev) != 0)
        spdlog::error("epoll_ctl() failed: {}", std::strerror(errno));
    spdlog::info("started worker process {} (slot {}, generation {})", pid, slot, generation);
}

// In the forked child: keep only what this worker needs, take the slot's listeners (binding the
// ones that do not exist yet and handing them to the master), then become the worker.
void Master::run_child(size_t self, const conf::Config& cfg, core::UniqueFd channel) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != self_pid_) _exit(0);  // the master died before prctl took effect
    // Keep the stop/reload/reopen signals blocked: the worker's signalfd takes them once it is
    // set up, and until then a `-s reopen` must not kill a worker that is still starting.
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_UNBLOCK, &chld, nullptr);
    Child me = std::move(children_[self]);
    me.channel.reset();  // the master's end of our own channel
    children_.clear();   // and of the other workers' channels
    epoll_.reset();
    signals_.reset();
    pid_file_.close_in_child();
    control_.close_in_child();
    inherited_.channel.reset();
    successor_channel_.reset();
    set_process_title(fmt::format("portico: worker process #{} (generation {})", me.slot, me.generation).c_str());
    if (cfg.worker_cpu_affinity_auto) pin_to_cpu(me.slot);
    apply_nofile_limit(cfg);  // this generation's value, before anything sizes by it

    worker::WorkerSetup setup;
    tickets_->make_read_only();  // only the master writes the keys
    setup.tickets = tickets_.get();
    setup.stats = &stats_;
    setup.record = &stats_.at(static_cast<size_t>(me.record));
    setup.control_fd = channel.get();
    const uint32_t n = cfg.worker_processes;
    for (uint32_t g = 0; g < groups_.size(); ++g) {
        Group& group = groups_[g];
        auto& wanted = cfg.servers;  // only addresses this config listens on
        bool used = std::any_of(wanted.begin(), wanted.end(), [&](const conf::ServerConfig& s) {
            return std::find(s.listen.begin(), s.listen.end(), group.address) != s.listen.end();
        });
        if (!group.active || !used) continue;
        if (group.sockets.size() <= me.slot) group.sockets.resize(me.slot + 1);
        for (uint32_t i = me.slot; i < group.sockets.size(); i += n) {
            if (!group.sockets[i] && i == me.slot) {
                std::error_code ec;
                const char* what = "";
                group.sockets[i] = core::open_listener(group.address.host, group.address.port, group.address.ipv6, {},
                                                       ec, what);
                if (!group.sockets[i])
                    fail_start(channel.get(), fmt::format("{} to {} failed: {}", what,
                                                          group.address.to_string(), ec.message()));
                core::send_message(channel.get(), {core::ChannelMessage::Type::kListener, g, me.slot}, group.sockets[i].get());
            }
            if (group.sockets[i]) setup.listeners.push_back({std::move(group.sockets[i]), group.address});
        }
    }
    groups_.clear();  // the copies of other slots' sockets
    try {
        worker::Worker w(cfg, std::move(setup));
        drop_privileges_or_die(cfg);
        core::send_message(channel.get(), {core::ChannelMessage::Type::kReady, 0, 0});
        int rc = w.run();
        core::flush_error_log();
        _exit(rc);
    } catch (const std::exception& e) {
        fail_start(channel.get(), e.what());
    }
}

void Master::on_channel(pid_t pid) {
    Child* c = find(pid);
    if (!c || !c->channel) return;
    for (;;) {
        core::ChannelMessage msg{};
        core::UniqueFd fd;
        int r = core::receive_message(c->channel.get(), msg, fd);
        if (r < 0 && errno == EAGAIN) return;
        if (r <= 0) {  // the worker is exiting; SIGCHLD tells the rest
            ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c->channel.get(), nullptr);
            c->channel.reset();
            return;
        }
        // A listener from a worker already retired (its reload was rolled back before this message
        // was read) is not kept: nobody of the serving generation would accept from it.
        bool current = !c->retiring &&
                       (c->generation == generation_ || (pending_ && c->generation == pending_generation_));
        if (msg.type == core::ChannelMessage::Type::kListener && fd && current &&
            msg.address_index < groups_.size()) {
            Group& g = groups_[msg.address_index];
            if (g.sockets.size() <= msg.slot) g.sockets.resize(msg.slot + 1);
            if (g.active && !g.sockets[msg.slot]) {
                g.sockets[msg.slot] = std::move(fd);
                if (pending_ && c->generation == pending_generation_)
                    pending_sockets_.push_back({msg.address_index, msg.slot});
            }
        } else if (msg.type == core::ChannelMessage::Type::kReady) {
            c->ready = true;
            spdlog::info("worker process {} (slot {}, generation {}) is ready", c->pid, c->slot, c->generation);
            if (c->generation == generation_ && c->slot < slots_.size()) take_back_listeners(c->slot);
        } else if (msg.type == core::ChannelMessage::Type::kStoppedAccepting) {
            c->stopped_accepting = true;
        } else if (msg.type == core::ChannelMessage::Type::kFailed) {
            msg.reason[sizeof msg.reason - 1] = '\0';
            c->failure = msg.reason;
        }
    }
}

void Master::on_signals() {
    while (int sig = core::read_signal(signals_.get())) {
        switch (sig) {
            case SIGCHLD: reap(); break;
            case SIGHUP:
                if (stopping_) break;
                spdlog::info("received SIGHUP, reloading {}", config_path_);
                notifier_.reloading();
                start_reload();
                break;
            case SIGQUIT:
                spdlog::info("received SIGQUIT, stopping gracefully");
                begin_stop(true);
                break;
            case SIGTERM:
            case SIGINT:
                spdlog::info("received {}, stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
                begin_stop(false);
                break;
            case SIGUSR2:
                if (stopping_) break;
                spdlog::info("received SIGUSR2, upgrading the binary");
                start_upgrade(-1);
                break;
            case SIGUSR1:
                spdlog::info("received SIGUSR1, reopening logs");
                core::reopen_error_log();
                prepare_logs_for_workers();
                signal_children(SIGUSR1);
                break;
            default: break;
        }
    }
}

void Master::reap() {
    for (;;) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        if (pid == successor_) {
            if (successor_channel_) on_successor_channel();  // its last words, if not read yet
            if (successor_ == pid)
                upgrade_failed(
                    fmt::format("the new master process {} {} before it served", pid, describe_exit(status)));
            continue;
        }
        auto it = std::find_if(children_.begin(), children_.end(), [&](const Child& c) { return c.pid == pid; });
        if (it == children_.end()) continue;
        on_channel(pid);  // what it said before it went (why it failed) may not have been read yet
        on_child_exit(*it, status);
        if (it->channel) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, it->channel.get(), nullptr);
        stats_.at(static_cast<size_t>(it->record)).pid.store(0, std::memory_order_release);
        children_.erase(it);
    }
}

void Master::on_child_exit(Child& c, int status) {
    std::string how = describe_exit(status);
    bool expected = c.retiring || stopping_;
    if (expected) {
        spdlog::info("worker process {} (slot {}, generation {}) {}", c.pid, c.slot, c.generation, how);
        return;
    }
    spdlog::error("worker process {} (slot {}, generation {}) {} unexpectedly", c.pid, c.slot, c.generation, how);
    if (pending_ && c.generation == pending_generation_) {
        if (!c.failure.empty()) how = "failed to start: " + c.failure;
        return abort_reload(fmt::format("worker process {} of the new generation {}", c.pid, how));
    }
    if (inherited_.upgrading() && !serving_announced_) {
        if (!c.failure.empty()) how = "failed to start: " + c.failure;
        return give_up_upgrade(fmt::format("worker process {} of the new master {}", c.pid, how));
    }
    if (c.generation == generation_ && c.slot < slots_.size()) schedule_respawn(c);
}

void Master::schedule_respawn(Child& c) {
    Slot& s = slots_[c.slot];
    if (now_ - c.started_ms >= kStableRunMs) s.crashes = 0;
    ++s.crashes;
    uint64_t delay = backoff_ms(s.crashes, static_cast<uint64_t>(config_->worker_respawn_backoff_max.count()));
    s.respawn_at = std::max<uint64_t>(now_ + delay, 1);
    if (delay > 0) {
        spdlog::warn("slot {} crashed {} times in a row; respawning in {} ms", c.slot, s.crashes, delay);
        lend_listeners(c.slot);
    }
}

// While a slot backs off, the kernel still hashes new connections to its listeners, where
// nobody accepts them. Another worker of the generation is handed those listeners and accepts
// from them too (the queue is shared), until the slot's own worker is back.
void Master::lend_listeners(uint32_t slot) {
    Slot& s = slots_[slot];
    if (s.lent_to != 0 && find(s.lent_to)) return;  // already lent to a live worker
    s.lent_to = 0;
    auto adopter = std::find_if(children_.begin(), children_.end(), [&](const Child& c) {
        return c.ready && !c.retiring && c.generation == generation_ && c.slot != slot && c.channel;
    });
    if (adopter == children_.end()) return;
    auto addresses = conf::distinct_listen_addresses(*config_);
    for (const Group& g : groups_) {
        auto it = std::find(addresses.begin(), addresses.end(), g.address);
        if (!g.active || slot >= g.sockets.size() || !g.sockets[slot] || it == addresses.end()) continue;
        auto index = static_cast<uint32_t>(it - addresses.begin());
        if (!core::send_message(adopter->channel.get(), {core::ChannelMessage::Type::kAdopt, index, slot},
                                g.sockets[slot].get()))
            spdlog::error("sending slot {}'s listener to worker {} failed: {}", slot, adopter->pid,
                          std::strerror(errno));
    }
    s.lent_to = adopter->pid;
    spdlog::info("worker process {} accepts for slot {} until the slot has a worker again", adopter->pid, slot);
}

// The slot's own worker accepts from its listeners again: the lender lets go of its duplicates.
void Master::take_back_listeners(uint32_t slot) {
    Slot& s = slots_[slot];
    if (s.lent_to == 0) return;
    Child* lender = find(std::exchange(s.lent_to, 0));
    if (!lender || !lender->channel) return;
    if (!core::send_message(lender->channel.get(), {core::ChannelMessage::Type::kGiveBack, 0, slot}))
        spdlog::error("asking worker {} to give back slot {}'s listeners failed: {}", lender->pid, slot,
                      std::strerror(errno));
    else
        spdlog::info("worker process {} gives back slot {}'s listeners", lender->pid, slot);
}

void Master::respawn_due() {
    if (stopping_) return;
    for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
        Slot& s = slots_[slot];
        if (s.respawn_at == 0 || now_ < s.respawn_at) continue;
        s.respawn_at = 0;
        spawn(slot, generation_, *config_);
    }
}

void Master::start_reload() {
    if (successor_) {
        spdlog::error("reload refused: a binary upgrade is in progress");
        answer(reload_waiters_, false, "a binary upgrade is in progress");
        return;
    }
    if (pending_) {
        reload_again_ = true;  // one reload at a time; this one follows when the current ends
        return;
    }
    std::unique_ptr<conf::Config> next;
    try {
        next = std::make_unique<conf::Config>(conf::load_config(config_path_));
        for (const auto& a : conf::distinct_listen_addresses(*next)) {
            bool ours = std::any_of(groups_.begin(), groups_.end(),
                                    [&](const Group& g) { return g.active && g.address == a; });
            if (!ours) probe_address_free(a);
        }
        // New workers inherit the master's error log, so a changed one is opened before they fork.
        if (next->error_log != config_->error_log || next->log_level != config_->log_level)
            core::setup_error_log(next->error_log, next->log_level);
    } catch (const std::exception& e) {
        spdlog::error("reload failed: {}; generation {} keeps serving", e.what(), generation_);
        notifier_.reload_failed(e.what());
        answer(reload_waiters_, false, fmt::format("{}; generation {} keeps serving", e.what(), generation_));
        return;
    }
    detect_ktls_if_needed(*next);
    pending_ = std::move(next);
    pending_generation_ = ++last_generation_;
    reload_deadline_ = now_ + kReadyTimeoutMs;
    ensure_groups(*pending_);
    for (uint32_t s = 0; s < pending_->worker_processes; ++s) spawn(s, pending_generation_, *pending_);
}

void Master::check_reload() {
    if (!pending_) return;
    size_t ready = 0, total = 0;
    for (const Child& c : children_) {
        if (c.generation != pending_generation_) continue;
        ++total;
        ready += c.ready;
    }
    if (total == pending_->worker_processes && ready == total) return commit_reload();
    if (now_ >= reload_deadline_) abort_reload("the new workers were not ready in time");
}

// SIGQUIT: the worker stops accepting (taking what is queued), finishes its responses and exits
// within worker_shutdown_timeout; one that does not (a loop stuck, or never started) is killed.
void Master::retire(Child& c, std::chrono::milliseconds shutdown_timeout) {
    if (c.retiring) return;
    c.retiring = true;
    c.kill_at = now_ + static_cast<uint64_t>(shutdown_timeout.count()) + kGracefulExtraMs;
    ::kill(c.pid, SIGQUIT);
}

void Master::kill_overdue() {
    for (Child& c : children_) {
        if (c.kill_at == 0 || now_ < c.kill_at) continue;
        spdlog::warn(
            "worker process {} (slot {}, generation {}) still runs after its shutdown timeout; killing it",
            c.pid, c.slot, c.generation);
        ::kill(c.pid, SIGKILL);
        c.kill_at = 0;
    }
}

void Master::commit_reload() {
    for (Child& c : children_)
        if (c.generation != pending_generation_) retire(c, config_->worker_shutdown_timeout);
    config_ = std::move(pending_);
    pending_sockets_.clear();
    generation_ = pending_generation_;
    slots_.assign(config_->worker_processes, Slot{});
    // Sockets of addresses the new config dropped: nobody will accept from them again.
    auto addresses = conf::distinct_listen_addresses(*config_);
    for (Group& g : groups_) {
        if (!g.active || std::find(addresses.begin(), addresses.end(), g.address) != addresses.end()) continue;
        g.active = false;
        g.sockets.clear();
    }
    spdlog::info("reload complete: generation {} serves with {} workers", generation_, config_->worker_processes);
    // A new generation, a new ticket key; the one before stays for decryption, so a client that
    // got its ticket before the reload still resumes (and is given a ticket under the new key).
    if (tickets_->rotate_now(to_steady(now_)))
        spdlog::info("session-ticket keys rotated for generation {}; the previous key still decrypts", generation_);
    else
        spdlog::error("session-ticket key rotation failed (RAND_bytes); the old keys stay in use");
    serving_announced_ = true;
    on_generation_serving();
    confirm_waiters_.insert(confirm_waiters_.end(), reload_waiters_.begin(), reload_waiters_.end());
    reload_waiters_.clear();
}

void Master::abort_reload(const std::string& why) {
    if (pending_->error_log != config_->error_log || pending_->log_level != config_->log_level) {
        try {
            core::setup_error_log(config_->error_log, config_->log_level);
        } catch (const std::exception& e) {
            spdlog::error("reopening the previous error log failed: {}", e.what());
        }
    }
    spdlog::error("reload failed: {}; generation {} keeps serving", why, generation_);
    notifier_.reload_failed(why);
    answer(reload_waiters_, false, fmt::format("{}; generation {} keeps serving", why, generation_));
    // Some of the new workers may be accepting already: they drain like any retired worker
    // rather than reset the connections they hold.
    for (Child& c : children_)
        if (c.generation == pending_generation_) retire(c, pending_->worker_shutdown_timeout);
    // Listeners bound for the failed generation would take a share of new connections that
    // nobody accepts: close them, and forget addresses only the failed config had.
    for (auto [group, slot] : pending_sockets_) groups_[group].sockets[slot].reset();
    pending_sockets_.clear();
    auto addresses = conf::distinct_listen_addresses(*config_);
    for (Group& g : groups_) {
        if (g.active && std::find(addresses.begin(), addresses.end(), g.address) == addresses.end()) {
            g.active = false;
            g.sockets.clear();
        }
    }
    pending_.reset();
    // A SIGHUP that came meanwhile is dropped with the failed attempt, as before; a client that
    // asked meanwhile gets an attempt of its own (start_queued_reload, outside the reaping loop).
    reload_again_ = !next_reload_waiters_.empty();
}

// Workers that dropped privileges reopen their logs by path on SIGUSR1: create the files now
// and give them to the workers' user, as the files opened at start-up effectively were.
void Master::prepare_logs_for_workers() const {
    if (config_->user.empty() || geteuid() != 0) return;
    for (const std::string& path : {config_->error_log, config_->http.access_log}) {
        if (path == "stderr" || path == "off") continue;
        core::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
        if (!fd || ::fchown(fd.get(), config_->user_uid, config_->user_gid) != 0)
            spdlog::error("preparing \"{}\" for user \"{}\" failed: {}", path, config_->user, std::strerror(errno));
    }
}

void Master::begin_stop(bool graceful) {
    if (stopping_ && graceful) return;
    stopping_ = true;
    notifier_.stopping();
    pending_.reset();
    for (auto* waiting : {&reload_waiters_, &next_reload_waiters_, &confirm_waiters_})
        answer(*waiting, false, "the master is stopping");
    control_.close_listener();
    for (Slot& s : slots_) s.respawn_at = 0;
    uint64_t grace = graceful ? static_cast<uint64_t>(config_->worker_shutdown_timeout.count()) + kGracefulExtraMs
                              : kFastStopGraceMs;
    stop_deadline_ = now_ + grace;
    // Nobody will accept for these again: let go of our copies first, so that each worker's
    // descriptor is the last one and the worker takes what is queued before it closes it,
    // instead of the queue lingering until our exit resets it.
    for (Group& g : groups_) g.sockets.clear();
    signal_children(graceful ? SIGQUIT : SIGTERM);
}

void Master::signal_children(int sig) {
    for (const Child& c : children_)
        if (c.pid > 0) ::kill(c.pid, sig);
}

// A ticket stays usable between one and two intervals (it is sealed with the current key, which
// is kept as the previous one for one more interval), so the interval is the longest
// session_timeout of the servers that have a tls group (1 h by default, and when none has one):
// a client may resume for at least session_timeout after its ticket was issued.
std::chrono::seconds Master::ticket_interval() const {
    std::chrono::seconds longest{0};
    for (const conf::ServerConfig& s : config_->servers)
        if (s.tls) longest = std::max(longest, s.tls->session_timeout);
    return longest.count() > 0 ? longest : std::chrono::duration_cast<std::chrono::seconds>(
                                                   conf::kDefaults.tls_session_timeout);
}

void Master::rotate_tickets() {
    if (stopping_) return;
    if (tickets_->rotate_if_due(to_steady(now_), ticket_interval()))
        spdlog::info("session-ticket keys rotated (every {} s); the previous key still decrypts",
                     ticket_interval().count());
}

void Master::watchdog() {
    auto limit = static_cast<uint64_t>(config_->worker_watchdog_timeout.count());
    if (limit == 0 || now_ < next_watchdog_ || stopping_) return;
    next_watchdog_ = now_ + kWatchdogPeriodMs;
    for (Child& c : children_) {
        if (!c.ready || c.retiring) continue;
        uint64_t beat = stats_.at(static_cast<size_t>(c.record)).heartbeat_ms.load(std::memory_order_relaxed);
        if (now_ > beat && now_ - beat > limit) {
            spdlog::error("worker process {} (slot {}) has not run its loop for {} ms; killing it", c.pid, c.slot,
                          now_ - beat);
            ::kill(c.pid, SIGKILL);
            c.ready = false;  // once is enough; the reaper respawns it
        }
    }
}

}  // namespace portico::master
