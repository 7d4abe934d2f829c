// The connection's streamed seams with real sockets (a socketpair) and handlers of the test's
// own: a response body produced piece by piece (chunked on HTTP/1.1, close-delimited on 1.0, or
// of a stated length), a stream that waits and is woken, a head the handler learns late, and a
// request body read by the handler with back-pressure. The events are delivered by hand, as the
// worker's edge-triggered loop would deliver them.

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "conf/config.hpp"
#include "core/buffer_pool.hpp"
#include "core/log.hpp"
#include "core/timer_wheel.hpp"
#include "http/connection.hpp"
#include "http/context.hpp"
#include "http/exchange.hpp"
#include "http/file_cache.hpp"
#include "http/mime.hpp"

namespace {

using namespace portico;
using http::BodyStream;

// What the handler of the current test does; the handler is a plain function, so it finds it here.
struct Script;
Script* g_script = nullptr;

std::string pattern_bytes(size_t n, size_t seed = 0) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
    return s;
}

/// What a stream saw, kept by the test: the connection destroys the stream when the response ends.
struct Seen {
    size_t reads = 0;
    size_t produced = 0;
    std::string received;
    bool body_ended = false;
};

/// A body given out in pieces of at most `piece`, optionally waiting after each; and a reader of
/// the request body that is full() at `hold_at` bytes.
class TestStream : public BodyStream, public http::BodyReader {
public:
    TestStream(std::string body, size_t piece, bool wait_each, Seen& seen)
        : body_(std::move(body)), piece_(piece), wait_(wait_each), seen_(seen) {}
    void attach(http::Connection& c) noexcept override { conn = &c; }
    Chunk read(http::Context&, char* out, size_t cap) noexcept override {
        ++seen_.reads;
        if (wait_ && !ready) return {0, Status::kWait};
        ready = false;
        size_t n = std::min({cap, piece_, body_.size() - pos_});
        std::memcpy(out, body_.data() + pos_, n);
        pos_ += n;
        seen_.produced += n;
        if (pos_ == body_.size()) return {n, Status::kEnd};
        return {n, wait_ ? Status::kWait : Status::kData};
    }
    bool head(http::Context&, http::HeaderWriter& hw, uint16_t& status, uint64_t& length) noexcept override {
        if (!head_known) return false;
        status = 201;
        length = http::kUnknownLength;
        hw.add("HTTP/1.1 201 Created\r\nX-Late: yes\r\n");
        return true;
    }
    // BodyReader
    void on_body(http::Context&, std::string_view bytes) noexcept override { seen_.received.append(bytes); }
    void on_body_end(http::Context&) noexcept override { seen_.body_ended = true; }
    bool full() const noexcept override { return seen_.received.size() >= hold_at; }

    http::Connection* conn = nullptr;
    bool ready = false;
    bool head_known = true;
    size_t hold_at = SIZE_MAX;

private:
    std::string body_;
    size_t piece_;
    bool wait_;
    Seen& seen_;
    size_t pos_ = 0;
};

struct Script {
    std::string body = pattern_bytes(100'000);
    size_t piece = 5000;
    bool wait_each = false;
    bool known_length = false;
    bool late_head = false;
    bool read_body = false;
    size_t hold_at = SIZE_MAX;
    TestStream* last = nullptr;  // the stream the connection owns now (valid while its response runs)
    Seen seen;                   // what the streams saw
};

void handler(http::Context& ctx, const http::Exchange& ex, http::HeaderWriter& hw, http::Reply& reply) {
    Script& s = *g_script;
    auto stream = std::make_unique<TestStream>(s.body, s.piece, s.wait_each, s.seen);
    stream->hold_at = s.hold_at;
    s.last = stream.get();
    if (s.read_body) reply.body_reader = stream.get();
    if (s.late_head) {
        stream->head_known = false;
        reply.head_from_stream = true;
    } else {
        hw.add("HTTP/1.1 200 OK\r\n").add(ctx.date.server_and_date_lines());
        if (s.known_length) {
            hw.add("Content-Length: ").add_uint(s.body.size()).add("\r\n");
            reply.stream_length = s.body.size();
        }
    }
    reply.status = 200;
    (void)ex;
    reply.stream = std::move(stream);
}

struct World {
    std::string dir;
    std::unique_ptr<conf::Config> config;
    std::unique_ptr<core::TimerWheel> wheel;
    std::unique_ptr<core::BufferPool> pool;
    std::unique_ptr<http::MimeTypes> mime;
    std::unique_ptr<http::FileCache> files;
    std::unique_ptr<core::AccessLog> access_log;
    std::unique_ptr<http::Context> ctx;
    http::Connection conn;
    int server = -1, client = -1;

    World() {
        char pattern[] = "/tmp/portico-stream-test-XXXXXX";
        REQUIRE(mkdtemp(pattern) != nullptr);
        dir = pattern;
        config = std::make_unique<conf::Config>(conf::load_config_from_string(
            "http = { mime_types = \"/etc/mime.types\"; access_log = \"off\"; client_max_body_size = \"64m\"; };\n"
            "servers = ( { listen = \"127.0.0.1:8080\"; root = \".\"; } );\n",
            dir + "/t.conf"));
        wheel = std::make_unique<core::TimerWheel>(0);
        pool = std::make_unique<core::BufferPool>();
        mime = std::make_unique<http::MimeTypes>(config->http.mime_types, config->http.default_type);
        files = std::make_unique<http::FileCache>(*mime, http::FileCache::Limits{});
        access_log = std::make_unique<core::AccessLog>(config->http.access_log);
        ctx = std::make_unique<http::Context>(*config, *wheel, *pool, *mime, *files, *access_log);
        ctx->limits.max_body = config->http.client_max_body_size;
        ctx->header_scratch.resize(32 * 1024);
        ctx->handler = &handler;
        int fds[2];
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
        server = fds[0];
        client = fds[1];
        conn.open(*ctx, server, 0, core::PeerAddress{});
    }
    ~World() {
        conn.close(*ctx);
        ::close(server);
        ::close(client);
        ::rmdir(dir.c_str());
    }
    void send(std::string_view bytes) {
        REQUIRE(::write(client, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
        conn.on_event(*ctx, EPOLLIN);
    }
    /// Reads what the server sent; up to `max` bytes, and tells the connection the socket drained.
    std::string take(size_t max = SIZE_MAX) {
        std::string got;
        char buf[65536];
        while (got.size() < max) {
            ssize_t n = ::read(client, buf, std::min(sizeof buf, max - got.size()));
            if (n <= 0) break;
            got.append(buf, static_cast<size_t>(n));
        }
        if (!got.empty() && conn.state() != http::Connection::State::kClosed) conn.on_event(*ctx, EPOLLOUT);
        return got;
    }
    /// Reads until the peer stops sending more (each read wakes the connection, which may send more).
    std::string take_all() {
        std::string all;
        for (int idle = 0; idle < 3;) {
            std::string got = take();
            for (http::Connection* c : ctx->resume) c->on_resume(*ctx);
            if (got.empty()) ++idle;
            else idle = 0, all += got;
        }
        return all;
    }
    bool closed() { return conn.state() == http::Connection::State::kClosed; }
};

/// Splits "head\r\n\r\nbody" and decodes a chunked body; fails the test on bad framing.
std::string dechunk(std::string_view body, bool& terminated) {
    std::string out;
    terminated = false;
    while (!body.empty()) {
        size_t eol = body.find("\r\n");
        REQUIRE(eol != std::string_view::npos);
        size_t size = std::stoul(std::string(body.substr(0, eol)), nullptr, 16);
        body.remove_prefix(eol + 2);
        if (size == 0) {
            REQUIRE(body == "\r\n");
            terminated = true;
            return out;
        }
        REQUIRE(body.size() >= size + 2);
        out.append(body.substr(0, size));
        REQUIRE(body.substr(size, 2) == "\r\n");
        body.remove_prefix(size + 2);
    }
    return out;
}

std::pair<std::string, std::string> split(const std::string& response) {
    size_t end = response.find("\r\n\r\n");
    REQUIRE(end != std::string::npos);
    return {response.substr(0, end + 4), response.substr(end + 4)};
}

}  // namespace

TEST_CASE("a stream of unknown length goes out chunked on HTTP/1.1 and the connection stays open") {
    Script s;
    g_script = &s;
    World w;
    w.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    auto [head, body] = split(w.take_all());
    CHECK(head.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
    CHECK(head.find("Content-Length") == std::string::npos);
    bool terminated = false;
    CHECK(dechunk(body, terminated) == s.body);
    CHECK(terminated);
    CHECK_FALSE(w.closed());
    // The next request on the same connection is answered too.
    s.body = "second";
    w.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    auto [head2, body2] = split(w.take_all());
    CHECK(dechunk(body2, terminated) == "second");
}

TEST_CASE("a stream of unknown length on HTTP/1.0 is delimited by the close") {
    Script s;
    g_script = &s;
    World w;
    w.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    auto [head, body] = split(w.take_all());
    CHECK(head.find("Transfer-Encoding") == std::string::npos);
    CHECK(head.find("Connection: close\r\n") != std::string::npos);
    CHECK(body == s.body);
    CHECK(w.closed());
}

TEST_CASE("a stream of stated length is sent as it is, and HEAD gets the head alone") {
    Script s;
    s.known_length = true;
    g_script = &s;
    World w;
    w.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    auto [head, body] = split(w.take_all());
    CHECK(head.find("Content-Length: 100000\r\n") != std::string::npos);
    CHECK(body == s.body);
    s.seen = Seen{};
    w.send("HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string r = w.take_all();
    CHECK(r.size() == split(r).first.size());
    CHECK(s.seen.reads == 0);  // never asked for the body
    CHECK_FALSE(w.closed());
}

TEST_CASE("a waiting stream is resumed by on_stream_ready, and nothing is sent meanwhile") {
    Script s;
    s.wait_each = true;
    s.body = pattern_bytes(30'000);
    s.piece = 10'000;
    g_script = &s;
    World w;
    w.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string got = w.take_all();
    CHECK(split(got).second.empty());  // the head only: the stream had nothing yet
    for (int i = 0; i < 3; ++i) {
        s.last->ready = true;
        s.last->conn->on_stream_ready(*w.ctx);
        got += w.take_all();
    }
    bool terminated = false;
    CHECK(dechunk(split(got).second, terminated) == s.body);
    CHECK(terminated);
}

TEST_CASE("a head the handler learns late goes out when the stream says it is ready") {
    Script s;
    s.late_head = true;
    s.body = "late body";
    g_script = &s;
    World w;
    w.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(w.take_all().empty());
    s.last->head_known = true;
    s.last->conn->on_stream_ready(*w.ctx);
    auto [head, body] = split(w.take_all());
    CHECK(head.rfind("HTTP/1.1 201 Created\r\nX-Late: yes\r\n", 0) == 0);
    CHECK(head.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
    bool terminated = false;
    CHECK(dechunk(body, terminated) == "late body");
}

TEST_CASE("a slow client slows the stream: it is read only as fast as the socket drains") {
    Script s;
    s.body = pattern_bytes(8 << 20);
    s.piece = 16 << 10;
    g_script = &s;
    World w;
    w.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string got;
    size_t most_ahead = 0;
    for (int i = 0; i < 100000 && s.seen.produced < s.body.size(); ++i) {
        std::string piece = w.take(4096);  // a client reading 4 KiB at a time
        for (http::Connection* c : std::vector<http::Connection*>(w.ctx->resume)) c->on_resume(*w.ctx);
        got += piece;
        most_ahead = std::max(most_ahead, s.seen.produced - std::min(s.seen.produced, got.size()));
    }
    got += w.take_all();
    bool terminated = false;
    CHECK(dechunk(split(got).second, terminated) == s.body);
    // What the stream produced ahead of the client is bounded by the socket buffers and one piece,
    // never the whole body.
    INFO("most produced ahead of the client: " << most_ahead);
    CHECK(most_ahead < (2u << 20));
}

TEST_CASE("a request body reaches the handler's reader, Content-Length or chunked, with back-pressure") {
    std::string payload = pattern_bytes(300'000, 3);
    SECTION("Content-Length") {
        Script s;
        s.read_body = true;
        s.body = "ok";
        s.hold_at = 50'000;
        g_script = &s;
        World w;
        std::string req = "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n" + payload;
        size_t sent = 0;
        // Send until the socket refuses: the reader is full at 50,000 bytes and the connection
        // stops reading, so the client is held back by the socket buffer rather than buffered.
        while (sent < req.size()) {
            ssize_t n = ::write(w.client, req.data() + sent, req.size() - sent);
            if (n <= 0) break;
            sent += static_cast<size_t>(n);
            w.conn.on_event(*w.ctx, EPOLLIN);
        }
        REQUIRE(s.last != nullptr);
        CHECK(s.seen.received.size() < 50'000 + 64 * 1024);
        CHECK_FALSE(s.seen.body_ended);
        // The reader drains: it takes everything now.
        s.last->hold_at = SIZE_MAX;
        s.last->conn->on_body_wanted(*w.ctx);
        while (sent < req.size()) {
            ssize_t n = ::write(w.client, req.data() + sent, req.size() - sent);
            if (n > 0) sent += static_cast<size_t>(n);
            w.conn.on_event(*w.ctx, EPOLLIN);
        }
        CHECK(s.seen.body_ended);
        CHECK(s.seen.received == payload);
        auto [head, body] = split(w.take_all());
        CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    }
    SECTION("chunked") {
        Script s;
        s.read_body = true;
        s.body = "ok";
        g_script = &s;
        World w;
        std::string req = "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (size_t at = 0; at < payload.size(); at += 7000) {
            std::string part = payload.substr(at, 7000);
            char size[16];
            std::snprintf(size, sizeof size, "%zx;ext=1\r\n", part.size());
            req += size + part + "\r\n";
        }
        req += "0\r\nTrailer: t\r\n\r\n";
        size_t sent = 0;
        while (sent < req.size()) {
            ssize_t n = ::write(w.client, req.data() + sent, std::min<size_t>(req.size() - sent, 3001));
            if (n > 0) sent += static_cast<size_t>(n);
            w.conn.on_event(*w.ctx, EPOLLIN);
        }
        CHECK(s.seen.body_ended);
        CHECK(s.seen.received == payload);
        auto [head, body] = split(w.take_all());
        bool terminated = false;
        CHECK(dechunk(body, terminated) == "ok");
    }
}

namespace {

/// A stream whose head takes four steps (a directory listing reading its names): head() says
/// "not yet" three times, asking to be called again rather than waiting to be woken.
class SteppedHead : public BodyStream {
public:
    explicit SteppedHead(int& heads) : heads_(heads) {}
    bool head(http::Context&, http::HeaderWriter& hw, uint16_t& status, uint64_t& length) noexcept override {
        if (++heads_ < 4) return false;
        status = 200;
        length = http::kUnknownLength;
        hw.add("HTTP/1.1 200 OK\r\n");
        return true;
    }
    [[nodiscard]] bool head_in_steps() const noexcept override { return true; }
    Chunk read(http::Context&, char* out, size_t cap) noexcept override {
        REQUIRE(cap >= 7);
        std::memcpy(out, "stepped", 7);
        return {7, Status::kEnd};
    }

private:
    int& heads_;
};

int g_heads = 0;

void stepped_handler(http::Context&, const http::Exchange&, http::HeaderWriter&, http::Reply& reply) {
    reply.head_from_stream = true;
    reply.stream = std::make_unique<SteppedHead>(g_heads);
}

}  // namespace

TEST_CASE("a head that comes in steps is asked again on the next turn, not left waiting for on_stream_ready") {
    Script s;
    g_script = &s;
    World w;
    w.ctx->handler = &stepped_handler;
    g_heads = 0;
    w.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(g_heads == 1);
    REQUIRE(w.ctx->resume.size() == 1);  // queued behind the other connections' turns
    std::string got;
    for (int turn = 0; turn < 10 && got.find("\r\n0\r\n\r\n") == std::string::npos; ++turn) {
        std::vector<http::Connection*> now;
        now.swap(w.ctx->resume);  // as the worker does: a resumed connection may queue itself again
        for (http::Connection* c : now) c->on_resume(*w.ctx);
        got += w.take();
    }
    CHECK(g_heads == 4);
    auto [head, body] = split(got);
    CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
    bool terminated = false;
    CHECK(dechunk(body, terminated) == "stepped");
    CHECK(terminated);
    CHECK_FALSE(w.closed());
}
