#include "master/notify.hpp"

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace portico::master {
namespace {

uint64_t monotonic_usec() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000;
}

}  // namespace

Notifier::Notifier() {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    active_ = socket != nullptr && *socket != '\0';
    if (active_) spdlog::info("notifying the service manager at {}", socket);
}

void Notifier::serving(uint32_t generation, uint32_t ready, uint32_t wanted) noexcept {
    if (!active_) return;
    bool changed = generation != last_generation_ || ready != last_ready_ || wanted != last_wanted_;
    // At start-up READY waits for every worker; the end of a reload is the end, whatever it gave.
    bool announce = phase_ == Phase::kReloading || (phase_ == Phase::kStarting && ready == wanted);
    if (!changed && !announce) return;
    last_generation_ = generation;
    last_ready_ = ready;
    last_wanted_ = wanted;
    try {
        std::string msg;
        if (announce) msg = "READY=1\n";
        // The first READY names this process: after a binary upgrade the new master is not the
        // process systemd started, and MAINPID= (with NotifyAccess=all) makes it the main one.
        if (announce && phase_ == Phase::kStarting) msg += fmt::format("MAINPID={}\n", ::getpid());
        msg +=
            fmt::format("STATUS=generation {} serves with {} of {} workers ready", generation, ready, wanted);
        if (announce && !failure_.empty()) msg += "; the last reload failed: " + failure_;
        send(msg);
    } catch (...) {  // an allocation failure costs a status line, nothing more
    }
    if (!announce) return;
    failure_.clear();
    phase_ = Phase::kServing;
}

void Notifier::reloading() noexcept {
    if (!active_ || phase_ == Phase::kStarting) return;  // not READY yet: nothing to take back
    phase_ = Phase::kReloading;
    try {
        send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=reloading (generation {} serves)",
                         monotonic_usec(), last_generation_));
    } catch (...) {
    }
}

void Notifier::reload_failed(std::string_view why) noexcept {
    if (!active_) return;
    try {
        failure_.assign(why);
    } catch (...) {
    }
}

void Notifier::stopping() noexcept {
    if (!active_) return;
    send("STOPPING=1\nSTATUS=stopping");
    active_ = false;
}

void Notifier::send(const std::string& message) noexcept {
    // unset_environment = 0: a binary upgrade's new master needs the variable too.
    int r = sd_notify(0, message.c_str());
    if (r < 0) spdlog::warn("sd_notify() failed: {}", std::strerror(-r));
}

}  // namespace portico::master
