#pragma once
// Chooses the server of an upstream group for each try of a request: smooth weighted round
// robin (nginx's current_weight / effective_weight algorithm), weighted least connections, or a
// consistent hash (a ketama-style ring). Passive health: a server that failed max_fails times
// within fail_timeout is skipped until fail_timeout has passed, then gets one request to prove
// itself; backup servers are used only while every primary is down (or already tried).
//
// One Balancer per upstream per worker: no locks, no I/O, and no allocation after construction
// (pick() walks fixed arrays). Times are monotonic milliseconds supplied by the caller.

#include <bitset>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace portico::http::proxy {

/// The most servers one upstream may list (the config refuses more): tried sets are bitsets.
inline constexpr size_t kMaxPeers = 256;

/// The servers a request has tried already, so a retry moves on to another one.
using TriedPeers = std::bitset<kMaxPeers>;

enum class BalanceMode : uint8_t { kRoundRobin, kLeastConn, kHash };

/// One server as the config describes it.
struct PeerSpec {
    std::string_view name;   ///< "127.0.0.1:9001", "unix:/run/app.sock": the hash ring's seed
    uint32_t weight = 1;     ///< at least 1
    uint32_t max_fails = 1;  ///< 0: failures never take it out
    int64_t fail_timeout_ms = 10'000;
    bool backup = false;
};

class Balancer {
public:
    static constexpr int kNone = -1;
    /// Points on the hash ring per unit of weight (ketama uses 160 for a weight of 1).
    static constexpr uint32_t kPointsPerWeight = 160;

    /// `peers` must hold 1..kMaxPeers servers; names are copied into the ring, not kept.
    Balancer(std::span<const PeerSpec> peers, BalanceMode mode);

    /// The server for the next try, or kNone when every server is down or tried. `key_hash`
    /// matters only in kHash mode (see hash_key()); `now_ms` decides whether a failed server's
    /// fail_timeout has passed. Does not allocate.
    int pick(uint32_t key_hash, int64_t now_ms, const TriedPeers& tried) noexcept;

    /// A connection to `peer` is open (least_conn counts them) / was closed or returned.
    void on_connect(int peer) noexcept;
    void on_release(int peer) noexcept;
    /// The try on `peer` succeeded (a response head arrived): forget its failures.
    void on_success(int peer) noexcept;
    /// The try on `peer` failed (connect refused or timed out, reset, ...); counts for max_fails
    /// (failures older than fail_timeout are forgotten first).
    void on_failure(int peer, int64_t now_ms) noexcept;

    /// Whether `peer` is taken out at `now_ms` by its failures.
    [[nodiscard]] bool is_down(int peer, int64_t now_ms) const noexcept;
    [[nodiscard]] size_t size() const noexcept { return peers_.size(); }
    [[nodiscard]] uint32_t connections(int peer) const noexcept { return peers_[peer].conns; }

    /// The stable hash of a key ($remote_addr, $request_uri): FNV-1a, then a 32-bit finaliser so
    /// nearby keys spread over the ring.
    static uint32_t hash_key(std::string_view key) noexcept;

private:
    struct Peer {
        uint32_t weight;
        int32_t effective_weight;
        int64_t current_weight;
        uint32_t max_fails;
        uint32_t fails = 0;
        int64_t fail_timeout_ms;
        int64_t checked_ms = 0;  // when the last failure was counted
        uint32_t conns = 0;
        bool backup;
    };
    struct Point {
        uint32_t hash;
        uint16_t peer;
    };

    [[nodiscard]] bool usable(size_t i, bool backup, int64_t now_ms, const TriedPeers& tried) const noexcept;
    int pick_round_robin(bool backup, int64_t now_ms, const TriedPeers& tried) noexcept;
    int pick_least_conn(bool backup, int64_t now_ms, const TriedPeers& tried) noexcept;
    int pick_hash(uint32_t key_hash, int64_t now_ms, const TriedPeers& tried) const noexcept;
    void build_ring(std::span<const PeerSpec> peers);
    void note_probe(int peer, int64_t now_ms) noexcept;

    std::vector<Peer> peers_;
    std::vector<Point> ring_;  // sorted by hash; empty unless kHash
    BalanceMode mode_;
    bool has_backup_ = false;
};

}  // namespace portico::http::proxy
