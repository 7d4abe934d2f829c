// The proxy_* settings of the http group, a server or a location, their inheritance, the check
// of every proxy_pass against the upstreams, and (until the proxy handler is wired) the refusal
// to serve a config that proxies.

#include <fmt/format.h>

#include <algorithm>

#include "conf/defaults.hpp"
#include "conf/sections.hpp"

namespace portico::conf::detail {
namespace {

using http::routing::ValueTemplate;

constexpr uint32_t kMaxTries = 256;

// The proxy writes these itself to frame the request and its connection; a template could not.
constexpr std::array kProxyOwnHeaders{"content-length"sv, "transfer-encoding"sv,
                                      "connection"sv,     "upgrade"sv,
                                      "keep-alive"sv,     "te"sv,
                                      "trailer"sv,        "expect"sv};

bool token_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower_copy(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// "Name: value with $variables"; "Name:" alone removes the field.
ProxyHeader read_one_header(const GroupReader& g, const Element& e, const std::vector<ProxyHeader>& earlier) {
    const std::string text = g.string_of(e);
    const size_t colon = text.find(':');
    const std::string_view name = std::string_view(text).substr(0, colon);
    const std::string_view value =
        colon == std::string::npos ? std::string_view() : trim(std::string_view(text).substr(colon + 1));
    const bool value_ok = std::all_of(value.begin(), value.end(), [](char c) {
        return c == '\t' || (static_cast<unsigned char>(c) >= ' ' && c != 0x7f);
    });
    if (colon == std::string::npos || name.empty() || !std::all_of(name.begin(), name.end(), token_char) ||
        !value_ok) {
        g.fail_at(
            *e.setting, e.name,
            fmt::format("'{}' is not \"Name: value\" (a token, then a value without control characters; "
                        "an empty value removes the field)",
                        text));
    }
    ProxyHeader header{std::string(name), lower_copy(name), {}};
    if (std::find(kProxyOwnHeaders.begin(), kProxyOwnHeaders.end(), header.lower_name) !=
        kProxyOwnHeaders.end())
        g.fail_at(*e.setting, e.name, fmt::format("'{}' is written by the proxy itself", name));
    const auto same = [&](const ProxyHeader& h) { return h.lower_name == header.lower_name; };
    if (std::any_of(earlier.begin(), earlier.end(), same))
        g.fail_at(*e.setting, e.name, fmt::format("'{}' is set twice", name));
    std::string problem;
    auto compiled = ValueTemplate::compile(value, problem);
    if (!compiled) g.fail_at(*e.setting, e.name, problem);
    header.value = std::move(*compiled);
    return header;
}

std::vector<ProxyHeader> read_set_headers(const GroupReader& g) {
    std::vector<ProxyHeader> headers;
    for (const Element& element : g.elements("proxy_set_headers"))
        headers.push_back(read_one_header(g, element, headers));
    return headers;
}

ProxyPass read_proxy_pass(const GroupReader& g) {
    std::string problem;
    auto pass = parse_proxy_pass(g.string("proxy_pass", ""), problem);
    if (!pass) g.fail("proxy_pass", problem);
    pass->where = where_is(g, "proxy_pass");
    return std::move(*pass);
}

const Upstream* find_upstream(const std::vector<Upstream>& upstreams, const std::string& name, int& index) {
    for (size_t i = 0; i < upstreams.size(); ++i) {
        if (upstreams[i].name != name) continue;
        index = static_cast<int>(i);
        return &upstreams[i];
    }
    return nullptr;
}

// Points proxy_pass at its upstream, and fills what no level set from the defaults, so the proxy
// reads plain values.
void resolve_one(const Config& config, ProxySettings& proxy) {
    ProxyPass& pass = *proxy.pass;
    if (!pass.address && find_upstream(config.upstreams, pass.upstream, pass.upstream_index) == nullptr) {
        std::vector<std::string_view> names;
        for (const Upstream& u : config.upstreams) names.push_back(u.name);
        throw ConfigError(fmt::format("{}: unknown upstream '{}' ({})", pass.where, pass.upstream,
                                      names.empty()
                                          ? std::string("no upstreams are defined")
                                          : fmt::format("the upstreams are {}", fmt::join(names, ", "))));
    }
    if (!proxy.connect_timeout) proxy.connect_timeout = kDefaults.proxy_connect_timeout;
    if (!proxy.read_timeout) proxy.read_timeout = kDefaults.proxy_read_timeout;
    if (!proxy.send_timeout) proxy.send_timeout = kDefaults.proxy_send_timeout;
    if (!proxy.next_upstream_tries) proxy.next_upstream_tries = kDefaults.proxy_next_upstream_tries;
    if (!proxy.set_headers) proxy.set_headers.emplace();
}

}  // namespace

std::optional<ProxySettings> read_proxy_settings(const GroupReader& g, RouteLevel level) {
    ProxySettings p;
    if (level == RouteLevel::kLocation && g.find("proxy_pass")) p.pass = read_proxy_pass(g);
    if (g.find("proxy_set_headers")) p.set_headers = read_set_headers(g);
    if (g.find("proxy_connect_timeout"))
        p.connect_timeout = g.duration("proxy_connect_timeout", Millis{0}, Millis{1});
    if (g.find("proxy_read_timeout")) p.read_timeout = g.duration("proxy_read_timeout", Millis{0}, Millis{1});
    if (g.find("proxy_send_timeout")) p.send_timeout = g.duration("proxy_send_timeout", Millis{0}, Millis{1});
    if (g.find("proxy_next_upstream_tries"))
        p.next_upstream_tries = g.integer("proxy_next_upstream_tries", 0, 0, kMaxTries);
    if (p.empty()) return std::nullopt;
    return p;
}

// nginx: "proxy_pass cannot have URI part in location given by regular expression": there is no
// matched prefix to replace.
void check_proxy_pass(const GroupReader& g, const http::routing::MatchSpec& spec,
                      const RouteSettings& settings) {
    if (!settings.proxy || !settings.proxy->pass) return;
    const ProxyPass& pass = *settings.proxy->pass;
    if (spec.is_regex() && pass.has_path()) {
        g.fail("proxy_pass",
               fmt::format("'{}' has a path ('{}'), which a regex location cannot replace; write "
                           "\"http://{}\" or use a prefix location",
                           pass.text, pass.path, pass.upstream));
    }
}

void resolve_proxy(Config& config) {
    for (ServerConfig& server : config.servers)
        for (LocationConfig& location : server.locations)
            if (location.settings.proxy && location.settings.proxy->pass)
                resolve_one(config, *location.settings.proxy);
}

}  // namespace portico::conf::detail

namespace portico::conf {

void ProxySettings::inherit(const ProxySettings& parent) {
    auto fill = [](auto& mine, const auto& theirs) {
        if (!mine && theirs) mine = theirs;
    };
    fill(set_headers, parent.set_headers);
    fill(connect_timeout, parent.connect_timeout);
    fill(read_timeout, parent.read_timeout);
    fill(send_timeout, parent.send_timeout);
    fill(next_upstream_tries, parent.next_upstream_tries);
}

}  // namespace portico::conf
