#pragma once
// The status endpoint (status_path = "/status" in MasterConfig) read strictly: its JSON document
// parsed field by field, in order, so a missing, extra or malformed field fails the test.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/integration/harness.hpp"

namespace portico::test {

struct WorkerStatus {
    uint64_t pid = 0, slot = 0, generation = 0, heartbeat_age_ms = 0, accepted = 0, active = 0, idle = 0,
             requests = 0, bytes_out = 0, status_4xx = 0, status_5xx = 0;
};

struct Status {
    std::vector<WorkerStatus> workers;
    WorkerStatus total;  ///< only the counters (accepted ... status_5xx) are set

    /// The worker with this pid; fails the test if it is not listed.
    [[nodiscard]] const WorkerStatus& of(pid_t pid) const;
    [[nodiscard]] bool lists(pid_t pid) const;
};

/// Parses the JSON document; fails the test on any malformation, missing or extra field.
[[nodiscard]] Status parse_status(const std::string& json);
/// GET /status on `c` (which stays open, keep-alive) and parse it.
[[nodiscard]] Status fetch_status(Client& c);
/// GET /status on a connection of its own.
[[nodiscard]] Status fetch_status(uint16_t port);

/// Fetches the status (a new connection each time) until `done` holds and returns that document.
/// Counters are published once per loop iteration, so a request just answered may take a moment
/// to show. Fails the test, naming `what`, if it does not happen within `limit`.
Status status_until(uint16_t port, const std::function<bool(const Status&)>& done, std::string_view what,
                    milliseconds limit = kWait);
/// The same on one keep-alive connection, which adds nothing to any worker's accepted count.
Status status_until(Client& c, const std::function<bool(const Status&)>& done, std::string_view what,
                    milliseconds limit = kWait);

}  // namespace portico::test
