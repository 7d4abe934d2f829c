#pragma once
// The routing part of the configuration: what a location (and, for what they do not set, its
// server and the http group) says about answering a request. Values arrive here parsed and
// compiled (templates, regexes, access rules), so a worker does no parsing per request.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conf/proxy.hpp"
#include "http/content/coding.hpp"
#include "http/content/content_policy.hpp"
#include "http/routing/access_list.hpp"
#include "http/routing/expires.hpp"
#include "http/routing/location_matcher.hpp"
#include "http/routing/return_action.hpp"
#include "http/routing/try_files.hpp"
#include "http/routing/value_template.hpp"

namespace portico::conf {

using http::routing::ErrorPage;
using http::routing::TryFiles;

enum class Dotfiles : uint8_t { kDeny, kAllow };
/// A directory without an index file: refused (403), or listed in one of two forms.
enum class Autoindex : uint8_t { kOff, kHtml, kJson };

/// A `gzip = { ... }` or `brotli = { ... }` block as written (issue 9), or "off".
struct CompressionSetting {
    bool on = false;
    std::vector<std::string> types;
    uint64_t min_length = 0;
    int level = 0;  ///< zlib level (1..9) or brotli quality (0..11)
};

/// The settings of issue 8's section 3 as one level wrote them; an empty optional is "not set
/// here", filled from the enclosing level by inherit(). A list setting set on a level replaces
/// the inherited list whole, as in nginx.
struct RouteSettings {
    std::optional<std::string> root;   ///< absolute, no trailing slash
    std::optional<std::string> alias;  ///< absolute; ends with '/' exactly when the prefix does
    std::optional<std::vector<std::string>> index;
    std::optional<TryFiles> try_files;
    std::optional<http::routing::ReturnAction> return_action;
    std::optional<std::vector<ErrorPage>> error_pages;
    std::optional<std::string> add_headers;  ///< "Name: value\r\n" lines, ready to append to a head
    std::optional<http::routing::Expires> expires;
    std::optional<http::routing::AccessList> access;
    std::optional<Dotfiles> dotfiles;
    /// The proxy_* settings this level writes (conf/proxy.hpp); merged setting by setting.
    std::optional<ProxySettings> proxy;
    std::optional<Autoindex> autoindex;  ///< issue 9: "off", "html" or "json"
    // Content (issue 9).
    std::optional<std::vector<http::content::Coding>> precompressed;  ///< empty list: off
    std::optional<CompressionSetting> gzip;
    std::optional<CompressionSetting> brotli;
    std::optional<std::string> charset;  ///< empty: off
    /// The four above compiled, after inheritance; null when they change nothing, so a route
    /// without them costs the request path one pointer test.
    std::shared_ptr<const http::content::ContentPolicy> content;

    /// Takes every setting this level leaves unset from `parent`, then compiles `content` from
    /// the result. alias is never inherited.
    void inherit(const RouteSettings& parent);
    /// Compiles `content` from precompressed, gzip, brotli and charset (inherit() does it).
    void compile_content();
};

struct LocationConfig {
    std::string match;  ///< as written: "^~ /assets/"
    std::string where;  ///< "FILE:LINE: setting 'servers[0].locations[2].match'", for messages
    http::routing::MatchSpec spec;
    RouteSettings settings;  ///< after inheritance from its server (and so from http)
};

}  // namespace portico::conf
