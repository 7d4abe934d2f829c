// Sending fairly: one fast client of a huge file must not hold the worker's loop while other
// connections wait. The precise latency figure is a benchmark (tools/compare-nginx --tests
// fairness); this test only proves the order of events, with deadlines generous enough for a
// loaded machine and sanitizers.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/integration/harness.hpp"

using namespace portico::test;

namespace {

constexpr uint64_t kHugeSize = 512ull << 20;
// The bound on the small request's wait. With one turn per MiB it is answered in well under a
// millisecond on an idle machine and took at most 92 ms here at load averages of 5-9 on 2 cores;
// without the bound on each turn it waited 5-1700 ms, often until the whole file was out. The precise figure
// is a benchmark's (compare-nginx --tests fairness), this is only a guard with room for a loaded machine;
// the checks that the download is still under way are the ones that catch the defect.
constexpr milliseconds kGenerousBound{1500};  // a parallel full suite here once took 1.14 s

/// Drains one response of a known body length from `fd` as fast as the kernel can hand it over:
/// recv() with MSG_TRUNC discards TCP data without copying it, so this reader outruns the server
/// and sendfile() never sees EAGAIN. Runs on its own thread; only atomics cross to the test.
struct FastReader {
    std::atomic<uint64_t> body_bytes{0};
    std::atomic<bool> failed{false};
    std::promise<void> started;  ///< set once the head and a first MiB of body have arrived
    std::promise<void> done;     ///< set when the whole body has arrived, or on failure

    void run(int fd, uint64_t body_size) {
        // Where allowed (root, CAP_SYS_NICE), run this thread ahead of everything else on the
        // machine, so that it never lags the server: then the socket never fills, and a server
        // that sends until EAGAIN never returns to its loop before the whole file is out.
        // Without the privilege the test still holds, it just catches that bug less often.
        (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), -20);
        bool announced = false;
        std::string head;
        auto deadline = Clock::now() + std::chrono::seconds(60);
        char buf[16384];
        while (body_bytes.load() < body_size) {
            pollfd p{fd, POLLIN, 0};
            auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
            if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) break;
            size_t end = head.find("\r\n\r\n");
            ssize_t n;
            if (end == std::string::npos) {
                // The head is read normally (it must be found); the body is only counted.
                n = ::recv(fd, buf, sizeof buf, 0);
                if (n <= 0) break;
                head.append(buf, static_cast<size_t>(n));
                end = head.find("\r\n\r\n");
                if (end != std::string::npos) body_bytes += head.size() - (end + 4);
            } else {
                // ACK at once (quick-ack mode ends by itself): a delayed ACK would leave the
                // server's send buffer full and hand it an EAGAIN.
                int one = 1;
                ::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
                n = ::recv(fd, nullptr, 64u << 20, MSG_TRUNC);
                if (n <= 0) break;
                body_bytes += static_cast<uint64_t>(n);
            }
            if (!announced && body_bytes.load() >= (1u << 20)) {
                announced = true;
                started.set_value();
            }
        }
        if (body_bytes.load() != body_size || head.rfind("HTTP/1.1 200 ", 0) != 0) failed = true;
        if (!announced) started.set_value();
        done.set_value();
    }
};

// One round: a fresh (uncached, so slowly read) sparse file is downloaded by a FastReader; once
// the first MiB is in, another connection asks for a small file. Checks that the answer comes
// while the download is still in progress, then that the download completes intact.
void small_request_during_download(SiteServer& s, const std::string& name) {
    // Sparse: 512 MiB of zeros that take no disk space (the page cache holds them while sent).
    write_file(s.site.www + "/" + name, {});
    std::filesystem::resize_file(s.site.www + "/" + name, kHugeSize);

    Client big(s.server.port());
    big.send_raw(get("/" + name));
    FastReader reader;
    auto started = reader.started.get_future();
    auto done = reader.done.get_future();
    std::thread thread([&] { reader.run(big.fd(), kHugeSize); });

    REQUIRE(started.wait_for(kWait) == std::future_status::ready);
    REQUIRE_FALSE(reader.failed.load());
    // The download is under way: a small request on another connection must be answered before it
    // ends. Without a bound on each turn, the worker only looks at this connection once the whole
    // file is out (the reader never lets the socket fill).
    // A long timeout: without the fix the answer comes, late, and the check below says why.
    Client small(s.server.port(), 0, std::chrono::seconds(60));
    auto asked = Clock::now();
    small.send_raw(get("/small.txt"));
    Response r = small.read_response();
    auto answered = Clock::now();
    uint64_t received_then = reader.body_bytes.load();
    bool download_done = done.wait_for(milliseconds(0)) == std::future_status::ready;

    CHECK(r.status == 200);
    CHECK(r.body == s.site.small);
    INFO("small request answered after "
         << std::chrono::duration_cast<std::chrono::microseconds>(answered - asked).count() << " us, with "
         << (received_then >> 20) << " of " << (kHugeSize >> 20) << " MiB of the download received");
    CHECK_FALSE(download_done);
    CHECK(received_then < kHugeSize);
    CHECK(answered - asked < kGenerousBound);

    bool finished = done.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
    if (!finished) ::shutdown(big.fd(), SHUT_RDWR);  // unblock the reader before joining it
    thread.join();
    REQUIRE(finished);
    CHECK_FALSE(reader.failed.load());
    CHECK(reader.body_bytes.load() == kHugeSize);
    std::filesystem::remove(s.site.www + "/" + name);
}

}  // namespace

TEST_CASE("a fast client of a huge file does not hold up another connection's request",
          "[sendpath][fairness]") {
    SiteServer s;
    // Three rounds: a round without the fix does not always stall past the bound (delayed ACKs or a
    // descheduled reader can still fill the socket and make sendfile return EAGAIN); with it,
    // no round may fail.
    for (int round = 0; round < 3; ++round) {
        INFO("round " << round + 1);
        small_request_during_download(s, "huge-" + std::to_string(round) + ".bin");
    }
    s.server.stop_and_check();
}
