// Table tests for Accept-Encoding parsing and the choice of representation
// (http/content/accept_encoding.hpp documents the policy these cases pin down).

#include "http/content/accept_encoding.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <string_view>
#include <vector>

using portico::http::content::AcceptEncoding;
using portico::http::content::select_encoding;
using portico::http::content::Selection;

namespace {

constexpr std::array<std::string_view, 2> kPreference{"br", "gzip"};
constexpr std::array<std::string_view, 2> kBoth{"gzip", "br"};  // order must not matter
constexpr std::array<std::string_view, 1> kGzipOnly{"gzip"};

// "identity", "406", or the coding chosen.
std::string choose(std::string_view header, std::span<const std::string_view> available = kBoth) {
    const AcceptEncoding ae(header);
    const Selection s = select_encoding(ae, kPreference, available);
    switch (s.kind) {
        case Selection::Kind::kIdentity:
            return "identity";
        case Selection::Kind::kNotAcceptable:
            return "406";
        case Selection::Kind::kEncoded:
            return std::string(s.coding);
    }
    return "?";
}

struct Case {
    const char* header;
    const char* both;       // with br and gzip available
    const char* gzip_only;  // with only gzip available
};

}  // namespace

TEST_CASE("Accept-Encoding: which representation is served", "[content][accept_encoding]") {
    const auto c = GENERATE(values<Case>({
        {"", "identity", "identity"},  // present but empty: identity only
        {"gzip", "gzip", "gzip"},
        {"br", "br", "identity"},
        {"gzip, br", "br", "gzip"},                // server prefers br; equal q
        {"br;q=0.5, gzip;q=0.5", "br", "gzip"},    // a tie goes to the server's order
        {"br;q=0.4, gzip;q=0.5", "gzip", "gzip"},  // a higher q wins over server preference
        {"GZIP", "gzip", "gzip"},
        {"Br", "br", "identity"},
        {"x-gzip", "gzip", "gzip"},
        {"gzip;q=0, *", "br", "identity"},  // * covers br, not the excluded gzip
        {"*", "br", "gzip"},
        {"*;q=0", "406", "406"},  // excludes identity too (no identity member)
        {"*;q=0, identity", "identity", "identity"},
        {"identity;q=0", "406", "406"},  // nothing else listed: nothing acceptable
        {"identity;q=0, gzip", "gzip", "gzip"},
        {"gzip;q=0.5, identity", "identity", "identity"},  // identity listed higher
        {"gzip, identity;q=0.5", "gzip", "gzip"},          // ...or lower
        {"gzip;q=0", "identity", "identity"},
        {"  gzip ;  q=0.8 ,\tbr;Q=0.9  ", "br", "gzip"},  // OWS anywhere it may be; Q is q
        {"gzip,,, ,br", "br", "gzip"},                    // empty list elements
        {"deflate, gzip;q=1.0, *;q=0.5", "gzip", "gzip"},
        {"gzip;q=1.000", "gzip", "gzip"},
        {"gzip;q=0.001", "gzip", "gzip"},
        {"gzip;q=0.000", "identity", "identity"},
        // Malformed members are ignored, the rest of the header counts.
        {"gzip;q=1.5", "identity", "identity"},
        {"gzip;q=1.001", "identity", "identity"},
        {"gzip;q=0.0001", "identity", "identity"},  // more than 3 decimals
        {"gzip;q=.5", "identity", "identity"},
        {"gzip;q=-1", "identity", "identity"},
        {"gzip;q=", "identity", "identity"},
        {"gzip;q = 0.5", "identity", "identity"},  // no BWS around '=' in a weight
        {"gzip;level=9", "identity", "identity"},  // no parameters but q
        {"gzip;q=0.5;q=0.6", "identity", "identity"},
        {"gzip;q=0.5x, br", "br", "identity"},
        {"gz/ip, gzip;q=0.2", "gzip", "gzip"},
        {"\"gzip\", br", "br", "identity"},
        {"gzip;q=0.5, gzip;q=0", "gzip", "gzip"},  // the first occurrence counts
        // Repeated header fields, joined by the caller with ", ".
        {"gzip;q=0.2, br;q=0.1", "gzip", "gzip"},
    }));
    CAPTURE(c.header);
    CHECK(choose(c.header) == c.both);
    CHECK(choose(c.header, kGzipOnly) == c.gzip_only);
}

TEST_CASE("Accept-Encoding: q-values and identity", "[content][accept_encoding]") {
    const AcceptEncoding ae("gzip;q=0.25, *;q=0.1, identity;q=0.7");
    CHECK(ae.size() == 3);
    CHECK(ae.quality("gzip") == 250);
    CHECK(ae.quality("GZip") == 250);
    CHECK(ae.quality("br") == 100);  // from *
    CHECK(ae.identity_quality() == 700);
    CHECK(ae.identity_acceptable());
    CHECK(AcceptEncoding("br").quality("gzip") == 0);
    CHECK(AcceptEncoding("br").identity_quality() == -1);
    CHECK(AcceptEncoding("br").identity_acceptable());
}

TEST_CASE("Accept-Encoding: repeated fields are one list", "[content][accept_encoding]") {
    // What a caller builds from two Accept-Encoding lines: their values joined with ", ".
    auto joined = [](std::string a, std::string_view b) { return a.append(", ").append(b); };
    CHECK(choose(joined("gzip;q=0.2", "br;q=0.1")) == "gzip");
    CHECK(choose(joined("", "br")) == "br");  // an empty field among them adds nothing
    CHECK(choose(joined("gzip", "")) == "gzip");
    CHECK(choose(joined("identity;q=0", "*;q=0")) == "406");
    CHECK(choose(joined("gzip;q=0", "gzip")) == "identity");  // the first occurrence counts
}

TEST_CASE("Accept-Encoding: nothing available to encode", "[content][accept_encoding]") {
    CHECK(choose("gzip, br", {}) == "identity");
    CHECK(choose("identity;q=0, gzip", {}) == "406");
    CHECK(choose("*;q=0", {}) == "406");
    CHECK(choose("", {}) == "identity");
}

TEST_CASE("Accept-Encoding: a hostile header costs bounded work", "[content][accept_encoding]") {
    std::string header;
    for (int i = 0; i < 1000; ++i) header.append("c").append(std::to_string(i)).append(";q=0.5, ");
    header += "gzip";
    const AcceptEncoding ae(header);
    CHECK(ae.size() == AcceptEncoding::kMaxMembers);
    CHECK(choose(header) == "identity");  // gzip came after the cap
}
