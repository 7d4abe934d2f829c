// Transport::keep_buffers: what OpenSSL allocates per request, counted by allocation functions
// installed before OpenSSL's first allocation (this file's static initialiser runs before main).
// Cold, a keep-alive exchange allocates and frees both record buffers; warm, nothing; cooling
// down frees them.

#include "core/tls/transport.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/tls/context.hpp"
#include "tests/unit/core/tls/in_process_client.hpp"

using namespace portico::core::tls;
using portico::test::client_context;
using portico::test::Connection;
using portico::test::TestCertificates;

namespace {

// A block is a size header and then the caller's bytes; 16 keeps the caller's bytes aligned.
constexpr size_t kHeader = 16;
constexpr size_t kLarge = 16 * 1024;  // a record buffer is larger; nothing else per record is

std::atomic<int64_t> live_bytes{0};
std::atomic<uint64_t> large_allocations{0};

void* counted_malloc(size_t size, const char*, int) {
    auto* block = static_cast<char*>(std::malloc(size + kHeader));
    if (block == nullptr) return nullptr;
    std::memcpy(block, &size, sizeof size);
    live_bytes += static_cast<int64_t>(size);
    if (size >= kLarge) ++large_allocations;
    return block + kHeader;
}

void counted_free(void* p, const char*, int) {
    if (p == nullptr) return;
    char* block = static_cast<char*>(p) - kHeader;
    size_t size = 0;
    std::memcpy(&size, block, sizeof size);
    live_bytes -= static_cast<int64_t>(size);
    std::free(block);
}

void* counted_realloc(void* p, size_t size, const char* file, int line) {
    if (p == nullptr) return counted_malloc(size, file, line);
    if (size == 0) {
        counted_free(p, file, line);
        return nullptr;
    }
    void* fresh = counted_malloc(size, file, line);
    if (fresh == nullptr) return nullptr;
    size_t old = 0;
    std::memcpy(&old, static_cast<char*>(p) - kHeader, sizeof old);
    std::memcpy(fresh, p, std::min(old, size));
    counted_free(p, file, line);
    return fresh;
}

// 1 when installed; 0 if OpenSSL had allocated already, which the test reports.
const int installed = CRYPTO_set_mem_functions(counted_malloc, counted_realloc, counted_free);

std::unique_ptr<Context> server_context() {
    Settings s;
    const TestCertificates& certs = TestCertificates::get();
    s.certificates.push_back({certs.path("a-ecdsa.pem"), certs.path("a-ecdsa.key")});
    std::string error;
    auto context = Context::create(s, Context::Options{0, "a", nullptr, false}, error);
    INFO(error);
    REQUIRE(context);
    return context;
}

// One keep-alive round: a request from the client, read by the server, a 612-byte answer back.
void exchange(Connection& c) {
    const std::string request = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t n = 0;
    REQUIRE(SSL_write_ex(c.client(), request.data(), request.size(), &n) == 1);
    char in[256];
    auto r = c.server().read(in, sizeof in);
    REQUIRE(r.status == IoStatus::kOk);
    REQUIRE(r.bytes == request.size());
    const std::string answer(612, 'x');
    const iovec iov{const_cast<char*>(answer.data()), answer.size()};
    REQUIRE(c.server().write(&iov, 1).bytes == answer.size());
    std::string got(answer.size(), '\0');
    size_t have = 0;
    while (have < got.size()) {
        REQUIRE(SSL_read_ex(c.client(), got.data() + have, got.size() - have, &n) == 1);
        have += n;
    }
    REQUIRE(got == answer);
}

}  // namespace

TEST_CASE("tls transport: a warm connection keeps OpenSSL's record buffers, cooling down frees them", "[tls]") {
    REQUIRE(installed == 1);
    auto server = server_context();
    auto client = client_context();
    Connection c(server->get(), client.get());
    REQUIRE(c.handshake());
    exchange(c);  // the client's buffers, and TLS 1.3's tickets, are in place after this one
    exchange(c);

    SECTION("cold (the start): every request allocates both buffers again") {
        uint64_t before = large_allocations;
        for (int i = 0; i < 10; ++i) exchange(c);
        CHECK(large_allocations - before >= 20);
    }
    SECTION("warm: no record buffer is allocated per request, and cooling down frees both") {
        int64_t cold = live_bytes;
        c.server().keep_buffers(true);
        exchange(c);
        int64_t warm = live_bytes;
        CHECK(warm - cold >= static_cast<int64_t>(2 * kLarge));
        uint64_t before = large_allocations;
        for (int i = 0; i < 10; ++i) exchange(c);
        CHECK(large_allocations == before);
        CHECK(live_bytes == warm);
        c.server().keep_buffers(false);
        CHECK(live_bytes == cold);
        // Cold again: the buffers come back for a request and go once it is answered.
        exchange(c);
        CHECK(live_bytes == cold);
    }
}
