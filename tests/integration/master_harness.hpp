#pragma once
// What the master-process tests share: configs that run a master over the fixture site, the lines
// the master logs, and the steps the tests take again and again (a slow download, connections
// queued on listeners nobody accepts from, waiting for a respawned worker).
//
// Readiness is read from the error log ("worker process PID (slot S, generation G) is ready"),
// processes from /proc (proc.hpp), counters from the status endpoint (status.hpp).

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tests/integration/harness.hpp"
#include "tests/integration/load.hpp"
#include "tests/integration/proc.hpp"
#include "tests/integration/status.hpp"

namespace portico::test {

/// A config template (see expand()) for Site under a master: servers a.test (default, with the
/// status endpoint at /status) and b.test on one address, logs and pid file in the site directory.
struct MasterConfig {
    uint32_t workers = 2;
    std::string root = "www";              ///< a.test's root, relative to the site directory
    std::string error_log = "error.log";   ///< Server waits in error.log: change it only for a second master
    std::string pid_file = "portico.pid";  ///< "" for none
    std::string access_log = "access.log";  ///< relative to the site directory
    std::string top_extra;                 ///< more top-level settings
    std::string http_extra;                ///< more settings in the http group

    /// The defaults with `top_extra` and `workers` set.
    [[nodiscard]] static MasterConfig with(std::string top_extra, uint32_t workers = 2);
    [[nodiscard]] std::string text() const;
};

/// The fixture site served by a master with `config`; constructed once all of generation 1 is ready.
struct MasterSite {
    explicit MasterSite(MasterConfig c = {});

    MasterConfig config;
    Site site;
    Server server;
    std::map<uint32_t, pid_t> workers;  ///< generation 1's, by slot

    [[nodiscard]] uint16_t port() const noexcept { return server.port(); }
    /// The master's pid while the Server runs (-1 after stop(): keep a copy if needed later).
    [[nodiscard]] pid_t master() const noexcept { return server.pid(); }
    /// Rewrites the config file from `config`, sends SIGHUP and waits for "reload complete" of
    /// `generation`; returns that generation's workers by slot.
    std::map<uint32_t, pid_t> reload(uint32_t generation);
    /// Waits until each of `pids` (slot -> pid) logged that it exited with code 0.
    void wait_exited(const std::map<uint32_t, pid_t>& pids, uint32_t generation);
    /// Waits until each of `pids` (slot -> pid) logged its end, however it ended.
    void wait_ended(const std::map<uint32_t, pid_t>& pids, uint32_t generation);
};

// --- the error log ------------------------------------------------------------------------------

/// How many times `needle` occurs in `text`.
[[nodiscard]] size_t count(std::string_view text, std::string_view needle);
/// The first line of `text` that contains `needle`, or "".
[[nodiscard]] std::string line_with(const std::string& text, std::string_view needle);
/// The 1-based number of the first line of `text` that contains `needle`; fails the test if none.
[[nodiscard]] int line_number(const std::string& text, std::string_view needle);
/// The "worker process PID (slot S, generation G) is ready" lines of `generation`: the last pid
/// that reported ready in each slot.
[[nodiscard]] std::map<uint32_t, pid_t> ready_workers(const std::string& log, uint32_t generation);
/// The "started worker process PID (slot S, generation G)" lines of `generation`: the last pid per slot.
[[nodiscard]] std::map<uint32_t, pid_t> started_workers(const std::string& log, uint32_t generation);
/// The "... respawning in X ms" delays, in order.
[[nodiscard]] std::vector<uint64_t> respawn_delays(const std::string& log);
/// The line the master logs when a worker of generation 1 dies of SIGKILL it did not send itself.
[[nodiscard]] std::string killed_line(pid_t pid, uint32_t slot);
/// "portico: worker process #S (generation G)", what ps shows for a worker.
[[nodiscard]] std::string worker_title(uint32_t slot, uint32_t generation);

/// Waits until `n` workers of `generation` have logged that they are ready and returns their
/// pids by slot. Fails the test if they do not within `limit`.
std::map<uint32_t, pid_t> wait_ready(const Server& server, uint32_t generation, uint32_t n,
                                     milliseconds limit = kWait);
/// Waits until slot `slot` of `generation` reports ready with a pid other than `old`; returns it.
pid_t wait_successor(const Server& server, uint32_t slot, uint32_t generation, pid_t old, milliseconds limit);

/// A master the test did not start itself (an upgrade's, found through the pid file): SIGTERM
/// when the guard goes, unless the test stopped it already.
struct AdoptedMaster {
    pid_t pid = 0;
    ~AdoptedMaster();
    AdoptedMaster() = default;
    explicit AdoptedMaster(pid_t p) noexcept : pid(p) {}
    AdoptedMaster(const AdoptedMaster&) = delete;
    AdoptedMaster& operator=(const AdoptedMaster&) = delete;
    /// SIGQUIT, then waits until it is gone.
    bool stop();
};

// --- steps ----------------------------------------------------------------------------------------

[[nodiscard]] milliseconds since(Clock::time_point t);
[[nodiscard]] std::vector<pid_t> sorted(std::vector<pid_t> pids);
/// The pids of a slot -> pid map, sorted.
[[nodiscard]] std::vector<pid_t> pids_of(const std::map<uint32_t, pid_t>& by_slot);

/// Writes www/huge.bin, larger than all the socket buffers between server and client, so that
/// while the client does not read, the server really is still sending. Returns its bytes.
const std::string& write_huge_file(const Site& site);
/// Starts a download of huge.bin on a client that does not read (4 KiB receive window) and reads
/// the response head: the body stays in flight until the test reads it.
[[nodiscard]] std::unique_ptr<Client> slow_download(uint16_t port, const std::string& huge);
/// Reads the rest of the download quickly and checks it byte for byte.
void finish_download(Client& c, const std::string& huge);

/// True if a response (or anything) is waiting to be read on `c`.
[[nodiscard]] bool answered(const Client& c);
/// Adds connections to `clients`, each with a request sent, `per_round` at a time, until every
/// listener on `port` holds at least one in its accept queue. Nobody may be accepting.
void queue_on_every_listener(uint16_t port, size_t per_round, std::vector<std::unique_ptr<Client>>& clients);

}  // namespace portico::test
