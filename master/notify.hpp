#pragma once
// The master's side of systemd's readiness protocol (sd_notify(3), Type=notify).
//
// systemd learns what the master is doing from datagrams sent to $NOTIFY_SOCKET:
//
//   start:   ... workers of generation 1 become ready ...   READY=1, MAINPID=, STATUS=generation 1 ...
//   reload:  RELOADING=1 + MONOTONIC_USEC   ...   READY=1, STATUS=generation 2 serves ...
//            (also after a failed reload: the old generation serves again and says so)
//   stop:    STOPPING=1
//
// Without $NOTIFY_SOCKET every call does nothing, so the master calls these unconditionally.
// Only the master sends: workers inherit the variable (a binary upgrade's new master needs it)
// but never construct a Notifier.

#include <cstdint>
#include <string>
#include <string_view>

namespace portico::master {

class Notifier {
public:
    /// Reads $NOTIFY_SOCKET once; inactive when it is unset or empty.
    Notifier();

    /// True if a supervisor listens (for tests and log lines).
    [[nodiscard]] bool active() const noexcept { return active_; }

    /// Called as the master's state may have changed: `ready` of `wanted` workers of the serving
    /// `generation` are ready. The first time all are (and once after every reloading()) it sends
    /// READY=1; whenever the figures change it sends a new STATUS= line. Cheap when nothing changed.
    void serving(uint32_t generation, uint32_t ready, uint32_t wanted) noexcept;

    /// A reload begins (SIGHUP): RELOADING=1 with MONOTONIC_USEC, as systemd requires, so that
    /// `systemctl reload` waits until serving() sends READY=1 again.
    void reloading() noexcept;

    /// A reload ended without a new generation; `why` goes into the STATUS= line that comes with
    /// the READY=1 of the next serving().
    void reload_failed(std::string_view why) noexcept;

    /// A stop begins: STOPPING=1. Later calls send nothing.
    void stopping() noexcept;

    /// Another master takes over (a binary upgrade): this one sends nothing more, so that its
    /// drain is not mistaken for the service stopping.
    void hand_over() noexcept { active_ = false; }

private:
    void send(const std::string& message) noexcept;

    enum class Phase : uint8_t { kStarting, kServing, kReloading };

    bool active_ = false;
    Phase phase_ = Phase::kStarting;
    uint32_t last_generation_ = 0;
    uint32_t last_ready_ = 0;
    uint32_t last_wanted_ = 0;
    std::string failure_;  // the last reload's failure, until the STATUS line reports it
};

}  // namespace portico::master
