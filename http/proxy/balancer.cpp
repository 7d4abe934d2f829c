#include "http/proxy/balancer.hpp"

#include <algorithm>
#include <cstdio>

namespace portico::http::proxy {
namespace {

constexpr uint32_t kFnvOffset = 2166136261u;
constexpr uint32_t kFnvPrime = 16777619u;

uint32_t fnv1a(std::string_view bytes, uint32_t h = kFnvOffset) noexcept {
    for (char c : bytes) {
        h ^= static_cast<uint8_t>(c);
        h *= kFnvPrime;
    }
    return h;
}

// MurmurHash3's fmix32: FNV-1a alone leaves strings that differ in their last byte close
// together, which would bunch a server's ring points.
uint32_t finalise(uint32_t h) noexcept {
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

}  // namespace

Balancer::Balancer(std::span<const PeerSpec> peers, BalanceMode mode) : mode_(mode) {
    peers_.reserve(peers.size());
    for (const PeerSpec& spec : peers) {
        const uint32_t weight = std::max<uint32_t>(spec.weight, 1);
        peers_.push_back(Peer{weight, static_cast<int32_t>(weight), 0, spec.max_fails, 0,
                              spec.fail_timeout_ms, 0, 0, spec.backup});
        has_backup_ = has_backup_ || spec.backup;
    }
    if (mode_ == BalanceMode::kHash) build_ring(peers);
}

uint32_t Balancer::hash_key(std::string_view key) noexcept {
    return finalise(fnv1a(key));
}

// Each server gets weight * 160 points, the hash of "NAME-i": a point depends only on its own
// server, so removing a server leaves every other point (and the keys on it) where it was.
void Balancer::build_ring(std::span<const PeerSpec> peers) {
    size_t points = 0;
    for (const Peer& p : peers_) points += p.weight * kPointsPerWeight;
    ring_.reserve(points);
    char suffix[16];
    for (size_t i = 0; i < peers.size(); ++i) {
        const uint32_t seed = fnv1a(peers[i].name);
        for (uint32_t j = 0; j < peers_[i].weight * kPointsPerWeight; ++j) {
            const int n = std::snprintf(suffix, sizeof suffix, "-%u", j);
            ring_.push_back(Point{finalise(fnv1a(std::string_view(suffix, static_cast<size_t>(n)), seed)),
                                  static_cast<uint16_t>(i)});
        }
    }
    // Equal hashes order by server, so the ring does not depend on the sort's whims.
    std::sort(ring_.begin(), ring_.end(), [](const Point& a, const Point& b) {
        return a.hash != b.hash ? a.hash < b.hash : a.peer < b.peer;
    });
}

// A group of one server never takes it out, as nginx: there is nothing else to try, and refusing
// for fail_timeout would turn one slow answer into many 502s.
bool Balancer::is_down(int peer, int64_t now_ms) const noexcept {
    const Peer& p = peers_[static_cast<size_t>(peer)];
    return peers_.size() > 1 && p.max_fails != 0 && p.fails >= p.max_fails && now_ms - p.checked_ms <= p.fail_timeout_ms;
}

bool Balancer::usable(size_t i, bool backup, int64_t now_ms, const TriedPeers& tried) const noexcept {
    return peers_[i].backup == backup && !tried.test(i) && !is_down(static_cast<int>(i), now_ms);
}

int Balancer::pick(uint32_t key_hash, int64_t now_ms, const TriedPeers& tried) noexcept {
    int peer = kNone;
    if (mode_ == BalanceMode::kHash) {
        peer = pick_hash(key_hash, now_ms, tried);
    } else {
        auto pick_in = [&](bool backup) {
            return mode_ == BalanceMode::kLeastConn ? pick_least_conn(backup, now_ms, tried)
                                                    : pick_round_robin(backup, now_ms, tried);
        };
        peer = pick_in(false);
        if (peer == kNone && has_backup_) peer = pick_in(true);
    }
    if (peer != kNone) note_probe(peer, now_ms);
    return peer;
}

// A server whose fail_timeout has run out gets one request to prove itself, as in nginx: picking
// it restarts the timeout, so the requests after that one pass it by until on_success() (or
// another fail_timeout) says it is back.
void Balancer::note_probe(int peer, int64_t now_ms) noexcept {
    Peer& p = peers_[static_cast<size_t>(peer)];
    if (p.max_fails != 0 && p.fails >= p.max_fails) p.checked_ms = now_ms;
}

// nginx's smooth weighted round robin: every usable server gains its effective weight, the one
// with the most current weight wins and pays back the total. Weights 5,1,1 give a a b a c a a.
// A failure lowers effective_weight, which then climbs back by one per pick.
int Balancer::pick_round_robin(bool backup, int64_t now_ms, const TriedPeers& tried) noexcept {
    int best = kNone;
    int64_t total = 0;
    for (size_t i = 0; i < peers_.size(); ++i) {
        if (!usable(i, backup, now_ms, tried)) continue;
        Peer& p = peers_[i];
        p.current_weight += p.effective_weight;
        total += p.effective_weight;
        if (p.effective_weight < static_cast<int32_t>(p.weight)) ++p.effective_weight;
        if (best == kNone || p.current_weight > peers_[static_cast<size_t>(best)].current_weight)
            best = static_cast<int>(i);
    }
    if (best != kNone) peers_[static_cast<size_t>(best)].current_weight -= total;
    return best;
}

// The fewest connections per unit of weight wins; servers tied on that share by round robin
// among themselves (as nginx's least_conn does), so an idle group still spreads by weight.
int Balancer::pick_least_conn(bool backup, int64_t now_ms, const TriedPeers& tried) noexcept {
    int best = kNone;
    size_t ties = 0;
    for (size_t i = 0; i < peers_.size(); ++i) {
        if (!usable(i, backup, now_ms, tried)) continue;
        const Peer& p = peers_[i];
        if (best != kNone) {
            const Peer& b = peers_[static_cast<size_t>(best)];
            const uint64_t mine = uint64_t{p.conns} * b.weight, theirs = uint64_t{b.conns} * p.weight;
            if (mine > theirs) continue;
            if (mine == theirs) {
                ++ties;
                continue;
            }
        }
        best = static_cast<int>(i);
        ties = 1;
    }
    if (ties <= 1) return best;
    // Round robin among the servers with the best ratio only.
    const Peer& b = peers_[static_cast<size_t>(best)];
    int chosen = kNone;
    int64_t total = 0;
    for (size_t i = static_cast<size_t>(best); i < peers_.size(); ++i) {
        Peer& p = peers_[i];
        if (!usable(i, backup, now_ms, tried) || uint64_t{p.conns} * b.weight != uint64_t{b.conns} * p.weight)
            continue;
        p.current_weight += p.effective_weight;
        total += p.effective_weight;
        if (p.effective_weight < static_cast<int32_t>(p.weight)) ++p.effective_weight;
        if (chosen == kNone || p.current_weight > peers_[static_cast<size_t>(chosen)].current_weight)
            chosen = static_cast<int>(i);
    }
    peers_[static_cast<size_t>(chosen)].current_weight -= total;
    return chosen;
}

// The first point at or after the key's hash, going round the ring; a server that is down or
// tried passes the key on to the next point, so only its keys move. Backups are refused with
// hash by the config, as nginx does.
int Balancer::pick_hash(uint32_t key_hash, int64_t now_ms, const TriedPeers& tried) const noexcept {
    auto it = std::lower_bound(ring_.begin(), ring_.end(), key_hash,
                               [](const Point& p, uint32_t h) { return p.hash < h; });
    size_t at = static_cast<size_t>(it - ring_.begin());
    for (size_t n = 0; n < ring_.size(); ++n, ++at) {
        if (at == ring_.size()) at = 0;
        const uint16_t peer = ring_[at].peer;
        if (!tried.test(peer) && !is_down(peer, now_ms)) return peer;
    }
    return kNone;
}

void Balancer::on_connect(int peer) noexcept {
    ++peers_[static_cast<size_t>(peer)].conns;
}

void Balancer::on_release(int peer) noexcept {
    uint32_t& conns = peers_[static_cast<size_t>(peer)].conns;
    if (conns > 0) --conns;
}

void Balancer::on_success(int peer) noexcept {
    peers_[static_cast<size_t>(peer)].fails = 0;
}

// As nginx: each failure costs weight / max_fails of effective weight, so a flapping server gets
// less traffic even before it is taken out; checked_ms starts its fail_timeout again.
void Balancer::on_failure(int peer, int64_t now_ms) noexcept {
    Peer& p = peers_[static_cast<size_t>(peer)];
    if (now_ms - p.checked_ms > p.fail_timeout_ms) p.fails = 0;  // max_fails count within fail_timeout
    ++p.fails;
    p.checked_ms = now_ms;
    if (p.max_fails == 0) return;
    p.effective_weight -= static_cast<int32_t>(p.weight / p.max_fails);
    if (p.effective_weight < 0) p.effective_weight = 0;
}

}  // namespace portico::http::proxy
