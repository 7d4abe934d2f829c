#include "http/router.hpp"

#include "core/strings.hpp"
#include "http/handlers/error_response.hpp"
#include "http/handlers/static_files.hpp"
#include "http/handlers/status_handler.hpp"
#include "http/path.hpp"
#include "http/routed_request.hpp"
#include "http/routing/dotfiles.hpp"

namespace portico::http {
namespace {

constexpr std::string_view kAllow = "Allow: GET, HEAD\r\n";

/// Host without port, for matching server_name: "Example.com:8080" -> "Example.com".
std::string_view host_name(std::string_view host) noexcept {
    if (!host.empty() && host.front() == '[') {
        size_t close = host.find(']');
        return close == std::string_view::npos ? host : host.substr(0, close + 1);
    }
    size_t colon = host.rfind(':');
    std::string_view name = colon == std::string_view::npos ? host : host.substr(0, colon);
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);  // "example.com." is the same host
    return name;
}

struct Target {
    std::string_view host;   // from an absolute-form target, else empty
    std::string_view path;   // raw (still encoded)
    std::string_view query;  // with its '?', or empty
};

// "http://h?q": the path is empty (RFC 3986 3.3), which is "/". Out of line and cold, so that
// origin-form targets pay nothing for it.
[[gnu::cold, gnu::noinline]] bool query_only(std::string_view t, Target& out) noexcept {
    out.path = "/";
    out.query = t.substr(0, t.find('#'));
    return true;
}

bool split_target(std::string_view t, Target& out) noexcept {
    if (t.size() > 7 && (core::iequals(t.substr(0, 7), "http://") || core::iequals(t.substr(0, 8), "https://"))) {
        t.remove_prefix(t[4] == ':' ? 7 : 8);
        size_t slash = t.find_first_of("/?");
        out.host = t.substr(0, slash);
        t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
        if (t.front() == '?') return query_only(t, out);
    }
    if (t.empty() || t.front() != '/') return false;
    // A plain loop: find_first_of with a set calls memchr once per character of the path.
    size_t q = 1;
    while (q < t.size() && t[q] != '?' && t[q] != '#') ++q;
    if (q == t.size()) q = std::string_view::npos;
    out.path = t.substr(0, q);
    out.query = q == std::string_view::npos || t[q] == '#' ? std::string_view() : t.substr(q, t.find('#', q) - q);
    return true;
}

bool answers_to(const VirtualServer& vs, std::string_view name) noexcept {
    for (const std::string& n : vs.config->server_names)
        if (core::iequals(n, name)) return true;
    return false;
}

// Over TLS with SNI the handshake already chose the server (and showed its certificate): the
// request goes to it when Host names it or no server at all, and is refused (421, RFC 9110 15.5.20)
// when Host names another server, which a certificate valid for both names would otherwise let a
// client reach past the SNI check. Without SNI, Host decides, as on a plain connection. Returns
// nullptr for 421.
[[gnu::noinline]] const VirtualServer* check_named(Context& ctx, const VirtualServer* by_host, int32_t named,
                                                    std::string_view name) noexcept {
    const VirtualServer& sni = ctx.servers[static_cast<size_t>(named)];
    if (by_host == nullptr || by_host == &sni || answers_to(sni, name)) return &sni;
    return nullptr;
}

const VirtualServer* choose_server(Context& ctx, uint16_t listener, std::string_view name, int32_t named) noexcept {
    const auto& candidates = ctx.listener_servers[listener];
    const VirtualServer* by_host = nullptr;
    for (uint16_t idx : candidates) {
        if (answers_to(ctx.servers[idx], name)) {
            by_host = &ctx.servers[idx];
            break;
        }
    }
    if (named >= 0) [[unlikely]]
        return check_named(ctx, by_host, named, name);
    return by_host != nullptr ? by_host : &ctx.servers[candidates.front()];
}

// A server without locations or routing settings: today's straight path, which the keep-alive
// small-file benchmark measures. The dotfile rule costs a flag the normaliser set.
void serve_plain(Context& ctx, const Exchange& ex, const VirtualServer& vs, const Target& t, bool dot_segment,
                 HeaderWriter& hw, Reply& reply) {
    const Request& req = ex.req;
    bool head_only = req.method == Method::kHead;
    if (!vs.config->status_path.empty() && ctx.stats && ctx.path_scratch == vs.config->status_path)
        return serve_status(ctx, req, ex.head, hw, reply);
    if (dot_segment && !vs.dotfiles_allowed && routing::is_hidden_path(ctx.path_scratch))
        return build_error(ctx, 404, head_only, {}, hw, reply);
    StaticTarget st{vs.root_fd.get(), vs.real_root, &ctx.path_scratch, ctx.path_scratch, t.query, &vs.config->index,
                     vs.config->route.autoindex.value_or(conf::Autoindex::kOff), vs.config->route.content.get(),
                     ex.head};
    if (uint16_t status = serve_static(ctx, req, ex.head.data(), st, hw, reply))
        build_error(ctx, status, head_only, {}, hw, reply);
}

// $host: the name part of the Host, lower-case; without one, the server's first name.
std::string_view host_variable(Context& ctx, const VirtualServer& vs, std::string_view name) {
    if (name.empty()) return vs.config->server_names.empty() ? name : vs.config->server_names.front();
    ctx.host_scratch.assign(name);
    for (char& c : ctx.host_scratch) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return ctx.host_scratch;
}

// The target as sent, without a fragment; for an absolute-form target, from its path on.
std::string_view request_uri(std::string_view target, const Target& t) noexcept {
    if (t.host.empty()) return target.substr(0, target.find('#'));
    if (t.query.empty() || t.query.data() == t.path.data() + t.path.size())
        return {t.path.data(), t.path.size() + t.query.size()};
    return t.query;  // "http://h?q": no path was sent
}

// Out of line, so that the plain path's frame does not carry a RoutedRequest.
[[gnu::noinline]] void serve_routed(Context& ctx, const Exchange& ex, const VirtualServer& vs, const Target& t,
                                    std::string_view name, bool dot_segment, HeaderWriter& hw, Reply& reply) {
    SplitRequest split{ctx.path_scratch, t.query, request_uri(ex.req.target.in(ex.head.data()), t),
                       host_variable(ctx, vs, name), dot_segment};
    RoutedRequest(ctx, ex, vs, split, hw, reply).run();
}

}  // namespace

void route(Context& ctx, const Exchange& ex, HeaderWriter& hw, Reply& reply) {
    const Request& req = ex.req;
    const char* head = ex.head.data();
    bool head_only = req.method == Method::kHead;
    bool get_or_head = head_only || req.method == Method::kGet;
    Target t;
    // The method first: "OPTIONS *" learns what is allowed rather than that "*" is no path.
    if (!split_target(req.target.in(head), t)) {
        return get_or_head ? build_error(ctx, 400, head_only, {}, hw, reply)
                           : build_error(ctx, 405, false, kAllow, hw, reply);
    }
    std::string_view name = host_name(t.host.empty() ? req.host.in(head) : t.host);
    const VirtualServer* chosen = choose_server(ctx, ex.listener, name, ex.named_server);
    if (chosen == nullptr) return build_error(ctx, 421, head_only, {}, hw, reply);
    const VirtualServer& vs = *chosen;
    // Only a `return` answers other methods; a plain server has none.
    if (vs.plain && !get_or_head) return build_error(ctx, 405, false, kAllow, hw, reply);
    ctx.path_scratch.resize(t.path.size() + 1);
    bool dot_segment = false;
    size_t n = normalize_path(t.path, ctx.path_scratch.data(), ctx.path_scratch.size(), dot_segment);
    if (n == 0) return build_error(ctx, 400, head_only, {}, hw, reply);
    ctx.path_scratch.resize(n);
    if (vs.plain) return serve_plain(ctx, ex, vs, t, dot_segment, hw, reply);
    serve_routed(ctx, ex, vs, t, name, dot_segment, hw, reply);
}

}  // namespace portico::http
