#pragma once
// What the worker's loop drives besides client connections: an upstream connection of the proxy,
// say. Such an object's socket is registered once with the worker's epoll (edge-triggered, every
// event) through Context::poller, and its timer is the TimerEntry it derives from, in the same
// wheel as the connections', so it costs the loop what a client connection costs.

#include <cstdint>

#include "core/timer_wheel.hpp"

namespace portico::http {

struct Context;

class EventTarget : public core::TimerEntry {
public:
    static constexpr uint8_t kOwnerKind = 1;  ///< TimerEntry::owner_kind_ of every EventTarget

    EventTarget() noexcept { owner_kind_ = kOwnerKind; }
    EventTarget(const EventTarget&) = delete;
    EventTarget& operator=(const EventTarget&) = delete;

    /// epoll reported `events` on the registered socket.
    virtual void on_event(Context& ctx, uint32_t events) noexcept = 0;
    /// Its timer expired (already unlinked).
    virtual void on_timeout(Context& ctx) noexcept = 0;

protected:
    ~EventTarget() = default;
};

/// The worker's side: where targets register their sockets.
class Poller {
public:
    /// Registers `fd` (non-blocking, not yet registered) for `target` until unwatch(). Returns
    /// false when epoll refuses it (the caller closes the socket).
    virtual bool watch(int fd, EventTarget& target) noexcept = 0;
    /// Forgets `fd`; call before closing it. Events already fetched for it are dropped.
    virtual void unwatch(int fd) noexcept = 0;

protected:
    ~Poller() = default;
};

}  // namespace portico::http
