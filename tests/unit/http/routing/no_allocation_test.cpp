// The per-request work of routing must not allocate: match, expand, expires, access, dotfiles.
// This binary counts every operator new, so the test can see one.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <new>
#include <string>

#include "http/routing/access_list.hpp"
#include "http/routing/dotfiles.hpp"
#include "http/routing/expires.hpp"
#include "http/routing/location_matcher.hpp"
#include "http/routing/return_action.hpp"

namespace {
size_t g_allocations = 0;  // the unit tests are single-threaded
}

void* operator new(size_t size) {
    ++g_allocations;
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void* operator new[](size_t size) {
    return operator new(size);
}
// Every form that pairs with a plain delete, so no block is freed by another allocator's delete
// (ASan checks that pairing).
void* operator new(size_t size, const std::nothrow_t&) noexcept {
    ++g_allocations;
    return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](size_t size, const std::nothrow_t& tag) noexcept {
    return operator new(size, tag);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}

using namespace portico::http::routing;

TEST_CASE("routing a request allocates nothing", "[routing][allocation]") {
    // Twenty locations, prefixes and regexes, as the benchmark of issue 8 uses.
    const char* matches[] = {"= /",
                             "= /healthz",
                             "/",
                             "/api/",
                             "/api/v1/",
                             "/api/v2/",
                             "^~ /assets/",
                             "/static/",
                             "/docs/",
                             "/docs/old/",
                             "/admin/",
                             "/files/",
                             "/blog/",
                             "~ ^/users/(\\d+)$",
                             "~* \\.(bak|sql)$",
                             "~ \\.php$",
                             "~ ^/app/",
                             "~* \\.(png|jpe?g|gif)$",
                             "~ /feed$",
                             "~ ^/(\\w+)/(\\w+)/(\\w+)\\.html$"};
    LocationMatcher m;
    for (uint32_t i = 0; i < std::size(matches); ++i) {
        std::string problem;
        auto spec = MatchSpec::parse(matches[i], problem);
        REQUIRE(spec);
        REQUIRE(m.add(*spec, i, problem));
    }
    std::string problem;
    auto ret = ReturnAction::parse("301 $scheme://$host:$server_port/u/$1$request_uri?$args", problem);
    auto expires = Expires::parse("30d", problem);
    AccessList access;
    REQUIRE(access.add("allow 10.0.0.0/8", problem));
    REQUIRE(access.add("allow 2001:db8::/32", problem));
    REQUIRE(access.add("deny all", problem));
    REQUIRE((ret && expires));
    MatchData md;
    const std::string paths[] = {"/",         "/healthz",    "/api/v1/x",       "/assets/a.png",
                                 "/users/42", "/a/b/c.html", "/docs/old/x.SQL", "/nothing/here"};
    m.match("/users/1", md);  // any lazy set-up inside PCRE2 happens here, before counting

    size_t before = g_allocations;
    size_t hits = 0, bytes = 0;
    for (int round = 0; round < 100; ++round) {
        for (const std::string& path : paths) {
            auto r = m.match(path, md);
            hits += r.id != LocationMatcher::Result::kNone;
            RequestVars vars;
            vars.host = "example.test";
            vars.uri = path;
            vars.request_uri = path;
            vars.captures = r.captures;
            char out[512];
            bytes += ret->value.expand(vars, out, sizeof out);
            bytes += expires->write(784111777, out, sizeof out);
            hits += access.allows(*Address::parse("10.1.2.3")) + !access.allows(*Address::parse("192.0.2.1"));
            hits += is_hidden_path(path);
        }
    }
    CHECK(g_allocations - before == 0);
    CHECK(hits > 0);
    CHECK(bytes > 0);
}
