#include "client.hpp"

#include "monotonic_clock.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace portico::bench {
namespace {

// One read buffer for all connections: the parser keeps no bytes, so a buffer never has to
// outlive the read that filled it. Large enough that a 1 MiB body takes 16 reads, not 128.
constexpr size_t kReadBufferBytes = 64 * 1024;
constexpr int kMaxEvents = 256;
// Re-read the clock every this many events, so that a long batch of events does not stamp
// its last responses with the time the batch began.
constexpr int kEventsPerClockRead = 16;

ErrorKind kind_of(int err) noexcept {
    switch (err) {
        case ECONNRESET:
        case EPIPE:
        case ECONNABORTED: return ErrorKind::kReset;
        case ETIMEDOUT: return ErrorKind::kTimeout;
        default: return ErrorKind::kConnect;
    }
}

int socket_error(int fd) noexcept {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
    return err;
}

}  // namespace

Client::Client(const ClientPlan& plan, const std::vector<Target>& targets, const RequestSet& requests,
               ProgressSlot& progress)
    : plan_(plan),
      targets_(targets),
      requests_(requests),
      progress_(progress),
      schedule_(plan.budget, plan.rate, plan.start_ns, plan.measure_ns,
                static_cast<size_t>(plan.connections) * plan.pipeline),
      conns_(plan.connections),
      sent_(static_cast<size_t>(plan.connections) * plan.pipeline),
      read_buffer_(new char[kReadBufferBytes]),
      tick_ns_(std::clamp<int64_t>(plan.timeout_ns / 10, 1'000'000, 100'000'000)),
      next_target_(plan.first_target) {
    for (uint32_t i = 0; i < plan.connections; ++i) {
        conns_[i].index = i;
    }
    idle_.reserve(conns_.size());
}

Client::~Client() {
    for (auto& c : conns_) {
        if (c.fd >= 0) ::close(c.fd);
    }
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

const Results& Client::run(const volatile std::sig_atomic_t& stop) {
    start();
    epoll_event events[kMaxEvents];
    while (stop == 0 && !finished()) {
        const int n = wait(events, kMaxEvents);
        now_ = monotonic_ns();
        for (int i = 0; i < n; ++i) {
            handle_event(events[i]);
            if (i % kEventsPerClockRead == kEventsPerClockRead - 1) now_ = monotonic_ns();
        }
        if (now_ >= plan_.end_ns) break;
        if (now_ >= next_tick_) on_tick();
        if (schedule_.open_loop()) dispatch_due();
    }
    results_.start_ns = plan_.measure_ns;
    results_.end_ns = std::max(plan_.measure_ns, std::min(now_, plan_.end_ns));
    for (auto& c : conns_) {
        if (c.held && c.fd >= 0) ++results_.held;
        if (c.fd >= 0) shut(c);
    }
    publish();
    return results_;
}

void Client::start() {
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) {
        throw std::system_error(errno, std::generic_category(), "epoll_create1() failed");
    }
    now_ = monotonic_ns();
    next_tick_ = now_ + tick_ns_;
    for (auto& c : conns_) {
        // Closed loop: every connection starts at once. Open loop: they wait for due requests.
        if (schedule_.open_loop()) list_idle(c);
        else refill(c);
    }
}

int Client::wait(epoll_event* events, int max) noexcept {
    const int64_t delay = std::max<int64_t>(0, next_wakeup() - now_);
    if (precise_wait_) {
        // Nanosecond timeout: at high --rate the next request is due in microseconds, and a
        // millisecond-rounded wait would add its rounding to every latency.
        const timespec ts{static_cast<time_t>(delay / 1'000'000'000),
                          static_cast<long>(delay % 1'000'000'000)};
        const int n = epoll_pwait2(epoll_fd_, events, max, &ts, nullptr);
        if (n >= 0) return n;
        if (errno != ENOSYS) return 0;
        precise_wait_ = false;
    }
    const auto ms = static_cast<int>(std::min<int64_t>((delay + 999'999) / 1'000'000, 1000));
    return std::max(0, epoll_wait(epoll_fd_, events, max, ms));
}

int64_t Client::next_wakeup() const noexcept {
    int64_t wake = std::min(next_tick_, plan_.end_ns);
    if (schedule_.open_loop() && !idle_.empty()) wake = std::min(wake, schedule_.next_due());
    return wake;
}

bool Client::finished() const noexcept {
    const uint64_t budget = schedule_.budget();
    return budget != 0 && schedule_.claimed() == budget && resolved_ == budget;
}

void Client::handle_event(const epoll_event& event) noexcept {
    Connection& c = conns_[static_cast<uint32_t>(event.data.u64)];
    if (c.fd < 0 || c.generation != static_cast<uint32_t>(event.data.u64 >> 32)) {
        return;  // reported for a socket this connection has closed since
    }
    if (c.state == Connection::State::kConnecting) {
        if ((event.events & (EPOLLERR | EPOLLHUP)) != 0) {
            const int err = socket_error(c.fd);
            fail(c, kind_of(err) == ErrorKind::kReset ? ErrorKind::kReset : ErrorKind::kConnect);
            refill(c);
            return;
        }
        if ((event.events & EPOLLOUT) == 0) return;
        c.state = Connection::State::kOpen;
    }
    if ((event.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
        on_readable(c, event.events);
    }
    if (c.fd >= 0 && c.unsent > 0 && (event.events & EPOLLOUT) != 0) {
        send_pending(c);
    }
    refill(c);
}

void Client::refill(Connection& c) noexcept {
    // A connection takes new requests only when it is not busy connecting or writing, has
    // room in its pipeline, and (with --hold) has not made its one request yet.
    if (c.held || c.cooling || c.state == Connection::State::kConnecting || c.unsent > 0 ||
        c.in_flight >= plan_.pipeline) {
        return;
    }
    fill(c);
}

void Client::fill(Connection& c) noexcept {
    const uint32_t before = c.in_flight;
    int64_t intended = 0;
    while (c.in_flight < plan_.pipeline && schedule_.claim(now_, intended)) {
        push_request(c, intended);
    }
    const uint32_t claimed = c.in_flight - before;
    if (claimed == 0) {
        list_idle(c);
        return;
    }
    if (c.state == Connection::State::kClosed && !open(c)) {
        return;
    }
    if (before == 0) c.deadline = now_ + plan_.timeout_ns;
    c.batch = claimed * requests_.size(c.target);
    c.unsent = c.batch;
    if (c.state == Connection::State::kOpen) send_pending(c);
    if (c.fd >= 0 && c.in_flight < plan_.pipeline) list_idle(c);
}

bool Client::open(Connection& c) noexcept {
    c.target = next_target_++ % static_cast<uint32_t>(targets_.size());
    const Target& target = targets_[c.target];
    c.fd = socket(target.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
        fail(c, ErrorKind::kConnect);
        return false;
    }
    const int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ++c.generation;
    // Registered once for everything, edge-triggered: never re-armed, never modified.
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = (uint64_t{c.generation} << 32) | c.index;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
        fail(c, ErrorKind::kConnect);
        return false;
    }
    c.parser.reset(requests_.head());
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&target.address), target.address_len) == 0) {
        c.state = Connection::State::kOpen;
    } else if (errno == EINPROGRESS) {
        c.state = Connection::State::kConnecting;
    } else {
        fail(c, kind_of(errno) == ErrorKind::kReset ? ErrorKind::kReset : ErrorKind::kConnect);
        return false;
    }
    return true;
}

void Client::send_pending(Connection& c) noexcept {
    const char* batch = requests_.batch(c.target);
    while (c.unsent > 0) {
        const ssize_t n = ::send(c.fd, batch + (c.batch - c.unsent), c.unsent, MSG_NOSIGNAL);
        if (n >= 0) {
            c.unsent -= static_cast<size_t>(n);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;  // the next EPOLLOUT edge resumes
        } else if (errno != EINTR) {
            fail(c, kind_of(errno));
            return;
        }
    }
}

void Client::on_readable(Connection& c, uint32_t events) noexcept {
    // With a hang-up pending, read to the end to see whether the stream ended cleanly.
    const bool hangup = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
    char* buffer = read_buffer_.get();
    for (;;) {
        const ssize_t n = ::read(c.fd, buffer, kReadBufferBytes);
        if (n > 0) {
            if (!consume(c, buffer, static_cast<size_t>(n))) return;
            // A short read on a stream socket means it is drained for now; the next arrival
            // raises a new edge. This saves the read() that would only return EAGAIN.
            if (static_cast<size_t>(n) < kReadBufferBytes && !hangup) return;
        } else if (n == 0) {
            on_eof(c);
            return;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else if (errno != EINTR) {
            fail(c, kind_of(errno));
            return;
        }
    }
}

bool Client::consume(Connection& c, const char* data, size_t len) noexcept {
    while (len > 0) {
        if (c.in_flight == 0) {
            // Bytes nobody asked for: the server is confused about where its responses end.
            if (now_ >= plan_.measure_ns && now_ < plan_.end_ns) results_.count_error(ErrorKind::kMalformed);
            shut(c);
            return false;
        }
        size_t used = 0;
        const auto result = c.parser.feed(data, len, used);
        if (result == ResponseParser::Result::kNeedMore) return true;
        if (result == ResponseParser::Result::kError) {
            fail(c, ErrorKind::kMalformed);
            return false;
        }
        data += used;
        len -= used;
        if (!complete(c)) return false;
    }
    return true;
}

bool Client::complete(Connection& c) noexcept {
    const int64_t intended = pop_request(c);
    if (measured(intended)) {
        ++results_.responses;
        results_.bytes += c.parser.bytes();
        results_.count_status(c.parser.status());
        results_.latency.record(static_cast<uint64_t>(std::max<int64_t>(0, now_ - intended)) / 1000);
        ++resolved_;
    }
    const bool keep = !plan_.close && c.parser.keep_alive();
    c.parser.reset(requests_.head());
    c.deadline = c.in_flight > 0 ? now_ + plan_.timeout_ns : Schedule::kNever;
    c.held = plan_.hold;
    if (!keep) {
        close_cleanly(c);
        return false;
    }
    return true;
}

void Client::on_eof(Connection& c) noexcept {
    if (c.in_flight == 0) {
        shut(c);  // an idle keep-alive connection closed by the server: not an error
        return;
    }
    if (c.parser.finish_at_eof()) {
        // The body was delimited by the close itself; complete() closes the connection.
        complete(c);
        return;
    }
    fail(c, ErrorKind::kShort);
}

void Client::fail(Connection& c, ErrorKind kind) noexcept {
    while (c.in_flight > 0) {
        if (measured(pop_request(c))) {
            results_.count_error(kind);
            ++resolved_;
        }
    }
    shut(c);
    // A refused connect would otherwise be retried at once, spinning the CPU on a dead port.
    c.cooling = kind == ErrorKind::kConnect;
}

void Client::close_cleanly(Connection& c) noexcept {
    // Requests pipelined behind the last response on a connection the server closed were
    // never processed: they are sent again on a new connection, not counted as failures.
    while (c.in_flight > 0) {
        schedule_.give_back(pop_request(c));
    }
    shut(c);
}

void Client::shut(Connection& c) noexcept {
    if (c.fd >= 0) ::close(c.fd);  // also removes it from the epoll set
    c.fd = -1;
    c.state = Connection::State::kClosed;
    c.in_flight = 0;
    c.oldest = 0;
    c.batch = c.unsent = 0;
    c.deadline = Schedule::kNever;
    c.held = false;
}

void Client::on_tick() noexcept {
    for (auto& c : conns_) {
        if (c.fd >= 0 && c.deadline <= now_) {
            fail(c, ErrorKind::kTimeout);
            refill(c);
        } else if (c.cooling) {
            c.cooling = false;
            refill(c);
        }
    }
    publish();
    next_tick_ = now_ + tick_ns_;
}

void Client::dispatch_due() noexcept {
    // Each pass either claims a due request or drops a connection from the list, so this ends.
    while (!idle_.empty() && schedule_.next_due() <= now_) {
        Connection& c = conns_[idle_.back()];
        idle_.pop_back();
        c.idle_listed = false;
        refill(c);
    }
}

void Client::list_idle(Connection& c) noexcept {
    if (schedule_.open_loop() && !c.idle_listed) {
        c.idle_listed = true;
        idle_.push_back(c.index);
    }
}

void Client::publish() noexcept {
    progress_.responses.store(results_.responses, std::memory_order_relaxed);
    progress_.failed.store(results_.failed(), std::memory_order_relaxed);
    if (plan_.hold) {
        const auto held =
            std::count_if(conns_.begin(), conns_.end(), [](const Connection& c) { return c.held; });
        progress_.held.store(static_cast<uint64_t>(held), std::memory_order_relaxed);
    }
}

void Client::push_request(Connection& c, int64_t intended) noexcept {
    const size_t slot = (c.oldest + c.in_flight) % plan_.pipeline;
    sent_[static_cast<size_t>(c.index) * plan_.pipeline + slot] = intended;
    ++c.in_flight;
}

int64_t Client::pop_request(Connection& c) noexcept {
    const int64_t intended = sent_[static_cast<size_t>(c.index) * plan_.pipeline + c.oldest];
    c.oldest = (c.oldest + 1) % plan_.pipeline;
    --c.in_flight;
    return intended;
}

bool Client::measured(int64_t intended) const noexcept {
    return schedule_.counted(intended) && now_ < plan_.end_ns;
}

}  // namespace portico::bench
