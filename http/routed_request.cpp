#include "http/routed_request.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include <spdlog/spdlog.h>

#include "http/handlers/error_response.hpp"
#include "http/handlers/return_handler.hpp"
#include "http/handlers/static_files.hpp"
#include "http/handlers/status_handler.hpp"
#include "http/proxy_service.hpp"
#include "http/routing/dotfiles.hpp"
#include "http/routing/try_files.hpp"

namespace portico::http {
namespace {

constexpr std::string_view kAllow = "Allow: GET, HEAD\r\n";
constexpr size_t kScratchCap = 64 * 1024;

// The access list's form of the client: 128 bits, IPv4 already mapped (::ffff:a.b.c.d).
routing::Address address_of(const core::PeerAddress& peer) noexcept {
    routing::Address a;
    for (size_t i = 0; i < 8; ++i) a.hi = (a.hi << 8) | peer.bytes[i];
    for (size_t i = 8; i < 16; ++i) a.lo = (a.lo << 8) | peer.bytes[i];
    return a;
}

// What try_files asks of the disk, answered from the file cache beneath the location's root
// (or, through its alias, beneath the alias directory).
class CacheProbe final : public routing::FileProbe {
public:
    CacheProbe(Context& ctx, const RouteRuntime& rt, std::string_view alias_prefix) noexcept
        : ctx_(ctx), rt_(rt), prefix_(alias_prefix) {}

    routing::Found probe(std::string_view uri) noexcept override {
        std::string_view path = uri;
        if (rt_.alias) {
            auto rest = routing::alias_remainder(prefix_, uri);
            if (!rest) return routing::Found::kNothing;
            path = rest->empty() ? std::string_view("/") : *rest;
        }
        if (rt_.root_fd < 0) return routing::Found::kNothing;
        CachedFile* f = ctx_.files.lookup(rt_.root_fd, rt_.real_root, path, ctx_.now_ms);
        if (f->kind == CachedFile::Kind::kFile) return routing::Found::kFile;
        return f->kind == CachedFile::Kind::kDirectory ? routing::Found::kDirectory : routing::Found::kNothing;
    }

private:
    Context& ctx_;
    const RouteRuntime& rt_;
    std::string_view prefix_;
};

}  // namespace

RoutedRequest::RoutedRequest(Context& ctx, const Exchange& ex, const VirtualServer& vs, const SplitRequest& split,
                             HeaderWriter& hw, Reply& reply) noexcept
    : ctx_(ctx),
      ex_(ex),
      vs_(vs),
      split_(split),
      hw_(hw),
      reply_(reply),
      head_only_(ex.req.method == Method::kHead),
      uri_(split.path),
      query_(split.query) {}

void RoutedRequest::run() noexcept {
    for (int redirects = 0;; ++redirects) {
        if (redirects > routing::kMaxInternalRedirects) {
            spdlog::error("rewrite or internal redirection cycle while internally redirecting to \"{}\"", uri_);
            return build_error(ctx_, 500, head_only_, {}, hw_, reply_);
        }
        redirected_ = redirects > 0;
        if (pass(!redirected_) == Step::kAnswered) break;
    }
    // A head a stream writes later gets them when its status is known (Connection::take_stream_head).
    const conf::RouteSettings& s = *current_->settings;
    if (reply_.head_from_stream) {
        if (s.add_headers || s.expires) reply_.route_headers = &s;
    } else if (routing::route_headers_apply(reply_.status)) {
        add_route_headers();
    }
}

// One pass: the location for uri_, then what it says.
RoutedRequest::Step RoutedRequest::pass(bool first) noexcept {
    current_ = &vs_.own;
    captures_ = {};
    vars_ready_ = false;
    if (const auto* matcher = vs_.config->matcher.get()) {
        auto m = matcher->match(uri_, ctx_.match_data);
        if (m.error) {
            // PCRE2 gave up (its match limit): the path is the client's, so this is info, not an error.
            spdlog::info("a location regex gave up on \"{}\" (its match limit), answering 500", uri_);
            return error(500);
        }
        if (m.id != routing::LocationMatcher::Result::kNone) {
            current_ = &vs_.locations[m.id];
            captures_ = m.captures;
        }
    }
    const RouteRuntime& rt = *current_;
    const conf::RouteSettings& s = *rt.settings;
    if (s.access && !s.access->allows(address_of(ex_.peer))) return error(403);
    // The dotfile rule judges what the client asked for, also through a try_files fallback built
    // from it ("/$args"); URIs the config itself names (a literal fallback, error pages) are the
    // config's choice.
    if ((first ? split_.dot_segment : client_made_) && s.dotfiles != conf::Dotfiles::kAllow &&
        routing::is_hidden_path(uri_))
        return error(404);
    // The status page answers where its path is routed, so the access rule a request for it meets
    // (the server's, or its location's) applies, as nginx's stub_status obeys its location's.
    if (first && ctx_.stats && !vs_.config->status_path.empty() && uri_ == vs_.config->status_path) {
        serve_status(ctx_, ex_.req, ex_.head, hw_, reply_);
        return Step::kAnswered;
    }
    if (error_status_ != 0) return rt.handler == HandlerKind::kStatic ? serve_page(rt) : serve_page_elsewhere(rt);
    return run_handler(rt);
}

RoutedRequest::Step RoutedRequest::run_handler(const RouteRuntime& rt) noexcept {
    if (rt.handler == HandlerKind::kReturn) {
        uint16_t code = serve_return(ctx_, *rt.settings->return_action, vars(), head_only_, hw_, reply_);
        return code == 0 ? Step::kAnswered : error(code);
    }
    if (rt.handler == HandlerKind::kProxy && ctx_.proxy && error_status_ == 0) {
        // The location's prefix is replaced only on the request's own URI, not a redirected one.
        ctx_.proxy->handle(ctx_, ex_, vs_, *rt.settings, vars(), rt.match_prefix, hw_, reply_);
        return Step::kAnswered;
    }
    if (ex_.req.method != Method::kGet && !head_only_) return error(405, kAllow);
    if (rt.settings->try_files) return run_try_files(rt);
    return serve_path(rt, uri_);
}

RoutedRequest::Step RoutedRequest::run_try_files(const RouteRuntime& rt) noexcept {
    if (ctx_.value_scratch.size() < kScratchCap) ctx_.value_scratch.resize(kScratchCap);
    CacheProbe probe(ctx_, rt, rt.alias_prefix);
    auto out = routing::run_try_files(*rt.settings->try_files, vars(), probe, ctx_.value_scratch.data(),
                                      ctx_.value_scratch.size());
    using Kind = routing::TryFilesOutcome::Kind;
    switch (out.kind) {
        case Kind::kServe: return serve_path(rt, out.uri);
        case Kind::kRedirect:
            client_made_ = !rt.settings->try_files->uri->is_literal();
            return redirect(out.uri, out.args, out.args.empty());
        case Kind::kStatus: return error(out.code);
        case Kind::kRefused: return error(out.code != 0 ? out.code : 500);
    }
    return error(500);
}

// ctx_.file_scratch := where `uri` lies beneath the location's root. False when an alias
// cannot hold it ("/files" + "/filesX") or the alias directory did not exist.
bool RoutedRequest::file_path(const RouteRuntime& rt, std::string_view uri) noexcept {
    if (rt.root_fd < 0) return false;
    if (!rt.alias) {
        ctx_.file_scratch.assign(uri);
        return true;
    }
    auto rest = routing::alias_remainder(rt.alias_prefix, uri);
    if (!rest) return false;
    ctx_.file_scratch.assign(rest->empty() ? std::string_view("/") : *rest);
    return true;
}

RoutedRequest::Step RoutedRequest::serve_path(const RouteRuntime& rt, std::string_view uri) noexcept {
    if (!file_path(rt, uri)) return error(404);
    StaticTarget t{rt.root_fd, rt.real_root, &ctx_.file_scratch, uri, query_, &*rt.settings->index,
                   rt.settings->autoindex.value_or(conf::Autoindex::kOff), rt.settings->content.get(), ex_.head};
    uint16_t code = serve_static(ctx_, ex_.req, ex_.head.data(), t, hw_, reply_);
    if (code != 0) return error(code);
    if (reply_.status == 412 || reply_.status == 416) [[unlikely]] return error_from_handler();
    return Step::kAnswered;
}

// The file handler answered a failed precondition (412) or an unsatisfiable Range (416) itself,
// as it must for a plain server. With an error page for that status here, the page is sent
// instead, with the fields the handler's answer had (Content-Range, Vary).
RoutedRequest::Step RoutedRequest::error_from_handler() noexcept {
    const auto& pages = current_->settings->error_pages;
    if (error_status_ != 0 || !pages || !routing::find_error_page(*pages, reply_.status)) return Step::kAnswered;
    uint16_t status = reply_.status;
    hw_.reset();
    reply_ = Reply{};
    return error(status, ctx_.error_fields);
}

// An error page, reached by its internal redirect: sent with the status that led to it. A page
// that is not there gives way to the built-in one, never to another redirect.
RoutedRequest::Step RoutedRequest::serve_page(const RouteRuntime& rt) noexcept {
    if (!file_path(rt, uri_) ||
        !serve_error_page(ctx_, rt.root_fd, rt.real_root, ctx_.file_scratch, error_status_, error_fields(),
                          head_only_, hw_, reply_)) {
        build_error(ctx_, error_status_, head_only_, error_fields(), hw_, reply_);
    }
    return Step::kAnswered;
}

// An error page whose URI lands in a location that serves no files. A `return` with text sends
// that text with the error's status, as nginx does, and a redirect goes as it is; anything else
// (a proxied location: portico does not ask an upstream for error pages) gets the built-in page.
// Never the location's ordinary answer: a missing page must not become a 200.
RoutedRequest::Step RoutedRequest::serve_page_elsewhere(const RouteRuntime& rt) noexcept {
    if (rt.handler == HandlerKind::kReturn) {
        const routing::ReturnAction& action = *rt.settings->return_action;
        uint16_t status = action.redirect ? 0 : error_status_;
        if (serve_return(ctx_, action, vars(), head_only_, hw_, reply_, status) == 0) return Step::kAnswered;
    }
    build_error(ctx_, error_status_, head_only_, error_fields(), hw_, reply_);
    return Step::kAnswered;
}

// An error in this pass: the location's error page for it, if it has one and no error page is
// being served already, else the built-in page.
RoutedRequest::Step RoutedRequest::error(uint16_t status, std::string_view fields) noexcept {
    const auto& pages = current_->settings->error_pages;
    const routing::ErrorPage* page =
        error_status_ == 0 && pages ? routing::find_error_page(*pages, status) : nullptr;
    if (page == nullptr) {
        if (error_status_ != 0) build_error(ctx_, error_status_, head_only_, error_fields(), hw_, reply_);
        else build_error(ctx_, status, head_only_, fields, hw_, reply_);
        return Step::kAnswered;
    }
    error_status_ = status;
    error_fields_len_ = static_cast<uint8_t>(std::min(fields.size(), sizeof error_fields_));
    if (error_fields_len_ > 0) std::memcpy(error_fields_, fields.data(), error_fields_len_);  // data() may be null
    client_made_ = false;
    return redirect(page->uri, {}, false);
}

// The next pass routes `uri`; its query is `args` unless `keep_args` keeps the request's (a
// try_files fallback without '?' does, as in nginx).
RoutedRequest::Step RoutedRequest::redirect(std::string_view uri, std::string_view args, bool keep_args) noexcept {
    // uri may view file_scratch or value_scratch, never uri_scratch's own bytes while it is replaced:
    // a fallback is expanded into value_scratch, an error page comes from the config.
    ctx_.uri_scratch.assign(uri);
    uri_ = ctx_.uri_scratch;
    if (!keep_args) {
        ctx_.args_scratch.clear();
        if (!args.empty()) ctx_.args_scratch.append("?").append(args);
        query_ = ctx_.args_scratch;
    }
    return Step::kRedirected;
}

const routing::RequestVars& RoutedRequest::vars() noexcept {
    if (vars_ready_) return vars_;
    vars_ready_ = true;
    // A listener adopted from a crash-looping slot after start-up has no entry (the worker's
    // accept code does not add one yet): it serves one of the server's addresses, so take its first.
    if (ex_.listener < ctx_.listener_vars.size()) {
        const ListenerVars& l = ctx_.listener_vars[ex_.listener];
        vars_.scheme = l.ssl ? "https" : "http";
        vars_.server_port = l.port;
    } else {
        const conf::ListenAddress& a = vs_.config->listen.front();
        vars_.scheme = a.ssl ? "https" : "http";
        port_len_ = static_cast<uint8_t>(std::to_chars(port_, port_ + sizeof port_, a.port).ptr - port_);
        vars_.server_port = {port_, port_len_};
    }
    vars_.host = split_.host;
    vars_.request_uri = split_.request_uri;
    vars_.uri = uri_;
    vars_.args = query_.empty() ? query_ : query_.substr(1);
    vars_.remote_addr = {remote_addr_, ex_.peer.format(remote_addr_, sizeof remote_addr_)};
    vars_.captures = captures_;
    vars_.uri_changed = redirected_;
    return vars_;
}

CachedFile* error_page_file(Context& ctx, const VirtualServer& vs, const conf::RouteSettings& route,
                            const core::PeerAddress& peer, uint16_t status) noexcept {
    const routing::ErrorPage* page = route.error_pages ? routing::find_error_page(*route.error_pages, status) : nullptr;
    if (!page) return nullptr;
    const RouteRuntime* rt = &vs.own;
    if (const auto* matcher = vs.config->matcher.get()) {
        auto m = matcher->match(page->uri, ctx.match_data);
        if (m.error) return nullptr;
        if (m.id != routing::LocationMatcher::Result::kNone) rt = &vs.locations[m.id];
    }
    if (rt->handler != HandlerKind::kStatic || rt->root_fd < 0) return nullptr;  // no page a file serves
    const conf::RouteSettings& s = *rt->settings;
    if (s.access && !s.access->allows(address_of(peer))) return nullptr;  // as pass() judges it
    std::string_view path = page->uri;
    if (rt->alias) {
        auto rest = routing::alias_remainder(rt->alias_prefix, path);
        if (!rest) return nullptr;
        path = rest->empty() ? std::string_view("/") : *rest;
    }
    try {
        ctx.file_scratch.assign(path);
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
    CachedFile* f = ctx.files.lookup(rt->root_fd, rt->real_root, ctx.file_scratch, ctx.now_ms);
    if (!f || f->kind != CachedFile::Kind::kFile) return nullptr;
    FileCache::ref(f);
    return f;
}

void add_route_headers(const conf::RouteSettings& s, const core::DateCache& date, HeaderWriter& hw) noexcept {
    if (s.add_headers) hw.add(*s.add_headers);
    if (s.expires && s.expires->kind() != routing::Expires::Kind::kOff) {
        char lines[160];
        size_t n = s.expires->write(date.now(), lines, sizeof lines);
        if (n != std::string_view::npos) hw.add({lines, n});
    }
}

// add_headers and expires of the location that answered, for the statuses nginx adds them to.
void RoutedRequest::add_route_headers() noexcept { http::add_route_headers(*current_->settings, ctx_.date, hw_); }

}  // namespace portico::http
