#pragma once
// One connection of a client process. A plain record: the Client's event loop owns the logic,
// this only holds the state that must survive between two events on the socket.

#include "response_parser.hpp"
#include "schedule.hpp"

#include <cstddef>
#include <cstdint>

namespace portico::bench {

struct ClientConnection {
    enum class State : uint8_t { kClosed, kConnecting, kOpen };

    ResponseParser parser;
    int64_t deadline = Schedule::kNever;  ///< when the oldest request in flight times out
    size_t batch = 0;                     ///< bytes in the batch being written
    size_t unsent = 0;                    ///< of which not yet accepted by the kernel
    int fd = -1;
    uint32_t index = 0;       ///< position in the client's table, fixed
    uint32_t generation = 0;  ///< bumped per socket, to spot stale epoll events
    uint32_t target = 0;
    uint32_t in_flight = 0;  ///< claimed and not yet answered
    uint32_t oldest = 0;     ///< ring position of the oldest request in flight
    State state = State::kClosed;
    bool held = false;         ///< --hold: made its request, now stays idle
    bool cooling = false;      ///< connect failed: wait one tick before retrying
    bool idle_listed = false;  ///< on the client's list of free connections
};

}  // namespace portico::bench
