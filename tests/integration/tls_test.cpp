// HTTPS end to end: the real binary under a master with two workers, two servers (a.test with an
// RSA and an ECDSA certificate, b.test with ECDSA) on one ssl address beside a plain one, and real
// clients: curl --cacert, openssl s_client, and the tests' own OpenSSL client (tls_client.hpp).
// Certificates are made for the test by the openssl command line.

#include <fcntl.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <sys/socket.h>

#include <csignal>
#include <filesystem>
#include <random>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/integration/master_harness.hpp"
#include "tests/integration/proc.hpp"
#include "tests/integration/tls_client.hpp"
#include "tests/unit/core/tls/test_certificates.hpp"

using namespace portico::test;
using Catch::Matchers::Contains;

namespace fs = std::filesystem;

namespace {

// @TLS@ is the ssl port; @PORT@ (the Server's) stays plain, for the status endpoint and readiness.
const std::string kTemplate = R"(master_process = true;
worker_processes = @WORKERS@;
error_log = "@DIR@/error.log";
log_level = "info";
pid_file = "@DIR@/portico.pid";
http = {
    access_log = "@DIR@/access.log";
    @HTTP@
};
servers = (
    { listen = ["127.0.0.1:@PORT@", "127.0.0.1:@TLS@ ssl"]; server_name = ["a.test"]; root = "@DIR@/www";
      index = ["index.html"]; status_path = "/status";
      tls = { certificate = ["@DIR@/a-rsa.pem", "@DIR@/a-ecdsa.pem"];
              certificate_key = ["@DIR@/a-rsa.key", "@DIR@/a-ecdsa.key"]; }; },
    { listen = ["127.0.0.1:@PORT@", "127.0.0.1:@TLS@ ssl"]; server_name = ["b.test"]; root = "@DIR@/www-b";
      tls = { certificate = "@DIR@/b.pem"; certificate_key = "@DIR@/b.key"; }; }
);
)";

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

/// Copies the test certificates into `dir`: a-rsa, a-ecdsa, b (b-ecdsa) and ca.pem.
void install_certificates(const TempDir& dir) {
    const TestCertificates& certs = TestCertificates::get();
    for (const char* name : {"a-rsa.pem", "a-rsa.key", "a-ecdsa.pem", "a-ecdsa.key", "ca.pem"})
        fs::copy_file(certs.path(name), dir / name, fs::copy_options::overwrite_existing);
    fs::copy_file(certs.path("b-ecdsa.pem"), dir / "b.pem", fs::copy_options::overwrite_existing);
    fs::copy_file(certs.path("b-ecdsa.key"), dir / "b.key", fs::copy_options::overwrite_existing);
}

/// The fixture site served over TLS on a port of its own, by a master with `workers` workers.
struct TlsSite {
    explicit TlsSite(uint32_t workers = 2, const std::string& http_extra = "")
        : tls_port(prepare(workers, http_extra)),
          server(site.dir, config),
          workers(wait_ready(server, 1, workers)) {}

    uint16_t prepare(uint32_t n, const std::string& http_extra) {
        install_certificates(site.dir);
        uint16_t port = free_port();
        config = replace_all(kTemplate, "@TLS@", std::to_string(port));
        config = replace_all(config, "@WORKERS@", std::to_string(n));
        config = replace_all(config, "@HTTP@", http_extra);
        return port;
    }

    [[nodiscard]] TlsOptions options(const std::string& name = "a.test") const {
        TlsOptions o;
        o.servername = name;
        o.ca_file = site.dir / "ca.pem";
        return o;
    }
    /// curl's arguments to reach `name` on the TLS port, trusting ca.pem.
    [[nodiscard]] std::string curl(const std::string& name = "a.test") const {
        std::string port = std::to_string(tls_port);
        return "curl -sS --max-time 20 --cacert '" + site.dir / "ca.pem" + "' --resolve " + name + ":" +
               port + ":127.0.0.1 ";
    }
    [[nodiscard]] std::string url(const std::string& path, const std::string& name = "a.test") const {
        return "https://" + name + ":" + std::to_string(tls_port) + path;
    }
    /// openssl s_client to the TLS port with `args`; the request `input` is sent and the
    /// connection kept until the server closes it (-ign_eof), so TLS 1.3 tickets arrive.
    [[nodiscard]] CommandResult s_client(const std::string& args, const std::string& input) const {
        return run_command("timeout 20 openssl s_client -connect 127.0.0.1:" + std::to_string(tls_port) +
                               " -CAfile '" + site.dir / "ca.pem" + "' -ign_eof " + args,
                           input);
    }

    Site site;
    std::string config;
    uint16_t tls_port;
    Server server;
    std::map<uint32_t, pid_t> workers;
};

const std::string kGetClose = "GET /index.html HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n";

/// The value of "Name: value" in curl -D output ("" when absent).
std::string header_in(const std::string& headers, const std::string& name) {
    std::string lower = headers;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::string key = "\n" + name + ": ";
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    size_t at = lower.find(key);
    if (at == std::string::npos) return {};
    size_t from = at + key.size();
    return headers.substr(from, headers.find('\r', from) - from);
}

}  // namespace

TEST_CASE("tls: curl --cacert gets, heads, a range and a 304 over HTTPS, ALPN http/1.1", "[tls]") {
    TlsSite t;
    TempDir out;
    CommandResult r = run_command(t.curl() + "-D '" + out / "h" + "' -o '" + out / "b" +
                                  "' -w '%{http_code} %{http_version}' " + t.url("/small.txt"));
    INFO(r.out << t.server.logs());
    REQUIRE(r.status == 0);
    CHECK(r.out == "200 1.1");
    CHECK(read_file(out / "b") == t.site.small);
    std::string etag = header_in(read_file(out / "h"), "ETag");
    REQUIRE_FALSE(etag.empty());

    r = run_command(t.curl() + "-I -w '%{http_code}' -o /dev/null " + t.url("/small.txt"));
    CHECK(r.out == "200");
    r = run_command(t.curl() + "-r 10-109 -w ' %{http_code}' " + t.url("/small.txt"));
    CHECK(r.out == t.site.small.substr(10, 100) + " 206");
    r = run_command(t.curl() + "-H 'If-None-Match: " + etag + "' -w '%{http_code}' -o /dev/null " +
                    t.url("/small.txt"));
    CHECK(r.out == "304");

    // Two URLs in one run share one keep-alive connection.
    r = run_command(t.curl() + "-v -o /dev/null -o /dev/null " + t.url("/small.txt") + " " +
                    t.url("/index.html"));
    CHECK_THAT(r.out, Contains("Re-using existing connection"));
    CHECK_THAT(r.out, Contains("ALPN: server accepted http/1.1"));
    t.server.stop_and_check();
}

TEST_CASE("tls: keep-alive serves many requests on one connection, and a pipeline in order", "[tls]") {
    TlsSite t;
    TlsClient c(t.tls_port, t.options());
    CHECK(c.alpn() == "http/1.1");
    for (int i = 0; i < 200; ++i) {
        c.send_raw(get(i % 2 == 0 ? "/small.txt" : "/medium.bin"));
        Response r = c.read_response();
        REQUIRE(r.status == 200);
        REQUIRE(r.body == (i % 2 == 0 ? t.site.small : t.site.medium));
    }
    std::string pipeline;
    for (int i = 0; i < 30; ++i) pipeline += get(i % 3 == 0 ? "/index.html" : "/small.txt");
    c.send_raw(pipeline);
    for (int i = 0; i < 30; ++i) {
        Response r = c.read_response();
        REQUIRE(r.status == 200);
        REQUIRE(r.body == (i % 3 == 0 ? t.site.index_html : t.site.small));
    }
    t.server.stop_and_check();
}

// A TLS connection that has just been answered keeps OpenSSL's record buffers for 50 ms, its
// timer first firing then to give them back. Requests on either side of that moment are served,
// and the keep-alive deadline is still the one the last response set.
TEST_CASE("tls: keep-alive requests around the moment the buffers go back are served, and the timeout holds",
          "[tls][timeouts]") {
    TlsSite t(1, "keepalive_timeout = 0.3;");
    TlsClient c(t.tls_port, t.options());
    for (int pause : {0, 10, 40, 48, 50, 52, 60, 100, 0, 0, 49, 51}) {
        std::this_thread::sleep_for(milliseconds(pause));  // the scenario's idle time, not a wait for an event
        c.send_raw(get("/small.txt"));
        Response r = c.read_response();
        REQUIRE(r.status == 200);
        REQUIRE(r.body == t.site.small);
    }
    auto start = Clock::now();
    TlsEnd end = c.read_until_close();
    auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    CHECK(end.close_notify);
    CHECK(took >= milliseconds(240));
    CHECK(took < milliseconds(3000));
    t.server.stop_and_check();
}

// Idle connections hold none of OpenSSL's record buffers (about 34 KiB a connection): the warm
// ones give theirs back 50 ms after their last response, so 300 connections made one after
// another cost the worker OpenSSL's per-connection state (about 14 KiB each) and little more.
TEST_CASE("tls: idle keep-alive connections give OpenSSL's record buffers back", "[tls][memory]") {
#ifdef __SANITIZE_ADDRESS__
    WARN("not measured under ASan: its quarantine keeps freed memory resident");
    return;
#endif
    TlsSite t(1);
    const pid_t worker = t.workers.begin()->second;
    constexpr int kConnections = 300;
    std::vector<std::unique_ptr<TlsClient>> held;
    auto open_one = [&] {
        held.push_back(std::make_unique<TlsClient>(t.tls_port, t.options()));
        held.back()->send_raw(get("/small.txt"));
        REQUIRE(held.back()->read_response().status == 200);
    };
    for (int i = 0; i < 20; ++i) open_one();  // the worker's first allocations are not counted
    const uint64_t before = resident_kib(worker);
    for (int i = 0; i < kConnections; ++i) open_one();
    const uint64_t after = resident_kib(worker);
    REQUIRE(after > 0);
    const double per_connection = static_cast<double>(after - std::min(after, before)) / kConnections;
    INFO("KiB per idle TLS connection: " << per_connection);
    CHECK(per_connection < 24);  // about 15.5 here; 31 when the buffers stay
    held.clear();
    t.server.stop_and_check();
}

// SSL_write returns after each record: a connection that took its short count for a full socket
// would wait for an edge that never comes. 100 KiB held in memory is seven records in one write.
TEST_CASE("tls: a body in memory larger than a record goes out whole", "[tls]") {
    TlsSite t(1, "open_file_cache = { in_memory_max = \"1m\"; };");
    TlsClient c(t.tls_port, t.options());
    for (int i = 0; i < 3; ++i) {
        c.send_raw(get("/medium.bin"));
        Response r = c.read_response();
        CHECK(r.status == 200);
        CHECK(r.body == t.site.medium);
    }
    c.send_raw(get("/medium.bin") + get("/small.txt") + get("/medium.bin"));
    CHECK(c.read_response().body == t.site.medium);
    CHECK(c.read_response().body == t.site.small);
    CHECK(c.read_response().body == t.site.medium);
    t.server.stop_and_check();
}

TEST_CASE("tls: an 8 MiB file arrives byte for byte, through curl and through the tests' client", "[tls]") {
    TlsSite t;
    const std::string big = pattern(8u << 20, 7);
    write_file(t.site.www + "/big.bin", big);
    TempDir out;
    CommandResult r =
        run_command(t.curl() + "-o '" + out / "big" + "' -w '%{http_code}' " + t.url("/big.bin"));
    INFO(r.out);
    CHECK(r.out == "200");
    CHECK(read_file(out / "big") == big);  // == on 8 MiB: one mismatch fails
    TlsClient c(t.tls_port, t.options());
    c.send_raw(get("/big.bin") + get("/large.bin"));
    CHECK(c.read_response().body == big);
    CHECK(c.read_response().body == t.site.large);
    t.server.stop_and_check();
}

TEST_CASE(
    "tls: SNI picks the server and its certificate; the client's signature algorithms pick RSA or ECDSA",
    "[tls]") {
    TlsSite t;
    for (const char* name : {"a.test", "b.test"}) {
        INFO(name);
        CommandResult r = t.s_client(std::string("-servername ") + name + " -verify_return_error",
                                     replace_all(kGetClose, "a.test", name));
        INFO(r.out);
        CHECK_THAT(r.out, Contains(std::string("subject=CN = ") + name));
        CHECK_THAT(r.out, Contains("Verify return code: 0 (ok)"));
        CHECK_THAT(r.out, Contains(name == std::string("a.test") ? t.site.index_html : t.site.b_index));
    }
    // No name, or one no server has: the first server's certificate, as nginx does.
    CommandResult none = t.s_client("-noservername", kGetClose);
    CHECK_THAT(none.out, Contains("subject=CN = a.test"));
    CommandResult other = t.s_client("-servername c.test", replace_all(kGetClose, "a.test", "c.test"));
    CHECK_THAT(other.out, Contains("subject=CN = a.test"));

    for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        INFO("version " << std::hex << version);
        TlsOptions rsa = t.options();
        rsa.max_version = version;
        rsa.sigalgs = "rsa_pss_rsae_sha256:RSA+SHA256";
        CHECK(TlsClient(t.tls_port, rsa).peer_key_type() == EVP_PKEY_RSA);
        TlsOptions ecdsa = t.options();
        ecdsa.max_version = version;
        ecdsa.sigalgs = "ECDSA+SHA256";
        CHECK(TlsClient(t.tls_port, ecdsa).peer_key_type() == EVP_PKEY_EC);
    }
    CommandResult s_rsa = t.s_client("-servername a.test -sigalgs RSA-PSS+SHA256", kGetClose);
    CHECK_THAT(s_rsa.out, Contains("Server public key is 2048 bit"));
    CommandResult s_ec = t.s_client("-servername a.test -sigalgs ECDSA+SHA256", kGetClose);
    CHECK_THAT(s_ec.out, Contains("Server public key is 256 bit"));
    t.server.stop_and_check();
}

TEST_CASE("tls: a Host that names another server than SNI chose gets 421", "[tls]") {
    TlsSite t;
    struct Case {
        const char* sni;
        const char* host;
        int status;
        std::string body;
    };
    for (const Case& k :
         {Case{"a.test", "a.test", 200, t.site.index_html}, Case{"a.test", "b.test", 421, ""},
          Case{"b.test", "a.test", 421, ""}, Case{"b.test", "B.Test.", 200, t.site.b_index},
          Case{"b.test", "unknown.test", 200, t.site.b_index}, Case{"", "b.test", 200, t.site.b_index}}) {
        INFO("SNI " << k.sni << ", Host " << k.host);
        TlsClient c(t.tls_port, t.options(k.sni));
        c.send_raw(get("/", {}, "GET", k.host) + get("/", {}, "GET", k.host));
        for (int i = 0; i < 2; ++i) {  // 421 keeps the connection: the client may ask again
            Response r = c.read_response();
            CHECK(r.status == k.status);
            if (k.status == 200) CHECK(r.body == k.body);
        }
    }
    t.server.stop_and_check();
}

RunResult reload(const TlsSite& t) {
    return run_portico({"-c", t.server.config_path(), "-s", "reload"}, t.site.dir);
}

TEST_CASE("tls: a session resumes on either of two workers, 20 times, and again after a reload", "[tls]") {
    TlsSite t;
    TempDir out;
    Client status(t.server.port());  // keep-alive: its requests add to no worker's accepted count
    const Status before = fetch_status(status);
    auto resume_20 = [&](const std::string& version, const std::string& sess) {
        for (int i = 0; i < 20; ++i) {
            CommandResult again =
                t.s_client(version + " -servername a.test -sess_in '" + sess + "'", kGetClose);
            INFO("try " << i << ":\n" << again.out);
            REQUIRE_THAT(again.out, Contains("Reused, TLSv1."));
            REQUIRE_THAT(again.out, Contains(t.site.index_html));
        }
    };
    std::vector<std::pair<std::string, std::string>> sessions;  // (version flag, session file)
    for (std::string version : {"-tls1_3", "-tls1_2"}) {
        INFO(version);
        std::string sess = out / ("session" + version + ".pem");
        CommandResult first = t.s_client(version + " -servername a.test -sess_out '" + sess + "'", kGetClose);
        INFO(first.out);
        REQUIRE_THAT(first.out, Contains("New, TLSv1."));
        resume_20(version, sess);
        sessions.emplace_back(version, sess);
    }
    // The 42 connections landed on both workers (the kernel hashes each new source port), and every
    // resumption on the worker that did not issue the ticket worked.
    Status after = status_until(
        status, [&](const Status& s) { return s.total.accepted - before.total.accepted == 42; },
        "the 42 TLS connections counted");
    for (const WorkerStatus& w : after.workers)
        CHECK(w.accepted > before.of(static_cast<pid_t>(w.pid)).accepted);

    RunResult r = reload(t);
    INFO(r.err << t.server.logs());
    REQUIRE(r.status == 0);
    CHECK(t.server.wait_for_log("session-ticket keys rotated for generation 2"));
    for (const auto& [version, sess] : sessions) {
        INFO(version << " after the reload");
        resume_20(version, sess);
    }
    status.close();
    t.server.stop_and_check();
}

// The new master of a binary upgrade is the old one's child: it takes over the ticket keys the
// old one hands it, so a ticket issued before the upgrade resumes on the new workers. Without the
// hand-over the new master's keys are its own, and the check for "Reused" fails.
TEST_CASE("tls: a session from before a binary upgrade resumes after it", "[tls][upgrade]") {
    TlsSite t;
    TempDir out;
    std::vector<std::pair<std::string, std::string>> sessions;  // (version flag, session file)
    for (std::string version : {"-tls1_3", "-tls1_2"}) {
        std::string sess = out / ("session" + version + ".pem");
        CommandResult first = t.s_client(version + " -servername a.test -sess_out '" + sess + "'", kGetClose);
        INFO(version << "\n" << first.out);
        REQUIRE_THAT(first.out, Contains("New, TLSv1."));
        sessions.emplace_back(version, sess);
    }
    const std::string pid_file = t.site.dir / "portico.pid";
    RunResult r = run_portico({"-c", t.server.config_path(), "-s", "upgrade", "--wait", "30"}, t.site.dir);
    INFO(r.err << t.server.logs());
    REQUIRE(r.status == 0);
    CHECK(t.server.wait_exit(kWait) == 0);  // the old master, once its workers are done
    // The new master is not the test's child: stopped by its pid, whatever happens.
    AdoptedMaster second{static_cast<pid_t>(std::stol(read_file(pid_file)))};
    CHECK_THAT(read_file(t.server.error_log_path()), Contains("session-ticket keys taken over"));
    for (const auto& [version, sess] : sessions) {
        for (int i = 0; i < 5; ++i) {  // on both new workers, most likely (the kernel hashes the port)
            CommandResult again = t.s_client(version + " -servername a.test -sess_in '" + sess + "'", kGetClose);
            INFO(version << " after the upgrade, try " << i << ":\n" << again.out);
            REQUIRE_THAT(again.out, Contains("Reused, TLSv1."));
            REQUIRE_THAT(again.out, Contains(t.site.index_html));
        }
    }
}

namespace {

/// A fresh self-signed ECDSA certificate for `host` at dir/name.pem and dir/name.key.
void new_certificate(const TempDir& dir, const std::string& name, const std::string& host) {
    CommandResult r = run_command("cd '" + dir.path() +
                                  "' && openssl req -x509 -newkey ec -pkeyopt "
                                  "ec_paramgen_curve:P-256 -nodes -keyout " +
                                  name + ".key -out " + name + ".pem -days 2 -subj /CN=" + host +
                                  " -addext subjectAltName=DNS:" + host);
    INFO(r.out);
    REQUIRE(r.status == 0);
}

std::string fingerprint_of(const TlsSite& t, const std::string& name, const std::string& ca) {
    TlsOptions o = t.options(name);
    o.ca_file = ca;
    return TlsClient(t.tls_port, o).peer_fingerprint();
}

/// -s reload fails naming `needle`; generation 1 still shows the certificate it loaded.
void expect_reload_refused(const TlsSite& t, const std::string& needle, const std::string& old_fingerprint) {
    RunResult r = reload(t);
    INFO(r.err << t.server.logs());
    CHECK(r.status == 1);
    CHECK_THAT(r.err, Contains(t.server.config_path() + ":16: setting 'servers[1].tls.certificate"));
    CHECK_THAT(r.err, Contains(needle));
    CHECK(fingerprint_of(t, "b.test", t.site.dir / "ca.pem") == old_fingerprint);
    CHECK(sorted(children_of(t.server.pid())) == pids_of(t.workers));
}

}  // namespace

TEST_CASE(
    "tls: a bad certificate on reload keeps the old generation serving; a replaced one is served to new "
    "connections while old ones finish",
    "[tls][reload]") {
    TlsSite t;
    const std::string big = pattern(8u << 20, 3);
    write_file(t.site.www_b + "/big.bin", big);
    const std::string b_pem = t.site.dir / "b.pem", b_key = t.site.dir / "b.key";
    const std::string old_fingerprint = fingerprint_of(t, "b.test", t.site.dir / "ca.pem");
    const std::string good_pem = read_file(b_pem), good_key = read_file(b_key);

    replace_file(b_pem, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
    expect_reload_refused(t, "cannot use '" + b_pem + "'", old_fingerprint);
    replace_file(b_pem, good_pem);
    replace_file(b_key, read_file(t.site.dir / "a-ecdsa.key"));
    expect_reload_refused(t, "'" + b_key + "' is not the key of the certificate", old_fingerprint);
    fs::remove(b_key);
    expect_reload_refused(t, "No such file or directory", old_fingerprint);
    replace_file(b_key, good_key);

    // A download in flight on generation 1 while the certificate is replaced and reloaded.
    TlsClient downloading(t.tls_port, t.options("b.test"));
    downloading.send_raw(get("/big.bin", {}, "GET", "b.test"));
    new_certificate(t.site.dir, "b2", "b.test");
    replace_file(b_pem, read_file(t.site.dir / "b2.pem"));
    replace_file(b_key, read_file(t.site.dir / "b2.key"));
    RunResult r = reload(t);
    INFO(r.err << t.server.logs());
    REQUIRE(r.status == 0);
    const std::string new_fingerprint = fingerprint_of(t, "b.test", t.site.dir / "b2.pem");
    CHECK(new_fingerprint != old_fingerprint);
    CHECK(downloading.peer_fingerprint() == old_fingerprint);
    Response old = downloading.read_response();
    CHECK(old.status == 200);
    CHECK(old.body == big);
    t.server.stop_and_check({"reload failed:"});
}

TEST_CASE("tls: plain HTTP sent to the TLS port gets a plain 400 that says so, then a clean close", "[tls]") {
    TlsSite t;
    Client c(t.tls_port);
    c.send_raw(get("/index.html") + get("/small.txt"));
    Response r = c.read_response();
    CHECK(r.status == 400);
    CHECK(r.header("Connection") == "close");
    CHECK_THAT(r.body, Contains("The plain HTTP request was sent to HTTPS port"));
    c.expect_closed();  // the rest of the request was drained, not reset away
    // One that trickles in and then stops waiting is answered too.
    Client d(t.tls_port);
    d.send_raw("GET / HTTP/1.1\r\n");
    CHECK(d.read_response().status == 400);
    // Whatever the method: OpenSSL itself knows only GET, POST, HEAD and PUT.
    for (const char* method : {"DELETE", "OPTIONS", "PATCH", "PROPFIND"}) {
        INFO(method);
        Client m(t.tls_port);
        m.send_raw(get("/index.html", {}, method));
        Response answer = m.read_response();
        CHECK(answer.status == 400);
        CHECK_THAT(answer.body, Contains("The plain HTTP request was sent to HTTPS port"));
    }
    t.server.stop_and_check();
    CHECK(count(read_file(t.site.dir / "access.log"), "\"-\" 400 ") == 6);  // no request line was read
    CHECK_THAT(read_file(t.server.error_log_path()), Contains("the client sent a plain HTTP request"));
}

TEST_CASE("tls: garbage and truncated handshakes close cleanly and never crash a worker", "[tls]") {
    TlsSite t;
    std::mt19937 random(20261202);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_int_distribution<size_t> length(1, 600);
    for (int i = 0; i < 1000; ++i) {
        std::string hello(length(random), '\0');
        for (char& ch : hello) ch = static_cast<char>(byte(random));
        // A third look like the start of a TLS handshake record, to go further into the parser.
        if (i % 3 == 0 && hello.size() >= 6) hello.replace(0, 6, std::string("\x16\x03\x01\x02\x00\x01", 6));
        Client c(t.tls_port);
        c.send_raw(hello);
        ::shutdown(c.fd(), SHUT_WR);  // a truncated handshake ends here (unless refused already)
        Closed end = c.read_until_close();
        INFO("string " << i);
        CHECK(end.bytes.size() < 4096);  // at most an alert (or the plain 400), never a hang
    }
    CHECK(sorted(children_of(t.server.pid())) == pids_of(t.workers));
    TlsClient c(t.tls_port, t.options());
    c.send_raw(get("/small.txt"));
    CHECK(c.read_response().body == t.site.small);
    t.server.stop_and_check();
    CHECK_THAT(read_file(t.server.error_log_path()), Contains("TLS handshake on fd"));
}

TEST_CASE("tls: the handshake is bounded by client_header_timeout", "[tls][timeouts]") {
    TlsSite t(1, "client_header_timeout = \"300ms\";");
    Client silent(t.tls_port);
    Client partial(t.tls_port);
    partial.send_raw(
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));  // a ClientHello's start
    auto start = Clock::now();
    for (Client* c : {&silent, &partial}) {
        c->expect_closed();
        CHECK(since(start) >= milliseconds(250));
        CHECK(since(start) < kWait);
    }
    t.server.stop_and_check();
}

TEST_CASE("tls: a response that ends the connection ends it with close_notify", "[tls]") {
    TlsSite t;
    TlsClient c(t.tls_port, t.options());
    c.send_raw(kGetClose);
    CHECK(c.read_response().body == t.site.index_html);
    TlsEnd end = c.read_until_close();
    CHECK(end.bytes.empty());
    CHECK(end.close_notify);
    CHECK_FALSE(end.reset);
    // An idle keep-alive connection closed by a graceful stop gets one too.
    TlsClient idle(t.tls_port, t.options());
    idle.send_raw(get("/small.txt"));
    CHECK(idle.read_response().body == t.site.small);
    REQUIRE(::kill(t.server.pid(), SIGQUIT) == 0);
    TlsEnd stopped = idle.read_until_close();
    CHECK(stopped.close_notify);
    CHECK(t.server.wait_exit(kWait * 2) == 0);
    t.server.check_logs();
}

// A write that meets a reset used to come back from the transport as "0 bytes sent": the streamed
// (gzip) response loop tried again at once, forever, and the worker stopped answering anyone; a
// response waiting for writability held its descriptor until send_timeout. Now such a write is
// an error, as on plain TCP: the connection closes and the worker goes on.
TEST_CASE("tls: clients that reset in the middle of a streamed response are closed, and the worker goes on",
          "[tls]") {
    TlsSite t(1, R"(gzip = { types = ["text/plain"]; };)");
    {
        std::string text;  // 24 MiB of text that gzip shrinks only about tenfold: a long stream
        std::mt19937 rng(3);
        while (text.size() < (24u << 20)) text += "line " + std::to_string(rng()) + " of the big text file\n";
        write_file(t.site.www + "/big.txt", text);
    }
    const pid_t worker = t.workers.at(0);
    const std::string request = "GET /big.txt HTTP/1.1\r\nHost: a.test\r\nAccept-Encoding: gzip\r\n\r\n";
    std::mt19937 rng(11);
    for (int i = 0; i < 12; ++i) {
        TlsClient c(t.tls_port, t.options());
        c.send_raw(request);
        std::string got = c.read_some(16384 + rng() % 200000);
        REQUIRE(got.starts_with("HTTP/1.1 200 OK\r\n"));
        REQUIRE(got.find("Content-Encoding: gzip\r\n") != std::string::npos);
        c.reset();
    }
    // The worker still answers, at once, over TLS and over plain HTTP.
    TlsClient after(t.tls_port, t.options());
    after.send_raw(get("/small.txt"));
    CHECK(after.read_response().body == t.site.small);
    // The reset connections are gone, not waiting for send_timeout: only the status request's own
    // connection is active.
    Status s = status_until(
        t.server.port(), [](const Status& st) { return st.total.active <= 2; },
        "the reset connections closed");
    CHECK(s.of(worker).pid == static_cast<uint64_t>(worker));
    t.server.stop_and_check();
}

// OpenSSL may hold decrypted bytes of a record the connection could not take at once (its head
// buffer is 1 KiB). A request that arrived while a response was being written was then never read:
// the transport judged "the socket is empty" by its last read of the socket, made before that
// request came, and no new edge would come for it.
TEST_CASE("tls: a pipelined request that arrives while a large response is written is answered", "[tls]") {
    TlsSite t(1);
    const std::string big = t.site.www + "/sparse.bin";
    {
        portico::core::UniqueFd f(::open(big.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        REQUIRE(f.valid());
        REQUIRE(::ftruncate(f.get(), 32 << 20) == 0);  // more than the socket buffers hold
    }
    const std::string pad = "X-Pad: " + std::string(3000, 'a') + "\r\n";
    TlsClient c(t.tls_port, t.options());
    // One record: the big file's request and a small one, each larger than the head buffer.
    c.send_raw("GET /sparse.bin HTTP/1.1\r\nHost: a.test\r\n" + pad + "\r\n" +
               "GET /small.txt HTTP/1.1\r\nHost: a.test\r\n" + pad + "\r\n");
    // Its head is here: the first response is being written, and cannot end while this client
    // reads no more. The third request comes now, in a record of its own.
    Response first_head = c.read_response(true);
    REQUIRE(first_head.status == 200);
    c.send_raw(get("/index.html"));
    std::string got = c.read_some(32u << 20);  // the first body, and whatever came behind it
    REQUIRE(got.size() >= (32u << 20));
    std::string rest = got.substr(32u << 20);
    while (!rest.ends_with(t.site.index_html)) rest += c.read_some(1);  // fails after kWait without
    CHECK(rest.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(rest.find(t.site.small) != std::string::npos);
    t.server.stop_and_check();
}

// Many clients end with a bare FIN, no close_notify. OpenSSL 3 takes that for an attack on the
// stream unless told otherwise, and the server answered it with a fatal alert (and forgot the
// session); nginx, and portico now, take it as the end of the input, as on plain TCP.
TEST_CASE("tls: a client's FIN without close_notify is the end of its input, answered with close_notify",
          "[tls]") {
    TlsSite t(1);
    TlsClient c(t.tls_port, t.options());
    c.send_raw(get("/small.txt"));
    c.shutdown_write();
    CHECK(c.read_response().body == t.site.small);
    TlsEnd end = c.read_until_close();
    CHECK(end.bytes.empty());
    CHECK(end.close_notify);
    CHECK_FALSE(end.reset);
    t.server.stop_and_check();
}

// The conformance cases of bad_requests_test.cpp, a sample of each kind, over TLS: the status, a
// close after the answer (with close_notify), and the valid follower in the same write unanswered.
TEST_CASE("tls: malformed requests get their status and a clean close over TLS too", "[tls][bad]") {
    TlsSite t(1, "client_max_body_size = \"1k\";\n    large_client_header_buffer_size = \"8k\";");
    const std::string host = "Host: a.test\r\n", te = "Transfer-Encoding: chunked\r\n";
    const std::string follower = "GET /index.html HTTP/1.1\r\nHost: a.test\r\n\r\n";
    struct Case {
        const char* name;
        std::string bytes;
        int status;
    };
    const std::vector<Case> cases = {
        {"request line without a version", "GET /index.html\r\n" + host + "\r\n", 400},
        {"bare LF line ends", "GET / HTTP/1.1\n" + host + "\n", 400},
        {"obs-fold", "GET / HTTP/1.1\r\n" + host + "X-A: 1\r\n  continued\r\n\r\n", 400},
        {"Content-Length and Transfer-Encoding",
         "GET / HTTP/1.1\r\n" + host + "Content-Length: 5\r\n" + te + "\r\n0\r\n\r\n", 400},
        {"conflicting Content-Length",
         "GET / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
        {"missing Host", "GET /index.html HTTP/1.1\r\n\r\n", 400},
        {"bad chunk size", "GET / HTTP/1.1\r\n" + host + te + "\r\nzz\r\nhello\r\n0\r\n\r\n", 400},
        {"an empty chunk extension", "GET / HTTP/1.1\r\n" + host + te + "\r\n2;\r\nab\r\n0\r\n\r\n", 400},
        {"unknown method", "BREW /index.html HTTP/1.1\r\n" + host + "\r\n", 501},
        {"HTTP/2.0", "GET / HTTP/2.0\r\n" + host + "\r\n", 505},
        {"a body above client_max_body_size", "GET / HTTP/1.1\r\n" + host + "Content-Length: 5000\r\n\r\n",
         413},
        {"a head above 8k", "GET / HTTP/1.1\r\n" + host + "X-Big: " + std::string(9000, 'v') + "\r\n\r\n",
         431},
    };
    for (const Case& k : cases) {
        INFO(k.name);
        TlsClient c(t.tls_port, t.options());
        c.send_raw(k.bytes + follower);
        Response r = c.read_response();
        CHECK(r.status == k.status);
        CHECK(r.header("Connection") == "close");
        check_common_headers(r);
        TlsEnd end = c.read_until_close();
        CHECK(end.bytes.empty());  // the follower was not answered
        CHECK_FALSE(end.reset);
        CHECK(end.close_notify);
    }
    // A good chunked POST body is read by its framing over TLS as well: 405, and keep-alive.
    TlsClient c(t.tls_port, t.options());
    c.send_raw("POST /index.html HTTP/1.1\r\n" + host + te + "\r\n5\r\nhello\r\n0\r\n\r\n" + follower);
    CHECK(c.read_response().status == 405);
    CHECK(c.read_response().body == t.site.index_html);
    t.server.stop_and_check();
}

namespace {

// The README's HTTP-to-HTTPS example: a plain server whose only answer is the `return` (its root
// is required but never read), and the HTTPS server beside it. @PORT@ is the plain one, @TLS@
// the ssl one.
const std::string kRedirectTemplate = R"(master_process = true;
worker_processes = 1;
error_log = "@DIR@/error.log";
log_level = "info";
pid_file = "@DIR@/portico.pid";
http = { access_log = "@DIR@/access.log"; };
servers = (
    { listen = ["127.0.0.1:@PORT@"]; server_name = ["a.test"]; root = "@DIR@/www";
      return = "301 https://$host$request_uri"; },
    { listen = ["127.0.0.1:@TLS@ ssl"]; server_name = ["a.test"]; root = "@DIR@/www";
      tls = { certificate = "@DIR@/a-ecdsa.pem"; certificate_key = "@DIR@/a-ecdsa.key"; }; }
);
)";

}  // namespace

TEST_CASE("tls: the README's HTTP-to-HTTPS return sends a plain request to the same URI over HTTPS",
          "[tls][redirect]") {
    Site site;
    install_certificates(site.dir);
    uint16_t tls_port = free_port();
    Server server(site.dir, replace_all(kRedirectTemplate, "@TLS@", std::to_string(tls_port)));
    wait_ready(server, 1, 1);
    std::string plain = "http://127.0.0.1:" + std::to_string(server.port());

    // $host is the Host without its port, lower-cased; $request_uri is the target as sent.
    CommandResult r = run_command("curl -sS --max-time 20 -o /dev/null -H 'Host: A.Test:" +
                                  std::to_string(server.port()) +
                                  "' -w '%{http_code} %{redirect_url}' '" + plain +
                                  "/small.txt?x=1&y=%2F'");
    INFO(r.out << server.logs());
    REQUIRE(r.status == 0);
    CHECK(r.out == "301 https://a.test/small.txt?x=1&y=%2F");

    // Any method is sent over, and HEAD gets no body; the head names the Location exactly.
    TempDir out;
    r = run_command("curl -sS --max-time 20 -I --path-as-is -D '" + out / "h" + "' -H 'Host: a.test' '" + plain +
                    "/docs/../index.html'");
    REQUIRE(r.status == 0);
    CHECK(header_in(read_file(out / "h"), "Location") == "https://a.test/docs/../index.html");

    // Following it (the https port given by --connect-to) lands on the HTTPS server's file.
    r = run_command("curl -sS --max-time 20 -L --cacert '" + site.dir / "ca.pem" +
                    "' --connect-to a.test:443:127.0.0.1:" + std::to_string(tls_port) +
                    " -H 'Host: a.test' -w ' %{http_code} %{url_effective}' '" + plain + "/small.txt'");
    CHECK(r.out == site.small + " 200 https://a.test/small.txt");
    server.stop_and_check();
}
