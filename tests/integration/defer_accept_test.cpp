// defer_accept (TCP_DEFER_ACCEPT on the listeners, on by default): a worker first hears of a
// connection when its request arrives, so a connection per request costs it one wake-up instead
// of two. The worker's own count of accepted connections tells when it heard.

#include <thread>

#include <catch2/catch.hpp>

#include "tests/integration/master_harness.hpp"
#include "tests/integration/status.hpp"

using namespace portico::test;

namespace {

// One worker, so that its status is the whole story; the status requests ride one keep-alive
// connection, which adds nothing to the accepted count.
MasterConfig one_worker(const std::string& http_extra = "") {
    MasterConfig c;
    c.workers = 1;
    c.http_extra = http_extra + "client_header_timeout = 0.3;\n";
    return c;
}

}  // namespace

TEST_CASE("defer_accept: a silent connection is not the worker's until it speaks", "[defer]") {
    MasterSite s(one_worker());
    Client status(s.port());
    const uint64_t before = fetch_status(status).total.accepted;

    Client quiet(s.port());  // connected (the kernel answered the handshake), and silent
    // Something that must not happen: watched for 300 ms, well inside the kernel's one second.
    // Without the option the count moves within a loop iteration or two (the next test).
    for (auto until = Clock::now() + milliseconds(300); Clock::now() < until;) {
        REQUIRE(fetch_status(status).total.accepted == before);
        std::this_thread::sleep_for(milliseconds(10));  // pacing the look, not waiting for an event
    }
    quiet.send_raw(get("/small.txt"));
    CHECK(quiet.read_response().body == s.site.small);
    CHECK(fetch_status(status).total.accepted == before + 1);

    // A client that never speaks is still accepted, a second or so later, and then the header
    // timeout ends it as it would without the option.
    Client silent(s.port());
    silent.expect_closed();
    CHECK(fetch_status(status).total.accepted == before + 2);
    s.server.stop_and_check();
}

TEST_CASE("defer_accept = false: the worker accepts at the handshake, as nginx does by default", "[defer]") {
    MasterSite s(one_worker("defer_accept = false;\n"));
    Client status(s.port());
    const uint64_t before = fetch_status(status).total.accepted;
    Client quiet(s.port());
    // Within well under the kernel's one second, after which a deferring listener would have
    // accepted the silent connection too.
    status_until(
        status, [&](const Status& st) { return st.total.accepted == before + 1; }, "the silent connection accepted",
        milliseconds(700));
    quiet.send_raw(get("/small.txt"));
    CHECK(quiet.read_response().body == s.site.small);
    s.server.stop_and_check();
}
