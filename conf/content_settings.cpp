// The content settings of issue 9 (precompressed, gzip, brotli, charset), which http, a server
// and a location may each set, and their compilation into the policy a worker reads per request.
// Kept apart from the other routing settings: they act without locations, so they are never
// refused while routing by location is not wired (see first_written).

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>

#include "conf/defaults.hpp"
#include "conf/sections.hpp"

namespace portico::conf::detail {
namespace {

using http::content::Coding;
using libconfig::Setting;

inline constexpr std::array kCompressionKeys{"types"sv, "min_length"sv, "level"sv};
const std::array<OtherGroup, 0> kNowhereElse{};

// The list: the text types worth compressing that browsers fetch most.
const std::vector<std::string>& default_types() {
    static const std::vector<std::string> types{"text/html", "text/css", "application/javascript",
                                                "application/json", "image/svg+xml"};
    return types;
}

std::vector<Coding> read_precompressed(const GroupReader& g) {
    std::vector<Coding> codings;
    for (const Element& e : g.elements("precompressed")) {
        std::string name = g.string_of(e);
        auto coding = http::content::coding_from_name(name);
        if (!coding) g.fail_at(*e.setting, e.name, fmt::format("'{}' is not \"br\" or \"gzip\"", name));
        if (std::find(codings.begin(), codings.end(), *coding) != codings.end())
            g.fail_at(*e.setting, e.name, fmt::format("'{}' is listed twice", name));
        codings.push_back(*coding);
    }
    return codings;
}

bool is_media_type(std::string_view t) {
    if (t == "*") return true;
    size_t slash = t.find('/');
    auto token = [](std::string_view s) {
        return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
        });
    };
    return slash != std::string_view::npos && token(t.substr(0, slash)) && token(t.substr(slash + 1));
}

std::vector<std::string> read_types(const GroupReader& block) {
    if (block.find("types") == nullptr) return default_types();
    std::vector<std::string> types;
    for (const Element& e : block.elements("types")) {
        std::string type = block.string_of(e);
        if (!is_media_type(type))
            block.fail_at(*e.setting, e.name, fmt::format("'{}' is not a media type (\"text/html\") or \"*\"", type));
        types.push_back(std::move(type));
    }
    if (types.empty()) block.fail("types", "must name at least one media type (or set the block to \"off\")");
    return types;
}

// `gzip = "off";` or `gzip = { types = [ ... ]; min_length = 256; level = 5; };`
CompressionSetting read_compression(const GroupReader& g, std::string_view key) {
    const Setting& s = *g.find(key);
    CompressionSetting c;
    if (s.getType() == Setting::TypeString) {
        if (g.string(key, "") != "off")
            g.fail(key, fmt::format("must be \"off\" or a group: {} = {{ level = 5; }};", key));
        return c;
    }
    if (!s.isGroup()) g.fail(key, fmt::format("expected a group: {} = {{ types = [ \"text/html\" ]; }};", key));
    GroupReader block = g.nested(s, g.full_name(key));
    block.reject_unknown(kCompressionKeys, kNowhereElse);
    c.on = true;
    c.types = read_types(block);
    c.min_length =
        block.size("min_length", kDefaults.compression_min_length, 0, std::numeric_limits<uint32_t>::max());
    bool gzip = key == "gzip";
    c.level = static_cast<int>(block.integer(
        "level", gzip ? kDefaults.gzip_level : kDefaults.brotli_quality, gzip ? 1 : 0, gzip ? 9 : 11));
    return c;
}

std::string read_charset(const GroupReader& g) {
    std::string value = g.string("charset", "");
    if (value == "off") return {};
    bool token = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("!#$%&'+-^_`{}~").find(c) != std::string_view::npos;
    });
    if (!token) g.fail("charset", fmt::format("'{}' is not a charset name (\"utf-8\") or \"off\"", value));
    return value;
}

void add_rule(http::content::ContentPolicy& p, Coding coding, const std::optional<CompressionSetting>& s) {
    if (!s || !s->on) return;
    http::content::CompressOptions options;
    if (coding == Coding::kGzip) options.gzip_level = s->level;
    else options.brotli_quality = s->level;
    p.on_the_fly.push_back({coding, http::content::TypeRules(s->types, s->min_length), options});
}

}  // namespace

void read_content_settings(const GroupReader& g, RouteSettings& r) {
    if (g.find("precompressed")) r.precompressed = read_precompressed(g);
    if (g.find("gzip")) r.gzip = read_compression(g, "gzip");
    if (g.find("brotli")) r.brotli = read_compression(g, "brotli");
    if (g.find("charset")) r.charset = read_charset(g);
}

uint64_t read_compressed_cache(const GroupReader& http) {
    return http.size("compressed_cache", kDefaults.compressed_cache, 0, std::numeric_limits<uint64_t>::max());
}

}  // namespace portico::conf::detail

namespace portico::conf {

void RouteSettings::compile_content() {
    auto p = std::make_shared<http::content::ContentPolicy>();
    if (precompressed) p->precompressed = *precompressed;
    detail::add_rule(*p, http::content::Coding::kBrotli, brotli);
    detail::add_rule(*p, http::content::Coding::kGzip, gzip);
    if (charset) p->charset = *charset;
    if (p->empty()) content.reset();
    else content = std::move(p);
}

}  // namespace portico::conf
