#include "slow_client.hpp"

#include "monotonic_clock.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <system_error>

namespace portico::bench {
namespace {

// How often the server's socket table is read: the resolution of a reader's cut time.
constexpr int64_t kWatchIntervalNs = 100'000'000;
constexpr int64_t kReadIntervalNs = 1'000'000'000;
// Connections still connecting this long after the ramp no longer hold up the load.
constexpr int64_t kReadyGraceNs = 5'000'000'000;
constexpr size_t kBufferBytes = 64 * 1024;
constexpr int kMaxEvents = 256;
constexpr std::string_view kFiller = "X-Slow: 1\r\n";

bool same_server(const Target& a, const Target& b) noexcept {
    return a.address_len == b.address_len && std::memcmp(&a.address, &b.address, a.address_len) == 0;
}

uint16_t local_port(int fd) noexcept {
    sockaddr_storage local{};
    socklen_t len = sizeof(local);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) return 0;
    const auto port = local.ss_family == AF_INET ? reinterpret_cast<sockaddr_in&>(local).sin_port
                                                 : reinterpret_cast<sockaddr_in6&>(local).sin6_port;
    return ntohs(port);
}

// "HTTP/1.1 408 ..." -> 408; 0 when the bytes do not start a status line.
uint16_t status_of(const char* p, size_t n) noexcept {
    if (n < 12 || std::memcmp(p, "HTTP/1.", 7) != 0) return 0;
    uint16_t status = 0;
    for (size_t i = 9; i < 12; ++i) {
        if (p[i] < '0' || p[i] > '9') return 0;
        status = static_cast<uint16_t>(status * 10 + (p[i] - '0'));
    }
    return status;
}

}  // namespace

SlowClient::SlowClient(const SlowPlan& plan, const Target& loris_target, const Target& reader_target,
                       const std::string& reader_request, int ready_fd)
    : plan_(plan),
      loris_target_(loris_target),
      reader_target_(reader_target),
      reader_request_(reader_request),
      loris_prefix_(loris_prefix(loris_target)),
      conns_(static_cast<size_t>(plan.loris) + plan.readers),
      buffer_(new char[kBufferBytes]),
      ready_fd_(ready_fd) {
    const uint64_t n = conns_.size();
    for (uint64_t i = 0; i < n; ++i) {
        // The readers spread evenly among the slowloris, so both kinds ramp up together.
        const bool reader = (i + 1) * plan.readers / n > i * plan.readers / n;
        conns_[i].kind = reader ? Kind::kReader : Kind::kLoris;
        schedule(static_cast<uint32_t>(i), plan.start_ns + static_cast<int64_t>(i * plan.ramp_ns / n));
    }
    if (plan.loris > 0) {
        loris_table_ = std::make_unique<ServerSockets>(loris_target);
        loris_peers_ = std::make_unique<ServerSockets::Peers>();
    }
    if (plan.readers > 0 && (plan.loris == 0 || !same_server(loris_target, reader_target))) {
        reader_table_ = std::make_unique<ServerSockets>(reader_target);
        reader_peers_ = std::make_unique<ServerSockets::Peers>();
    }
    results_.socket_table =
        (!loris_table_ || loris_table_->valid()) && (!reader_table_ || reader_table_->valid());
    results_.start_ns = plan.start_ns;
}

SlowClient::~SlowClient() {
    for (auto& c : conns_) {
        if (c.fd >= 0) ::close(c.fd);
    }
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (ready_fd_ >= 0) ::close(ready_fd_);
}

std::string SlowClient::loris_prefix(const Target& target) {
    return "GET " + target.path + " HTTP/1.1\r\nHost: " + target.host +
           "\r\nUser-Agent: portico-bench slowloris\r\n";
}

char SlowClient::loris_byte(const std::string& prefix, uint64_t k) noexcept {
    if (k < prefix.size()) return prefix[k];
    return kFiller[(k - prefix.size()) % kFiller.size()];
}

const SlowResults& SlowClient::run(const volatile std::sig_atomic_t& stop) {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1() failed");
    now_ = monotonic_ns();
    next_watch_ = now_ + kWatchIntervalNs;
    epoll_event events[kMaxEvents];
    while (stop == 0) {
        const int n = wait(events, kMaxEvents);
        now_ = monotonic_ns();
        for (int i = 0; i < n; ++i) {
            Conn& c = conns_[static_cast<uint32_t>(events[i].data.u64)];
            if (c.fd >= 0 && c.generation == static_cast<uint32_t>(events[i].data.u64 >> 32)) {
                on_event(c, events[i].events);
            }
        }
        fire_due();
        if (now_ >= next_watch_) {
            watch_table();
            next_watch_ = now_ + kWatchIntervalNs;
        }
        check_ready();
    }
    now_ = monotonic_ns();
    finish();
    results_.end_ns = now_;
    return results_;
}

int SlowClient::wait(epoll_event* events, int max) noexcept {
    int64_t next = next_watch_;
    if (!due_.empty()) next = std::min(next, due_.top().at);
    const int64_t delay = std::max<int64_t>(0, next - now_);
    const timespec ts{static_cast<time_t>(delay / 1'000'000'000), static_cast<long>(delay % 1'000'000'000)};
    int n = epoll_pwait2(epoll_fd_, events, max, &ts, nullptr);
    if (n < 0 && errno == ENOSYS) {
        n = epoll_wait(epoll_fd_, events, max, static_cast<int>((delay + 999'999) / 1'000'000));
    }
    return std::max(0, n);  // EINTR: the caller looks at the stop flag
}

void SlowClient::schedule(uint32_t index, int64_t at) noexcept {
    Conn& c = conns_[index];
    due_.push(Due{at, index, ++c.due_seq});
}

void SlowClient::fire_due() noexcept {
    while (!due_.empty() && due_.top().at <= now_) {
        const Due d = due_.top();
        due_.pop();
        Conn& c = conns_[d.index];
        if (d.seq == c.due_seq) act(c);
    }
}

void SlowClient::act(Conn& c) noexcept {
    if (c.state == State::kWaiting)
        open(c);
    else if (c.state != State::kConnecting && c.kind == Kind::kLoris)
        send_byte(c);
    else if (c.state == State::kOpen)
        read_some(c, plan_.read_bytes);
}

void SlowClient::open(Conn& c) noexcept {
    const bool reader = c.kind == Kind::kReader;
    const Target& target = reader ? reader_target_ : loris_target_;
    ++results_of(c).opened;
    c.fd = socket(target.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return connect_failed(c);
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    // Before connect, so the window scale and the MSS the server is told follow from them: a
    // loopback MSS of 64 KiB would let the server's kernel take megabytes of the response off
    // its hands at once, and no send timeout could ever apply (see BENCHMARKS.md).
    if (reader && plan_.rcvbuf > 0)
        setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &plan_.rcvbuf, sizeof(plan_.rcvbuf));
    if (reader && plan_.mss > 0) setsockopt(c.fd, IPPROTO_TCP, TCP_MAXSEG, &plan_.mss, sizeof(plan_.mss));
    ++c.generation;
    c.sent = 0;
    c.status = 0;
    c.in_table = false;
    c.parser.reset(false);
    epoll_event ev{};
    // A reader is read on its timer, not when data arrives: it only wants to hear of the end.
    ev.events = (reader ? 0u : EPOLLIN) | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = (uint64_t{c.generation} << 32) | index_of(c);
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) return connect_failed(c);
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&target.address), target.address_len) == 0) {
        return on_established(c);
    }
    if (errno != EINPROGRESS) return connect_failed(c);
    c.state = State::kConnecting;
}

void SlowClient::on_event(Conn& c, uint32_t events) noexcept {
    if (c.state == State::kConnecting) {
        if ((events & (EPOLLERR | EPOLLHUP)) != 0) return connect_failed(c);
        if ((events & EPOLLOUT) != 0) on_established(c);
        return;
    }
    if (c.state == State::kHeld) {
        if ((events & EPOLLERR) != 0) return released(c);
        if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0) drain_held(c);
        return;
    }
    if (c.state != State::kOpen) return;
    if ((events & EPOLLERR) != 0) return cut(c, Cut::kReset);
    if (c.kind == Kind::kLoris) {
        if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0) read_answer(c);
        return;
    }
    if ((events & (EPOLLRDHUP | EPOLLHUP)) == 0) return;
    // The server's FIN is here, so is all it sent before it: did the response complete?
    read_some(c, SIZE_MAX);
}

void SlowClient::on_established(Conn& c) noexcept {
    c.state = State::kOpen;
    c.established_ns = now_;
    c.local_port = local_port(c.fd);
    ++results_of(c).established;
    if (c.kind == Kind::kLoris) return send_byte(c);
    const ssize_t n = ::send(c.fd, reader_request_.data(), reader_request_.size(), MSG_NOSIGNAL);
    if (n < 0) return cut(c, Cut::kReset);
    // A fresh socket takes a request of a few hundred bytes whole.
    results_.readers.bytes_sent += static_cast<uint64_t>(n);
    schedule(index_of(c), now_ + kReadIntervalNs);
}

void SlowClient::send_byte(Conn& c) noexcept {
    const char byte = loris_byte(loris_prefix_, c.sent);
    const ssize_t n = ::send(c.fd, &byte, 1, MSG_NOSIGNAL);
    if (n == 1) {
        ++c.sent;
        ++results_.loris.bytes_sent;
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return c.state == State::kHeld ? released(c) : cut(c, Cut::kReset);
    }
    schedule(index_of(c), now_ + plan_.loris_interval_ns);
}

// A reader's turn: take up to `want` bytes (read_bytes, as a slow client would), no more.
void SlowClient::read_some(Conn& c, size_t want) noexcept {
    while (want > 0) {
        const ssize_t n = ::read(c.fd, buffer_.get(), std::min(want, kBufferBytes));
        if (n > 0) {
            results_.readers.bytes_received += static_cast<uint64_t>(n);
            size_t used = 0;
            const auto r = c.parser.feed(buffer_.get(), static_cast<size_t>(n), used);
            if (r == ResponseParser::Result::kDone) {
                ++results_.readers.completed;
                return release(c);
            }
            if (r == ResponseParser::Result::kError) return cut(c, Cut::kFin);
            want -= static_cast<size_t>(n);
        } else if (n == 0) {
            return cut(c, Cut::kFin);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else if (errno != EINTR) {
            return cut(c, Cut::kReset);
        }
    }
    schedule(index_of(c), now_ + kReadIntervalNs);
}

// Bytes for a slowloris: the server answered (a 408, say) or closed instead of waiting.
void SlowClient::read_answer(Conn& c) noexcept {
    for (;;) {
        const ssize_t n = ::read(c.fd, buffer_.get(), kBufferBytes);
        if (n > 0) {
            results_.loris.bytes_received += static_cast<uint64_t>(n);
            c.status = status_of(buffer_.get(), static_cast<size_t>(n));
            return cut(c, Cut::kAnswered);
        }
        if (n == 0) return cut(c, Cut::kFin);
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno != EINTR) return cut(c, Cut::kReset);
    }
}

// A persisting slowloris takes in whatever comes after the cut (the rest of an answer, the FIN)
// and only stops at a reset: the server has let go.
void SlowClient::drain_held(Conn& c) noexcept {
    for (;;) {
        const ssize_t n = ::read(c.fd, buffer_.get(), kBufferBytes);
        if (n > 0) {
            results_.loris.bytes_received += static_cast<uint64_t>(n);
            continue;
        }
        if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno != EINTR) return released(c);
    }
}

void SlowClient::released(Conn& c) noexcept {
    SlowKindResults& r = results_of(c);
    ++r.released;
    r.held_after.record(static_cast<uint64_t>(std::max<int64_t>(0, now_ - c.cut_ns)) / 1000);
    release(c);
}

void SlowClient::connect_failed(Conn& c) noexcept {
    ++results_of(c).connect_failed;
    release(c);
}

void SlowClient::cut(Conn& c, Cut how) noexcept {
    SlowKindResults& r = results_of(c);
    ++r.cut;
    if (how == Cut::kAnswered) {
        ++r.answered;
        if (c.status == 408) ++r.answered_408;
    }
    if (how == Cut::kReset) ++r.reset;
    if (how == Cut::kTable) ++r.seen_closing;
    const int64_t lived = now_ - c.established_ns;
    r.cut_after.record(static_cast<uint64_t>(std::max<int64_t>(0, lived)) / 1000);
    const int64_t expected = expected_of(c);
    if (expected > 0 && lived < expected - plan_.slack_ns) ++r.early;
    if (expected > 0 && lived > expected + plan_.slack_ns) ++r.late;
    if (plan_.persist && c.kind == Kind::kLoris && how != Cut::kReset) {
        // Its next byte is already scheduled: it trickles on as if nothing had happened.
        c.state = State::kHeld;
        c.cut_ns = now_;
        return drain_held(c);
    }
    release(c);
}

void SlowClient::release(Conn& c) noexcept {
    if (c.fd >= 0) ::close(c.fd);  // unread bytes make this a reset, which frees the server's orphan
    c.fd = -1;
    c.state = State::kWaiting;
    if (plan_.reconnect)
        schedule(index_of(c), now_ + retry_delay(c));
    else
        ++c.due_seq;  // cancels whatever was due
}

void SlowClient::watch_table() noexcept {
    const bool loris_ok = loris_table_ && loris_table_->dump(*loris_peers_);
    bool reader_ok = loris_ok;
    const ServerSockets::Peers* reader_peers = loris_peers_.get();
    if (reader_table_) {
        reader_ok = reader_table_->dump(*reader_peers_);
        reader_peers = reader_peers_.get();
    }
    for (auto& c : conns_) {
        const bool loris = c.kind == Kind::kLoris;
        if ((c.state == State::kOpen || c.state == State::kHeld) && (loris ? loris_ok : reader_ok)) {
            watch(c, loris ? *loris_peers_ : *reader_peers);
        }
    }
}

void SlowClient::watch(Conn& c, const ServerSockets::Peers& peers) noexcept {
    if (c.state == State::kHeld) {
        if (c.in_table && !peers.held.test(c.local_port)) released(c);
        return;
    }
    if (peers.established.test(c.local_port)) {
        c.in_table = true;
        return;
    }
    // Never seen there: the table may not show this server at all; trust the socket only. A
    // slowloris is told by its socket: nothing is queued ahead of the server's answer or FIN,
    // and the table can show the server's side closing before that answer has been delivered
    // (loopback delivers in a softirq, which a busy machine defers), losing the 408.
    if (!c.in_table || c.kind == Kind::kLoris) return;
    cut(c, Cut::kTable);
}

void SlowClient::check_ready() noexcept {
    if (ready_fd_ < 0 || now_ < plan_.start_ns + plan_.ramp_ns) return;
    const bool connecting = std::any_of(conns_.begin(), conns_.end(),
                                        [](const Conn& c) { return c.state == State::kConnecting; });
    if (connecting && now_ < plan_.start_ns + plan_.ramp_ns + kReadyGraceNs) return;
    const char byte = 1;
    [[maybe_unused]] const ssize_t n = ::write(ready_fd_, &byte, 1);
    ::close(ready_fd_);
    ready_fd_ = -1;
}

void SlowClient::finish() noexcept {
    for (auto& c : conns_) {
        if (c.state == State::kOpen) {
            SlowKindResults& r = results_of(c);
            ++r.open_at_end;
            const int64_t age = now_ - c.established_ns;
            r.age_at_end.record(static_cast<uint64_t>(std::max<int64_t>(0, age)) / 1000);
            const int64_t expected = expected_of(c);
            if (expected > 0 && age > expected + plan_.slack_ns) ++r.late;
        }
        if (c.state == State::kHeld) ++results_of(c).held_at_end;
        if (c.fd >= 0) ::close(c.fd);
        c.fd = -1;
        c.state = State::kWaiting;
    }
}

SlowKindResults& SlowClient::results_of(const Conn& c) noexcept {
    return c.kind == Kind::kLoris ? results_.loris : results_.readers;
}

int64_t SlowClient::expected_of(const Conn& c) const noexcept {
    return c.kind == Kind::kLoris ? plan_.expect_loris_ns : plan_.expect_reader_ns;
}

// A replacement waits one interval, so a server that cuts at once is not hammered.
int64_t SlowClient::retry_delay(const Conn& c) const noexcept {
    return c.kind == Kind::kLoris ? plan_.loris_interval_ns : kReadIntervalNs;
}

uint32_t SlowClient::index_of(const Conn& c) const noexcept {
    return static_cast<uint32_t>(&c - conns_.data());
}

}  // namespace portico::bench
