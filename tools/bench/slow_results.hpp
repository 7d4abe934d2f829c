#pragma once
// What the slow-client process measured, per kind of slow client. Trivially copyable like
// Results: the process writes it whole into its pipe when it is done.
//
// A connection's life, as seen from the client:
//
//   open ---> established ---> ... (trickling, or reading slowly) ... ---> cut by the server
//                  |                                                  \--> still open at the end
//                  +-- the clock of "cut after" and "age at end" starts here
//
//   with --slowloris-persist, a slowloris goes on after the cut:
//   cut ---> ... (trickling on, as attack tools do) ... ---> released: the server let go of its
//                                                            socket (closed or reset it)

#include "latency_histogram.hpp"

#include <cstdint>
#include <type_traits>

namespace portico::bench {

struct SlowKindResults {
    uint64_t opened = 0;          ///< connect() attempts
    uint64_t established = 0;     ///< connections that came up
    uint64_t connect_failed = 0;  ///< refused, reset or timed out before coming up
    uint64_t cut = 0;             ///< the server ended the connection
    uint64_t answered = 0;        ///< of those cut: a response head came first (a 408, say)
    uint64_t answered_408 = 0;    ///< of those answered: with status 408
    uint64_t reset = 0;           ///< of those cut: the client saw ECONNRESET/EPIPE
    uint64_t seen_closing = 0;    ///< of those cut: seen in the server's socket table (readers)
    uint64_t completed = 0;       ///< a slow reader received its whole response (not expected)
    uint64_t open_at_end = 0;     ///< still up when the run ended
    uint64_t early = 0;           ///< cut sooner than expected - slack
    uint64_t late = 0;            ///< cut later than expected + slack, or open at the end past it
    uint64_t released = 0;        ///< --slowloris-persist: the server let go after the cut
    uint64_t held_at_end = 0;     ///< --slowloris-persist: cut, and still held at the end
    uint64_t bytes_sent = 0;
    uint64_t bytes_received = 0;
    LatencyHistogram cut_after;   ///< µs from established to the cut
    LatencyHistogram age_at_end;  ///< µs from established to the end, of those open at the end
    LatencyHistogram held_after;  ///< µs from the cut to the release
};

struct SlowResults {
    SlowKindResults loris;
    SlowKindResults readers;
    int64_t start_ns = 0;       ///< CLOCK_MONOTONIC when the first slow connection opened
    int64_t end_ns = 0;         ///< when the slow clients stopped
    bool socket_table = false;  ///< the server's sockets could be watched (sock_diag)
};

static_assert(std::is_trivially_copyable_v<SlowResults>, "SlowResults travels through a pipe as bytes");

}  // namespace portico::bench
