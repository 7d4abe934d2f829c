// Tests for the upstream balancers: nginx's smooth weighted round robin sequence, passive health
// (max_fails / fail_timeout), backups, weighted least connections, and the consistent hash ring.

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <map>
#include <string>
#include <vector>

#include "http/proxy/balancer.hpp"
#include "http/proxy/upstream_group.hpp"

using namespace portico::http::proxy;

namespace {

std::string sequence(Balancer& b, int n, int64_t now = 0, const TriedPeers& tried = {}) {
    std::string out;
    for (int i = 0; i < n; ++i) {
        const int peer = b.pick(0, now, tried);
        out += peer == Balancer::kNone ? '-' : static_cast<char>('a' + peer);
    }
    return out;
}

std::vector<PeerSpec> peers(std::initializer_list<uint32_t> weights) {
    std::vector<PeerSpec> out;
    for (uint32_t w : weights) out.push_back(PeerSpec{"", w, 1, 10'000, false});
    return out;
}

}  // namespace

TEST_CASE("proxy balancer: smooth weighted round robin gives nginx's sequence", "[proxy]") {
    struct Case {
        std::vector<uint32_t> weights;
        const char* expected;
    };
    const std::array cases{
        Case{{5, 1, 1},
             "aabacaa"
             "aabacaa"},
        Case{{1, 1, 1}, "abcabc"},
        Case{{3, 1},
             "aaba"
             "aaba"},
        Case{{2, 3}, "babab"},
        Case{{1}, "aaa"},
    };
    for (const Case& c : cases) {
        std::vector<PeerSpec> specs;
        for (uint32_t w : c.weights) specs.push_back(PeerSpec{"", w, 1, 10'000, false});
        Balancer b(specs, BalanceMode::kRoundRobin);
        INFO("weights " << c.weights.size());
        CHECK(sequence(b, static_cast<int>(std::string_view(c.expected).size())) == c.expected);
    }
}

TEST_CASE("proxy balancer: a server that failed max_fails times is skipped for fail_timeout", "[proxy]") {
    std::vector<PeerSpec> specs{{"a", 1, 2, 10'000, false}, {"b", 1, 2, 10'000, false}};
    Balancer b(specs, BalanceMode::kRoundRobin);
    b.on_failure(0, 1000);
    CHECK_FALSE(b.is_down(0, 1000));  // one failure of two allowed
    b.on_failure(0, 1000);
    CHECK(b.is_down(0, 1000));
    CHECK(sequence(b, 4, 5000) == "bbbb");
    CHECK(b.is_down(0, 11'000));
    CHECK_FALSE(b.is_down(0, 11'001));  // fail_timeout has passed: tried again
    const std::string probe = sequence(b, 6, 11'001);
    CHECK(std::count(probe.begin(), probe.end(), 'a') == 1);  // one request proves it, not a flood
    CHECK(b.is_down(0, 11'002));
    b.on_success(0);
    CHECK_FALSE(b.is_down(0, 11'002));
    CHECK(sequence(b, 4, 11'002).find('a') != std::string::npos);
}

TEST_CASE("proxy balancer: max_fails counts the failures within fail_timeout only", "[proxy]") {
    std::vector<PeerSpec> specs{{"a", 1, 2, 10'000, false}, {"b", 1, 2, 10'000, false}};
    Balancer b(specs, BalanceMode::kRoundRobin);
    b.on_failure(0, 1000);
    b.on_failure(0, 20'000);  // the first is older than fail_timeout: this is the first again
    CHECK_FALSE(b.is_down(0, 20'000));
    b.on_failure(0, 25'000);
    CHECK(b.is_down(0, 25'000));
}

TEST_CASE("proxy balancer: max_fails = 0 never takes a server out", "[proxy]") {
    std::vector<PeerSpec> specs{{"a", 1, 0, 10'000, false}};
    Balancer b(specs, BalanceMode::kRoundRobin);
    for (int i = 0; i < 10; ++i) b.on_failure(0, 0);
    CHECK(sequence(b, 2) == "aa");
}

TEST_CASE("proxy balancer: backups serve only while every primary is down or tried", "[proxy]") {
    std::vector<PeerSpec> specs{{"a", 1, 1, 10'000, false},
                                {"b", 1, 1, 10'000, false},
                                {"c", 1, 1, 10'000, true},
                                {"d", 1, 1, 10'000, true}};
    for (BalanceMode mode : {BalanceMode::kRoundRobin, BalanceMode::kLeastConn}) {
        Balancer b(specs, mode);
        CHECK(sequence(b, 4) == "abab");
        b.on_failure(0, 0);
        CHECK(sequence(b, 2) == "bb");
        TriedPeers tried;
        tried.set(1);
        CHECK(sequence(b, 4, 0, tried) == "cdcd");  // a down, b tried: the backups
        b.on_failure(1, 0);
        CHECK(sequence(b, 2) == "cd");
        b.on_failure(2, 0);
        b.on_failure(3, 0);
        CHECK(sequence(b, 1) == "-");  // everything down: the caller answers 502
        // fail_timeout has passed: the primaries get a probe each, then the backups.
        std::string probes = sequence(b, 2, 10'001);
        std::sort(probes.begin(), probes.end());
        CHECK(probes == "ab");
        b.on_success(0);
        b.on_success(1);
        const std::string recovered = sequence(b, 4, 10'002);  // the primaries are back
        CHECK(recovered.find_first_of("cd-") == std::string::npos);
        CHECK(recovered.find('b') != std::string::npos);
    }
}

TEST_CASE("proxy balancer: tried servers are not picked again for the same request", "[proxy]") {
    auto specs = peers({1, 1, 1});
    Balancer b(specs, BalanceMode::kRoundRobin);
    TriedPeers tried;
    tried.set(0);
    tried.set(2);
    CHECK(sequence(b, 3, 0, tried) == "bbb");
    tried.set(1);
    CHECK(sequence(b, 1, 0, tried) == "-");
}

TEST_CASE("proxy balancer: least_conn takes the fewest connections per weight, ties by round robin",
          "[proxy]") {
    auto specs = peers({1, 1, 2});
    Balancer b(specs, BalanceMode::kLeastConn);
    // All idle: a weighted round robin over the three (c has weight 2).
    CHECK(sequence(b, 8) ==
          "cabc"
          "cabc");
    b.on_connect(0);
    b.on_connect(0);
    b.on_connect(1);
    b.on_connect(2);
    b.on_connect(2);
    // conns/weight: a 2, b 1, c 1: b and c tie, and share 1:2.
    CHECK(sequence(b, 3) == "cbc");
    b.on_connect(2);
    b.on_connect(2);
    CHECK(sequence(b, 2) == "bb");  // c at 4/2 = 2, b at 1
    b.on_release(0);
    b.on_release(0);
    CHECK(sequence(b, 1) == "a");
    CHECK(b.connections(0) == 0);
    b.on_release(0);  // never below zero
    CHECK(b.connections(0) == 0);
}

TEST_CASE("proxy balancer: weights skew least_conn's ties", "[proxy]") {
    auto specs = peers({3, 1});
    Balancer b(specs, BalanceMode::kLeastConn);
    std::map<int, int> count;
    for (int i = 0; i < 400; ++i) ++count[b.pick(0, 0, {})];
    CHECK(count[0] == 300);
    CHECK(count[1] == 100);
}

TEST_CASE("proxy balancer: a failure lowers a server's share until it recovers", "[proxy]") {
    std::vector<PeerSpec> specs{{"a", 10, 5, 10'000, false}, {"b", 10, 5, 10'000, false}};
    Balancer b(specs, BalanceMode::kRoundRobin);
    b.on_failure(0, 0);  // effective weight 10 -> 8
    std::map<int, int> count;
    for (int i = 0; i < 4; ++i) ++count[b.pick(0, 0, {})];
    CHECK(count[1] >= count[0]);
}

namespace {

std::vector<int> assign(const std::vector<PeerSpec>& specs, int keys) {
    Balancer b(specs, BalanceMode::kHash);
    std::vector<int> out;
    for (int k = 0; k < keys; ++k)
        out.push_back(b.pick(Balancer::hash_key("10.0.0." + std::to_string(k)), 0, {}));
    return out;
}

}  // namespace

TEST_CASE("proxy balancer: the hash ring moves only the removed server's keys", "[proxy]") {
    std::vector<PeerSpec> four{{"10.1.0.1:80", 1, 1, 10'000, false},
                               {"10.1.0.2:80", 1, 1, 10'000, false},
                               {"10.1.0.3:80", 1, 1, 10'000, false},
                               {"10.1.0.4:80", 1, 1, 10'000, false}};
    constexpr int kKeys = 10'000;
    const std::vector<int> before = assign(four, kKeys);
    std::array<int, 4> share{};
    for (int peer : before) ++share[static_cast<size_t>(peer)];
    for (int s : share) CHECK((s > kKeys / 4 * 0.75 && s < kKeys / 4 * 1.25));  // each about a quarter

    std::vector<PeerSpec> three{four[0], four[1], four[3]};  // 10.1.0.3 removed
    const std::vector<int> after = assign(three, kKeys);
    const int map_back[] = {0, 1, 3};
    int moved = 0;
    for (int k = 0; k < kKeys; ++k) {
        const int now = map_back[after[static_cast<size_t>(k)]];
        if (now != before[static_cast<size_t>(k)]) {
            ++moved;
            CHECK(before[static_cast<size_t>(k)] == 2);  // only the removed server's keys move
        }
    }
    CHECK(moved == share[2]);
}

TEST_CASE("proxy balancer: a down server's hash keys go to the next point, and come back", "[proxy]") {
    std::vector<PeerSpec> specs{
        {"x:1", 1, 1, 1000, false}, {"y:1", 1, 1, 1000, false}, {"z:1", 2, 1, 1000, false}};
    Balancer b(specs, BalanceMode::kHash);
    const uint32_t key = Balancer::hash_key("/some/uri");
    const int first = b.pick(key, 0, {});
    CHECK(b.pick(key, 0, {}) == first);  // stable
    b.on_failure(first, 0);
    const int second = b.pick(key, 0, {});
    CHECK(second != first);
    CHECK(second != Balancer::kNone);
    CHECK(b.pick(key, 2000, {}) == first);
    TriedPeers all;
    all.set(0);
    all.set(1);
    all.set(2);
    CHECK(b.pick(key, 0, all) == Balancer::kNone);
}

TEST_CASE("proxy balancer: a weight-2 server holds about twice the hash keys", "[proxy]") {
    std::vector<PeerSpec> specs{{"a:1", 1, 1, 1000, false}, {"b:1", 2, 1, 1000, false}};
    const std::vector<int> keys = assign(specs, 9000);
    int on_b = 0;
    for (int peer : keys) on_b += peer == 1;
    CHECK((on_b > 5000 && on_b < 7000));
}

TEST_CASE("proxy balancer: built from a configured upstream, in its servers' order", "[proxy]") {
    using namespace portico;
    conf::Upstream upstream;
    upstream.name = "app";
    for (const char* text :
         {"127.0.0.1:9001 weight=5", "127.0.0.1:9002", "unix:/run/app.sock", "127.0.0.1:9003 backup"}) {
        std::string problem;
        auto server = conf::detail::parse_upstream_server(text, problem);
        REQUIRE(server);
        upstream.servers.push_back(*server);
    }
    Balancer rr = make_balancer(upstream);
    CHECK(rr.size() == 4);
    CHECK(sequence(rr, 7) == "aabacaa");  // the backup (d) is left out while the others are up

    upstream.servers.pop_back();
    upstream.balance = conf::Balance::kHashRequestUri;
    Balancer hash = make_balancer(upstream);
    http::routing::RequestVars vars;
    vars.request_uri = "/a?b";
    vars.remote_addr = "10.0.0.1";
    const uint32_t key = balance_key(upstream.balance, vars);
    CHECK(key == Balancer::hash_key("/a?b"));
    CHECK(balance_key(conf::Balance::kHashRemoteAddr, vars) == Balancer::hash_key("10.0.0.1"));
    CHECK(balance_key(conf::Balance::kLeastConn, vars) == 0);
    const int peer = hash.pick(key, 0, {});
    CHECK(peer != Balancer::kNone);
    CHECK(hash.pick(key, 0, {}) == peer);

    Balancer one = make_balancer(upstream.servers[1]);
    CHECK(sequence(one, 2) == "aa");
}

TEST_CASE("proxy balancer: the only server of a group is never taken out, as in nginx", "[proxy]") {
    std::vector<PeerSpec> specs{{"a", 1, 1, 10'000, false}};
    Balancer b(specs, BalanceMode::kRoundRobin);
    b.on_failure(0, 0);
    b.on_failure(0, 0);
    CHECK_FALSE(b.is_down(0, 1));
    CHECK(sequence(b, 2) == "aa");
}
