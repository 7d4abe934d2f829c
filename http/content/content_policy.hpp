#pragma once
// What one route (http, a server, a location) says about content codings and charset, after
// inheritance: compiled once per config generation (conf/route_settings.cpp), shared by the
// workers, and read per request without allocating. A route that says nothing has no policy at
// all (a null pointer), which is the one test the plain file path pays.

#include <string>
#include <vector>

#include "http/content/coding.hpp"
#include "http/content/compress_options.hpp"
#include "http/content/type_rules.hpp"

namespace portico::http::content {

/// One `gzip = { ... }` or `brotli = { ... }` block that is on.
struct CompressionRule {
    Coding coding;
    TypeRules rules;
    CompressOptions options;
};

struct ContentPolicy {
    /// `precompressed`: the siblings to look for, in the server's order of preference.
    std::vector<Coding> precompressed;
    /// The codings made on the fly, in the server's order of preference (brotli before gzip:
    /// smaller for the same text, and a client that takes both gets it).
    std::vector<CompressionRule> on_the_fly;
    /// `charset`, or empty when off.
    std::string charset;

    /// The on-the-fly rule for `coding`, or null when that block is off.
    [[nodiscard]] const CompressionRule* rule(Coding coding) const noexcept {
        for (const CompressionRule& r : on_the_fly)
            if (r.coding == coding) return &r;
        return nullptr;
    }
    /// Whether the policy changes nothing (then the route keeps no policy).
    [[nodiscard]] bool empty() const noexcept {
        return precompressed.empty() && on_the_fly.empty() && charset.empty();
    }
};

}  // namespace portico::http::content
