// libFuzzer target for a whole connection: bytes from a client, through a real http::Connection
// on a socketpair, with the static handler serving a temporary document root.
//
// The input is the client's byte stream with two control bytes the fuzzer places where it likes:
//   0x1e  the bytes so far are sent and the connection handles them (a split point);
//   0x1f  the same, then the clock jumps 61 s and the timing wheel runs (every timeout fires).
// At the end the client shuts its write side, and the clock jumps until the connection closes.
// The worker's loop is imitated closely: a Context built the way worker.cpp builds one,
// edge-triggered events (EPOLLIN when bytes arrive, EPOLLOUT when the client read some, RDHUP
// on shutdown), the wheel run with the connection's own on_timeout, and closed connections
// freed after the event that closed them. Everything the server sends is read back at once, so
// its writes never block for long.
//
// Invariants: the connection always closes in the end and gives back every buffer; the wheel
// stays valid; every response is well-formed HTTP/1.1 (status line, field lines, Date, Server,
// a Content-Length that frames the body exactly, nothing after Connection: close); a body with an
// ETag is the bytes of the docroot file of that size (or the range Content-Range names); and the
// contents of a file outside the docroot, reachable only through a symlink, never appear.

#include "conf/config.hpp"
#include "core/buffer_pool.hpp"
#include "core/log.hpp"
#include "core/timer_wheel.hpp"
#include "http/connection.hpp"
#include "http/context.hpp"
#include "http/file_cache.hpp"
#include "http/mime.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace portico;

constexpr char kSplit = '\x1e';
constexpr char kTick = '\x1f';
constexpr std::string_view kSecret = "PORTICO-FUZZ-SECRET-OUTSIDE-THE-ROOT";
constexpr uint64_t kTickMs = 61'000;  // past every timeout in the config below

void expect(bool ok, const char* what) {
    if (!ok) fuzz::broken("connection_fuzz", what);
}

void write_file(const std::string& path, std::string_view bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}

/// The document roots, the config and everything a worker holds, made once per process.
struct World {
    std::string dir;
    std::map<uint64_t, std::string> files_by_size;  // every servable file; sizes are distinct
    std::unique_ptr<conf::Config> config;
    std::unique_ptr<core::TimerWheel> wheel;
    std::unique_ptr<core::BufferPool> pool;
    std::unique_ptr<http::MimeTypes> mime;
    std::unique_ptr<http::FileCache> files;
    std::unique_ptr<core::AccessLog> access_log;
    std::unique_ptr<http::Context> ctx;

    World() {
        spdlog::set_level(spdlog::level::off);  // bad requests log at info; that is all noise here
        char pattern[] = "/tmp/portico-connection-fuzz-XXXXXX";
        expect(mkdtemp(pattern) != nullptr, "mkdtemp failed");
        dir = pattern;
        make_roots();
        config =
            std::make_unique<conf::Config>(conf::load_config_from_string(config_text(), dir + "/fuzz.conf"));
        wheel = std::make_unique<core::TimerWheel>(0);
        pool = std::make_unique<core::BufferPool>();
        mime = std::make_unique<http::MimeTypes>(config->http.mime_types, config->http.default_type);
        files = std::make_unique<http::FileCache>(*mime, http::FileCache::Limits{});
        access_log = std::make_unique<core::AccessLog>(config->http.access_log);
        ctx = std::make_unique<http::Context>(*config, *wheel, *pool, *mime, *files, *access_log);
        make_context();
    }

    void add(const std::string& rel, const std::string& bytes) {
        write_file(dir + "/" + rel, bytes);
        expect(files_by_size.emplace(bytes.size(), bytes).second, "two fixture files of one size");
    }

    void make_roots() {
        for (const char* d : {"/www", "/www/dir", "/www/noindex", "/www2"}) mkdir((dir + d).c_str(), 0755);
        add("www/index.html", "<h1>portico fuzz</h1>\n");
        add("www/small.txt", "hello\n");
        add("www/empty.txt", "");
        add("www/caf\xc3\xa9 1.txt", "accented name\n");
        add("www/dir/index.html", "<p>dir index</p>\n");
        add("www2/index.html", "<h1>the other server</h1>\n");
        std::string big(70'000, '\0');  // past the in-memory limit: goes by sendfile
        for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
        add("www/big.bin", big);
        write_file(dir + "/secret.txt", std::string(kSecret) + "\n");
        expect(symlink("../secret.txt", (dir + "/www/link").c_str()) == 0, "symlink failed");
        expect(symlink("..", (dir + "/www/up").c_str()) == 0, "symlink failed");
    }

    std::string config_text() const {
        return R"(worker_processes = 1;
http = {
  mime_types = "/etc/mime.types";
  access_log = "/dev/null";
  keepalive_requests = 6;
  client_header_buffer_size = "1k";
  large_client_header_buffer_size = "4k";
  client_max_body_size = "2k";
  keepalive_timeout = 30; client_header_timeout = 20; client_body_timeout = 20; send_timeout = 20;
};
servers = (
  { listen = "127.0.0.1:8080"; root = "www"; index = ["index.html", "index.htm"]; },
  { listen = "127.0.0.1:8080"; server_name = ["other.example"]; root = "www2"; }
);
)";
    }

    // As Worker's constructor, open_roots() and register_listener() do it.
    void make_context() {
        ctx->limits.max_target = config->http.large_client_header_buffer_size;
        ctx->limits.max_head = config->http.large_client_header_buffer_size;
        ctx->limits.max_body = config->http.client_max_body_size;
        ctx->header_scratch.resize(32 * 1024);
        ctx->path_scratch.reserve(config->http.large_client_header_buffer_size + 256);
        for (const conf::ServerConfig& s : config->servers) {
            http::VirtualServer vs;
            vs.config = &s;
            vs.root_fd.reset(::open(s.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
            expect(static_cast<bool>(vs.root_fd), "open root failed");
            char real[PATH_MAX];
            expect(::realpath(s.root.c_str(), real) != nullptr, "realpath failed");
            vs.real_root = real;
            ctx->servers.push_back(std::move(vs));
        }
        ctx->listener_servers = {{0, 1}};
    }
};

World& world() {
    static World w;
    return w;
}

/// One client connection: the server's end goes to an http::Connection, the client's end is ours.
class Session {
public:
    explicit Session(World& w) : w_(w), ctx_(*w.ctx) {
        int fds[2];
        expect(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0,
               "socketpair failed");
        server_fd_ = fds[0];
        client_fd_ = fds[1];
        conn_.open(ctx_, server_fd_, 0, core::PeerAddress{});
        deliver(EPOLLOUT);  // epoll reports a fresh socket writable at once
    }
    ~Session() {
        if (server_fd_ >= 0) {
            conn_.close(ctx_);
            free_closed();
        }
        ::close(client_fd_);
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    void send(std::string_view bytes) {
        while (!bytes.empty() && server_fd_ >= 0) {
            const ssize_t n = ::send(client_fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) {  // full (the server reads no more while it writes) or closed
                if (!read_back()) return;
                continue;
            }
            bytes.remove_prefix(static_cast<size_t>(n));
            deliver(EPOLLIN);
        }
    }

    void tick() {
        ctx_.now_ms += kTickMs;
        ctx_.date.refresh();
        w_.wheel->run(ctx_.now_ms,
                      [this](core::TimerEntry& e) { static_cast<http::Connection&>(e).on_timeout(ctx_); });
        free_closed();
        expect(w_.wheel->validate(), "timing wheel invalid");
        read_back();
    }

    /// Shuts the client's write side, then lets time pass until the server closes.
    void finish() {
        ::shutdown(client_fd_, SHUT_WR);
        deliver(EPOLLIN | EPOLLRDHUP);
        for (int i = 0; i < 8 && server_fd_ >= 0; ++i) tick();
        expect(server_fd_ < 0, "the connection outlived the client's EOF and every timeout");
        expect(ctx_.pool.stats().outstanding == 0, "a buffer was not given back");
        expect(ctx_.idle.size == 0 && ctx_.idle.head == nullptr, "idle list not empty");
        expect(w_.wheel->empty(), "a timer outlived its connection");
        while (read_back()) {
        }
    }

    [[nodiscard]] const std::string& received() const { return received_; }

private:
    void deliver(uint32_t events) {
        for (int round = 0; round < 1000 && server_fd_ >= 0; ++round) {
            conn_.on_event(ctx_, events);
            free_closed();
            expect(w_.wheel->validate(), "timing wheel invalid");
            if (!read_back()) return;
            events = EPOLLOUT;  // the client made room: a new writable edge
        }
    }

    // As Worker::free_closed: the descriptor is closed after the event that closed it.
    void free_closed() {
        ctx_.free_retired();
        for (http::Connection* c : ctx_.closing) {
            expect(c == &conn_, "a stranger on the closing list");
            ::close(server_fd_);
            server_fd_ = -1;
        }
        ctx_.closing.clear();
    }

    /// Reads what the server sent; true if anything came.
    bool read_back() {
        bool any = false;
        char buf[65536];
        for (;;) {
            const ssize_t n = ::recv(client_fd_, buf, sizeof buf, 0);
            if (n <= 0) return any;
            received_.append(buf, static_cast<size_t>(n));
            any = true;
        }
    }

    World& w_;
    http::Context& ctx_;
    http::Connection conn_;
    int server_fd_ = -1;
    int client_fd_ = -1;
    std::string received_;
};

// ---- response checks -----------------------------------------------------------------------

bool is_tchar(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool parse_uint(std::string_view s, uint64_t& out) {
    if (s.empty() || s.size() > 19) return false;
    out = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + static_cast<uint64_t>(c - '0');
    }
    return true;
}

struct Head {
    int status = 0;
    std::map<std::string, std::string> fields;  // lower-case names; each at most once
};

/// Parses one response head at s[at...]; returns its length.
size_t parse_response_head(std::string_view s, Head& h) {
    const size_t end = s.find("\r\n\r\n");
    expect(end != std::string_view::npos, "response head without its blank line");
    const std::string_view head = s.substr(0, end + 2);
    size_t eol = head.find("\r\n");
    const std::string_view line = head.substr(0, eol);
    expect(line.size() >= 13 && line.substr(0, 9) == "HTTP/1.1 " && line[12] == ' ', "bad status line");
    uint64_t status = 0;
    expect(parse_uint(line.substr(9, 3), status) && status >= 100 && status <= 599, "bad status code");
    h.status = static_cast<int>(status);
    for (char c : line) expect(c >= 0x20 && c < 0x7f, "control byte in the status line");
    for (size_t at = eol + 2; at < head.size(); at = eol + 2) {
        eol = head.find("\r\n", at);
        const std::string_view field = head.substr(at, eol - at);
        const size_t colon = field.find(':');
        expect(colon != std::string_view::npos && colon > 0, "field line without a name");
        std::string name(field.substr(0, colon));
        for (char& c : name) {
            expect(is_tchar(c), "bad field name");
            c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        std::string_view value = field.substr(colon + 1);
        expect(value.substr(0, 1) == " ", "field without a space after the colon");
        value.remove_prefix(1);
        for (char c : value)
            expect(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f, "control byte in a field");
        expect(h.fields.emplace(name, value).second, "a field sent twice");
    }
    return end + 4;
}

void check_body(World& w, const Head& h, std::string_view body) {
    if (h.fields.count("etag") == 0) return;
    if (h.status == 200) {
        const auto f = w.files_by_size.find(body.size());
        expect(f != w.files_by_size.end() && f->second == body, "200 body is no docroot file");
        return;
    }
    expect(h.status == 206, "a body with an ETag that is neither 200 nor 206");
    const auto cr = h.fields.find("content-range");
    expect(cr != h.fields.end() && cr->second.starts_with("bytes "), "206 without Content-Range");
    const std::string_view spec = std::string_view(cr->second).substr(6);
    const size_t dash = spec.find('-'), slash = spec.find('/');
    uint64_t first = 0, last = 0, size = 0;
    expect(dash != std::string_view::npos && slash != std::string_view::npos && dash < slash &&
               parse_uint(spec.substr(0, dash), first) &&
               parse_uint(spec.substr(dash + 1, slash - dash - 1), last) &&
               parse_uint(spec.substr(slash + 1), size),
           "bad Content-Range");
    const auto f = w.files_by_size.find(size);
    expect(f != w.files_by_size.end() && first <= last && last < size, "Content-Range outside the file");
    expect(f->second.substr(first, last - first + 1) == body, "206 body is not the named range");
}

void check_stream(World& w, std::string_view s) {
    expect(s.find(kSecret) == std::string_view::npos, "a file outside the docroot was served");
    bool closed = false;
    while (!s.empty()) {
        expect(!closed, "bytes after a Connection: close response");
        Head h;
        s.remove_prefix(parse_response_head(s, h));
        if (h.status < 200) {
            expect(h.status == 100 && h.fields.empty(), "an interim response other than a bare 100");
            continue;
        }
        expect(h.fields.count("date") && h.fields.count("server"), "a response without Date or Server");
        const auto conn = h.fields.find("connection");
        closed = conn != h.fields.end() && conn->second == "close";
        if (h.status == 304 || h.status == 204) {
            expect(h.fields.count("content-length") == 0, "a 304 or 204 with Content-Length");
            continue;
        }
        uint64_t length = 0;
        const auto cl = h.fields.find("content-length");
        expect(cl != h.fields.end() && parse_uint(cl->second, length), "a response without Content-Length");
        // A HEAD response has no body: the next response (or the end) follows the head at once.
        // No docroot file and no error page starts with "HTTP/1.1 ", so this cannot be a body.
        if (length > 0 && (s.empty() || s.starts_with("HTTP/1.1 "))) continue;
        expect(s.size() >= length, "a body shorter than its Content-Length");
        check_body(w, h, s.substr(0, length));
        s.remove_prefix(length);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    World& w = world();
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string received;
    {
        Session session(w);
        size_t start = 0;
        for (size_t i = 0; i <= in.size(); ++i) {
            if (i < in.size() && in[i] != kSplit && in[i] != kTick) continue;
            session.send(in.substr(start, i - start));
            if (i < in.size() && in[i] == kTick) session.tick();
            start = i + 1;
        }
        session.finish();
        received = session.received();
    }
    // To see what the server answered to one input: PORTICO_FUZZ_DUMP=1 connection_fuzz FILE
    static const bool dump = std::getenv("PORTICO_FUZZ_DUMP") != nullptr;
    if (dump) std::fwrite(received.data(), 1, received.size(), stderr);
    check_stream(w, received);
    return 0;
}
