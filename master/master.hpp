#pragma once
// The master process: forks one worker per slot, supervises them, reloads on SIGHUP without
// losing a connection, and stops gracefully.
//
// Listening sockets outlive workers. For every distinct listen address the master keeps one
// SO_REUSEPORT socket per slot: the first worker of a slot binds it after fork and hands a
// duplicate to the master over its channel (SCM_RIGHTS); every later worker of that slot, a
// respawn or a reload's new generation, inherits the master's copy. A worker that stops closes
// only its duplicate, so the accept queue survives and the next worker takes what waits there.
// When a reload lowers worker_processes, the sockets of the vanished slots are not closed
// either: the remaining workers adopt them (socket i is served by slot i mod N).

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "core/fd.hpp"
#include "core/shared_stats.hpp"
#include "core/tls/ticket_key_ring.hpp"
#include "master/control_server.hpp"
#include "master/notify.hpp"
#include "master/pid_file.hpp"
#include "master/upgrade.hpp"

namespace portico::master {

/// Throws, naming the address, when a socket already listens on `a`: binding without
/// SO_REUSEPORT fails then, which is how a second server on our port shows itself (SO_REUSEPORT
/// alone would let both share it silently). Binds only, never listens.
void probe_address_free(const conf::ListenAddress& a);

class Master {
public:
    /// `config` is loaded and valid; `title` is what ps shows after "portico: master process ".
    /// Throws std::runtime_error if an address is taken by another server, or on failed set-up.
    /// `inherited` holds what an old master handed over when this one was started by a binary
    /// upgrade: its listeners are used instead of binding new ones, and the pid file and control
    /// socket are taken once this master's workers serve.
    Master(std::string config_path, std::unique_ptr<conf::Config> config, PidFile pid_file, std::string title,
           Inheritance inherited = {});
    ~Master();
    Master(const Master&) = delete;
    Master& operator=(const Master&) = delete;

    /// Supervises until stopped (SIGQUIT graceful, SIGTERM/SIGINT fast). Returns the exit code.
    int run();

    /// What an upgrade executes: `binary` (resolved at start) with `argv` (as given at start).
    void set_upgrade_command(std::string binary, std::vector<std::string> argv);

private:
    struct Group {
        conf::ListenAddress address;
        std::vector<core::UniqueFd> sockets;  // by slot; invalid where no worker bound one yet
        bool active = true;                   // false once no config uses the address
    };
    struct Child {
        pid_t pid = 0;
        uint32_t slot = 0;
        uint32_t generation = 0;
        int record = -1;
        core::UniqueFd channel;
        uint64_t started_ms = 0;
        bool ready = false;
        bool retiring = false;   // told to stop: its exit is expected
        uint64_t kill_at = 0;    // retiring: SIGKILL if still running then (0: no deadline)
        bool stopped_accepting = false;  // it reported that its listeners are closed
        std::string failure;             // why it could not start, as it reported
    };
    struct Slot {
        uint32_t crashes = 0;      // consecutive crashes, reset after a stable run
        uint64_t respawn_at = 0;   // 0: no respawn pending
        pid_t lent_to = 0;         // the worker accepting from this slot's listeners meanwhile
    };

    static constexpr uint64_t kUpgradeTag = 1ull << 60;    // epoll data of a new master's channel
    static constexpr uint64_t kUpgradeTimeoutMs = 30'000;  // its workers must serve by then

    void ensure_groups(const conf::Config& cfg);
    void spawn(uint32_t slot, uint32_t generation, const conf::Config& cfg);
    [[noreturn]] void run_child(size_t self, const conf::Config& cfg, core::UniqueFd channel);
    void on_signals();
    void on_event(uint64_t tag);
    void on_control_client(int fd);
    void request_reload(int client);
    void answer(std::vector<int>& clients, bool ok, const std::string& text);
    void check_started();
    void on_generation_serving();
    void start_queued_reload();
    void check_confirmations();
    void adopt_inherited();
    void start_upgrade(int client);
    void on_successor_channel();
    void upgrade_failed(const std::string& why);
    void hand_over(pid_t successor);
    void take_over();
    void give_up_upgrade(const std::string& why);
    void check_upgrade_deadline();
    void on_channel(pid_t pid);
    void reap();
    void on_child_exit(Child& c, int status);
    void schedule_respawn(Child& c);
    void respawn_due();
    void lend_listeners(uint32_t slot);
    void take_back_listeners(uint32_t slot);
    void retire(Child& c, std::chrono::milliseconds shutdown_timeout);
    void kill_overdue();
    void start_reload();
    void check_reload();
    void commit_reload();
    void abort_reload(const std::string& why);
    void begin_stop(bool graceful);
    void prepare_logs_for_workers() const;
    void signal_children(int sig);
    void watchdog();
    void rotate_tickets();
    [[nodiscard]] std::chrono::seconds ticket_interval() const;
    int next_timeout() const;
    Child* find(pid_t pid);
    uint32_t ready_workers() const;  // of the serving generation, not retiring

    std::string config_path_;
    std::unique_ptr<conf::Config> config_;    // the serving generation's
    std::unique_ptr<conf::Config> pending_;   // a reload's, until its workers are ready
    PidFile pid_file_;
    std::string title_;
    uint32_t generation_ = 1;                 // the serving generation
    uint32_t pending_generation_ = 0;
    uint32_t last_generation_ = 1;
    uint64_t reload_deadline_ = 0;
    bool reload_again_ = false;
    bool serving_announced_ = false;  // on_generation_serving() ran for generation_
    // Control clients (their fds) waiting for a reload's outcome: for the attempt in progress,
    // for the one that follows it, and for a committed one's old generation to stop accepting.
    std::vector<int> reload_waiters_;
    std::vector<int> next_reload_waiters_;
    std::vector<int> confirm_waiters_;
    ControlServer control_;
    // Binary upgrade. As the new master: what the old one handed over, until we took over.
    Inheritance inherited_;
    // As the old master: the new one being started, its channel and what it wrote so far.
    std::string binary_;
    std::vector<std::string> argv_;
    pid_t successor_ = 0;
    core::UniqueFd successor_channel_;
    std::string successor_line_;
    uint64_t upgrade_deadline_ = 0;
    std::vector<int> upgrade_waiters_;
    std::vector<int> handover_waiters_;  // answered once our workers stopped accepting
    std::vector<Group> groups_;
    std::vector<std::pair<uint32_t, uint32_t>> pending_sockets_;  // (group, slot) bound by a pending reload
    std::vector<Child> children_;
    std::vector<Slot> slots_;
    core::SharedStats stats_;
    // Session-ticket keys, in a page mapped before the first fork so that every worker of every
    // generation shares it; rotated on a timer and on every committed reload.
    std::unique_ptr<core::tls::TicketKeyRing> tickets_;
    core::UniqueFd epoll_;
    core::UniqueFd signals_;
    pid_t self_pid_ = 0;
    bool stopping_ = false;
    uint64_t stop_deadline_ = 0;
    bool killed_stragglers_ = false;
    uint64_t now_ = 0;
    uint64_t next_watchdog_ = 0;
    Notifier notifier_;                       // systemd's NOTIFY_SOCKET, when there is one
};

}  // namespace portico::master
