#include "http/proxy/request_head.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "http/token_rules.hpp"

namespace portico::http::proxy {
namespace {

using namespace http::token;
using namespace std::string_view_literals;

/// One field line of a head the request parser has accepted: no validation needed here.
struct Line {
    std::string_view name;
    std::string_view value;  // without OWS
};

/// Walks the field lines of a validated head, after its request line.
class FieldLines {
public:
    FieldLines(const char* head, size_t length) noexcept : rest_(head, length) {
        const size_t eol = rest_.find("\r\n");
        rest_.remove_prefix(eol == std::string_view::npos ? rest_.size() : eol + 2);
    }
    bool next(Line& line) noexcept {
        const size_t eol = rest_.find("\r\n");
        if (eol == std::string_view::npos || eol == 0) return false;  // the empty line ends the head
        const std::string_view text = rest_.substr(0, eol);
        rest_.remove_prefix(eol + 2);
        const size_t colon = text.find(':');
        line.name = text.substr(0, colon);
        line.value = trim_ows(colon == std::string_view::npos ? std::string_view() : text.substr(colon + 1));
        return true;
    }

private:
    std::string_view rest_;
};

/// Appends to a fixed buffer; remembers whether anything did not fit.
class Writer {
public:
    Writer(char* out, size_t cap) noexcept : out_(out), cap_(cap) {}
    void put(std::string_view s) noexcept {
        if (s.empty()) return;  // an empty view may have a null data(), which memcpy must not get
        if (s.size() > cap_ - len_) {
            overflow_ = true;
            return;
        }
        std::memcpy(out_ + len_, s.data(), s.size());
        len_ += s.size();
    }
    void field(std::string_view name, std::string_view value) noexcept {
        put(name);
        put(": ");
        put(value);
        put("\r\n");
    }
    [[nodiscard]] char* cursor() const noexcept { return out_ + len_; }
    [[nodiscard]] size_t room() const noexcept { return cap_ - len_; }
    void advance(size_t n) noexcept { len_ += n; }
    void truncate(size_t length) noexcept { len_ = length; }
    void set_overflow() noexcept { overflow_ = true; }
    [[nodiscard]] bool overflow() const noexcept { return overflow_; }
    [[nodiscard]] size_t length() const noexcept { return len_; }

private:
    char* out_;
    size_t cap_;
    size_t len_ = 0;
    bool overflow_ = false;
};

// What a path segment may hold unescaped (RFC 3986 pchar and '/'); the rest of a decoded URI goes
// out as %XX, so a "%0D%0A" the client sent cannot become a line break in the upstream head.
constexpr std::array<bool, 256> kPathChar = [] {
    std::array<bool, 256> t{};
    for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    for (char c : std::string_view("-._~!$&'()*+,;=:@/")) t[static_cast<uint8_t>(c)] = true;
    return t;
}();

// A query made by the config (a try_files "?q=$uri"): as nginx, the expanded values go as they
// are (a decoded $uri's '&' or '%' stays one: the config chose to put it there), and only what
// cannot stand in a request line (controls, space, '#', bytes past ASCII) is escaped.
constexpr std::array<bool, 256> kQueryChar = [] {
    std::array<bool, 256> t{};
    for (int c = 0x21; c < 0x7f; ++c) t[c] = c != '#';
    return t;
}();

void put_escaped(Writer& w, std::string_view path, const std::array<bool, 256>& keep = kPathChar) noexcept {
    constexpr char kHex[] = "0123456789ABCDEF";
    size_t plain = 0;
    for (size_t i = 0; i < path.size(); ++i) {
        const auto c = static_cast<uint8_t>(path[i]);
        if (keep[c]) continue;
        w.put(path.substr(plain, i - plain));
        const char escaped[3] = {'%', kHex[c >> 4], kHex[c & 15]};
        w.put(std::string_view(escaped, 3));
        plain = i + 1;
    }
    w.put(path.substr(plain));
}

// The target as sent, in origin-form: "http://host/x?y" becomes "/x?y", "http://host?y" "/?y".
std::string_view origin_form(std::string_view target, bool& needs_slash) noexcept {
    needs_slash = false;
    if (target.empty() || target.front() == '/' || target == "*") return target;
    const size_t scheme_end = target.find("://");
    const size_t start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
    const size_t path = target.find_first_of("/?", start);
    if (path == std::string_view::npos) {
        needs_slash = true;
        return {};
    }
    needs_slash = target[path] == '?';
    return target.substr(path);
}

// nginx's rule: without a proxy_pass path the client's target goes as it was sent, unless an
// internal redirect (try_files) changed the URI: then the changed one goes, normalised and
// escaped, with the redirect's query. With a path, it replaces the location's prefix.
void put_uri(Writer& w, const UpstreamRequest& in) noexcept {
    const routing::RequestVars& vars = *in.vars;
    if (in.pass_path.empty() && !vars.uri_changed) {
        bool needs_slash = false;
        const std::string_view target = origin_form(in.request->target.in(in.head), needs_slash);
        if (needs_slash) w.put("/");
        w.put(target);
        return;
    }
    const std::string_view uri = vars.uri;
    if (in.pass_path.empty()) {
        put_escaped(w, uri);
    } else {
        w.put(in.pass_path);
        put_escaped(w, uri.substr(std::min(in.location_prefix, uri.size())));
    }
    if (vars.uri_changed) {
        if (vars.args.empty()) return;
        // A client's query that the redirect kept comes out as sent: it holds only visible ASCII
        // and no '#' (the parser and the router saw to that), which kQueryChar all keeps.
        w.put("?");
        put_escaped(w, vars.args, kQueryChar);
        return;
    }
    // The query goes as the client sent it: the request parser let only visible ASCII through.
    const std::string_view target = in.request->target.in(in.head);
    const size_t query = target.find('?');
    if (query != std::string_view::npos) w.put(target.substr(query));
}

constexpr std::array kDropped{"host"sv,      "connection"sv,        "keep-alive"sv,       "te"sv,
                              "trailer"sv,   "transfer-encoding"sv, "content-length"sv,   "expect"sv,
                              "x-real-ip"sv, "x-forwarded-for"sv,   "x-forwarded-proto"sv};

// The Connection options a request names, for dropping the fields they name (RFC 9110 7.6.1).
struct ConnectionOptions {
    static constexpr size_t kMax = 16;
    std::array<std::string_view, kMax> lines{};
    size_t count = 0;
    bool too_many = false;

    [[nodiscard]] bool names(std::string_view field) const noexcept {
        for (size_t i = 0; i < count; ++i) {
            const bool named = !for_each_element(
                lines[i], [&](std::string_view option) { return !iequals_both(option, field); });
            if (named) return true;
        }
        return false;
    }
};

bool set_by_config(const UpstreamRequest& in, std::string_view name) noexcept {
    return std::any_of(in.set_headers.begin(), in.set_headers.end(),
                       [&](const conf::ProxyHeader& h) { return iequals(name, h.lower_name); });
}

bool dropped(const UpstreamRequest& in, const ConnectionOptions& options, std::string_view name) noexcept {
    for (std::string_view d : kDropped)
        if (iequals(name, d)) return true;
    if (istarts_with(name, "proxy-")) return true;
    if (iequals(name, "upgrade")) return !in.upgrade;
    return options.names(name) || set_by_config(in, name);
}

// A walk over the head that only a request with a Connection field pays for.
ConnectionOptions connection_options(const UpstreamRequest& in) noexcept {
    ConnectionOptions options;
    if (!in.request->connection_seen) return options;
    FieldLines lines(in.head, in.head_length);
    for (Line line; lines.next(line);) {
        if (!iequals(line.name, "connection")) continue;
        if (options.count == ConnectionOptions::kMax) {
            options.too_many = true;
            break;
        }
        options.lines[options.count++] = line.value;
    }
    return options;
}

// X-Forwarded-For: every value the client's lines carried, in order, then $remote_addr. The
// head is walked again only when the copy saw such a line (`client_sent`).
void put_forwarded_for(Writer& w, const UpstreamRequest& in, bool client_sent) noexcept {
    w.put("X-Forwarded-For: ");
    FieldLines lines(client_sent ? in.head : nullptr, client_sent ? in.head_length : 0);
    for (Line line; lines.next(line);) {
        if (!iequals(line.name, "x-forwarded-for") || line.value.empty()) continue;
        w.put(line.value);
        w.put(", ");
    }
    w.put(in.vars->remote_addr);
    w.put("\r\n");
}

void put_proxy_fields(Writer& w, const UpstreamRequest& in, bool forwarded_for_sent) noexcept {
    if (!set_by_config(in, "x-forwarded-for")) put_forwarded_for(w, in, forwarded_for_sent);
    if (!set_by_config(in, "x-real-ip")) w.field("X-Real-IP", in.vars->remote_addr);
    if (!set_by_config(in, "x-forwarded-proto")) w.field("X-Forwarded-Proto", in.vars->scheme);
    for (const conf::ProxyHeader& h : in.set_headers) {
        const size_t mark = w.length();
        w.put(h.name);
        w.put(": ");
        const size_t n = h.value.expand(*in.vars, w.cursor(), w.room());
        if (n == std::string_view::npos) {
            w.set_overflow();
            return;
        }
        if (n == 0) {  // an empty value removes the field, as in nginx
            w.truncate(mark);
            continue;
        }
        w.advance(n);
        w.put("\r\n");
    }
}

void put_framing(Writer& w, const UpstreamRequest& in) noexcept {
    if (in.body == UpstreamBody::kLength) {
        char digits[24];
        const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, in.body_length);
        w.field("Content-Length", std::string_view(digits, static_cast<size_t>(end - digits)));
    } else if (in.body == UpstreamBody::kChunked) {
        w.put("Transfer-Encoding: chunked\r\n");
    }
    w.put(in.upgrade ? "Connection: upgrade\r\n\r\n" : "Connection: keep-alive\r\n\r\n");
}

}  // namespace

BuiltHead build_request_head(const UpstreamRequest& in, char* out, size_t cap) noexcept {
    const ConnectionOptions options = connection_options(in);
    if (options.too_many) return {0, "too many Connection fields"};
    Writer w(out, cap);
    w.put(in.request->method_text.in(in.head));
    w.put(" ");
    put_uri(w, in);
    w.put(" HTTP/1.1\r\n");
    if (!set_by_config(in, "host")) w.field("Host", in.vars->host.empty() ? in.upstream_host : in.vars->host);
    FieldLines lines(in.head, in.head_length);
    bool forwarded_for_sent = false;
    for (Line line; lines.next(line);) {
        if (!dropped(in, options, line.name))
            w.field(line.name, line.value);
        else if (iequals(line.name, "x-forwarded-for"))
            forwarded_for_sent = true;
    }
    put_proxy_fields(w, in, forwarded_for_sent);
    put_framing(w, in);
    if (w.overflow()) return {0, "upstream request head too large"};
    return {w.length(), ""};
}

bool is_upgrade_request(const char* head, size_t head_length, const Request& request) noexcept {
    if (request.method != Method::kGet || request.version_minor != 1 || !request.connection_seen) return false;
    bool upgrade_field = false, upgrade_option = false;
    FieldLines lines(head, head_length);
    for (Line line; lines.next(line);) {
        if (iequals(line.name, "upgrade") && !line.value.empty()) upgrade_field = true;
        if (!iequals(line.name, "connection")) continue;
        for_each_element(line.value, [&](std::string_view option) {
            if (iequals(option, "upgrade")) upgrade_option = true;
            return true;
        });
    }
    return upgrade_field && upgrade_option;
}

}  // namespace portico::http::proxy
