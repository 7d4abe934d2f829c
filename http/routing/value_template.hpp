#pragma once
// A setting value with variables in it ("https://$host$request_uri", "/$1.html"), compiled once at
// config time into literal and variable pieces, and expanded per request without allocating.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/routing/regex.hpp"

namespace portico::http::routing {

/// The values a template may name, for one request. Views into the request and the worker's
/// scratch; they must outlive the expand() call.
struct RequestVars {
    std::string_view scheme = "http";
    std::string_view host;         ///< Host without port, lower-case; the server name when absent
    std::string_view request_uri;  ///< the target as sent, query included
    std::string_view uri;          ///< the normalised (decoded) path
    std::string_view args;         ///< the query without its '?'
    std::string_view remote_addr;  ///< "127.0.0.1", "::1"
    std::string_view server_port;  ///< the port the request came in on, as text
    Captures captures;             ///< of the regex location that matched; empty otherwise
    bool uri_changed = false;      ///< uri and args are an internal redirect's (try_files), not the client's
};

class ValueTemplate {
public:
    enum class Source : uint8_t {
        kLiteral,
        kScheme,
        kHost,
        kRequestUri,
        kUri,
        kArgs,
        kRemoteAddr,
        kServerPort,
        kCapture,
    };
    struct Piece {
        Source source = Source::kLiteral;
        uint8_t capture = 0;  ///< 1..9 for kCapture
        uint32_t offset = 0;  ///< kLiteral: the bytes in literals_
        uint32_t length = 0;
    };

    ValueTemplate() = default;

    /// Compiles `text`: `$name` or `${name}` for $scheme $host $request_uri $uri $args $remote_addr
    /// $server_port, `$1`..`$9` for captures (one digit, as in nginx: "$10" is $1 then "0").
    /// Returns nullopt and sets `problem` for an unknown variable or a '$' without a name.
    static std::optional<ValueTemplate> compile(std::string_view text, std::string& problem);

    /// Writes the value for `vars` to out[0, cap). Returns the length, or std::string_view::npos
    /// if it does not fit (the caller refuses the request rather than truncate a URL).
    size_t expand(const RequestVars& vars, char* out, size_t cap) const noexcept;

    /// The text as written, for messages and tests.
    [[nodiscard]] const std::string& text() const noexcept { return text_; }
    [[nodiscard]] bool is_literal() const noexcept;
    [[nodiscard]] const std::vector<Piece>& pieces() const noexcept { return pieces_; }

private:
    void add_literal(std::string_view bytes);

    std::string text_;
    std::string literals_;
    std::vector<Piece> pieces_;
};

}  // namespace portico::http::routing
