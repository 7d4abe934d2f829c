#pragma once
// One request to a server with locations or routing settings, from its normalised path to a
// response: each pass chooses a location (nginx's order), checks access and the dotfile rule,
// and runs the location's handler; try_files fallbacks and error pages are internal redirects
// that start another pass, at most routing::kMaxInternalRedirects of them.
//
//   path --match--> location --access, dotfiles--> return | try_files | static
//                       ^                                        |
//                       +---- internal redirect (a fallback URI, an error page) ----+

#include <cstdint>
#include <string_view>

#include "http/context.hpp"
#include "http/exchange.hpp"
#include "http/header_writer.hpp"
#include "http/routing/value_template.hpp"

namespace portico::http {

/// Appends a location's add_headers and expires lines to a head (for a status they apply to:
/// routing::route_headers_apply). The router calls it for its own answers, the proxy for the
/// upstream's.
void add_route_headers(const conf::RouteSettings& s, const core::DateCache& date, HeaderWriter& hw) noexcept;

/// The file of `route`'s error page for `status`, when it has one that a static location of `vs`
/// serves to `peer` (looked up as the router would, its access rules too, with a reference taken:
/// FileCache::release it), or nullptr. For answers made after routing ended: the proxy's 502/504.
CachedFile* error_page_file(Context& ctx, const VirtualServer& vs, const conf::RouteSettings& route,
                            const core::PeerAddress& peer, uint16_t status) noexcept;

/// The parts of the request line the router has already taken apart.
struct SplitRequest {
    std::string_view path;         ///< normalised, in ctx.path_scratch
    std::string_view query;        ///< with its '?', or empty
    std::string_view request_uri;  ///< as sent ($request_uri)
    std::string_view host;         ///< the Host (or the absolute-form target's) without port
    bool dot_segment = false;      ///< normalize_path() saw a segment starting with '.'
};

class RoutedRequest {
public:
    /// Everything is borrowed for the duration of run().
    RoutedRequest(Context& ctx, const Exchange& ex, const VirtualServer& vs, const SplitRequest& split,
                  HeaderWriter& hw, Reply& reply) noexcept;
    RoutedRequest(const RoutedRequest&) = delete;
    RoutedRequest& operator=(const RoutedRequest&) = delete;

    /// Writes the status line and every header field except Connection into the HeaderWriter, and
    /// fills the Reply.
    void run() noexcept;

private:
    enum class Step : uint8_t { kAnswered, kRedirected };

    Step pass(bool first) noexcept;
    Step run_handler(const RouteRuntime& rt) noexcept;
    Step run_try_files(const RouteRuntime& rt) noexcept;
    Step serve_path(const RouteRuntime& rt, std::string_view uri) noexcept;
    Step serve_page(const RouteRuntime& rt) noexcept;
    Step serve_page_elsewhere(const RouteRuntime& rt) noexcept;
    Step error(uint16_t status, std::string_view fields = {}) noexcept;
    Step error_from_handler() noexcept;
    [[nodiscard]] std::string_view error_fields() const noexcept { return {error_fields_, error_fields_len_}; }
    Step redirect(std::string_view uri, std::string_view args, bool keep_args) noexcept;
    bool file_path(const RouteRuntime& rt, std::string_view uri) noexcept;
    const routing::RequestVars& vars() noexcept;
    void add_route_headers() noexcept;

    Context& ctx_;
    const Exchange& ex_;
    const VirtualServer& vs_;
    const SplitRequest& split_;
    HeaderWriter& hw_;
    Reply& reply_;
    bool head_only_;
    std::string_view uri_;    ///< this pass's path: the request's, then an internal redirect's
    std::string_view query_;  ///< with its '?'
    const RouteRuntime* current_ = nullptr;  ///< the location (or the server) of this pass
    routing::Captures captures_;
    uint16_t error_status_ = 0;  ///< serving an error page: the status it is sent with
    uint8_t error_fields_len_ = 0;
    char error_fields_[96];      ///< ... and the fields it carries (a 405's Allow, a 416's Content-Range)
    bool vars_ready_ = false;
    bool redirected_ = false;  // uri_ and query_ are an internal redirect's
    bool client_made_ = false;  // ... and built from the request (a try_files fallback with variables)
    routing::RequestVars vars_;
    char remote_addr_[64];
    char port_[8];
    uint8_t port_len_ = 0;
};

}  // namespace portico::http
