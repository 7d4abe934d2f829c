#include "http/routing/value_template.hpp"

#include <fmt/format.h>

#include <array>
#include <cstring>

namespace portico::http::routing {
namespace {

using Source = ValueTemplate::Source;

struct Named {
    std::string_view name;
    Source source;
};

constexpr std::array kVariables{
    Named{"scheme", Source::kScheme},
    Named{"host", Source::kHost},
    Named{"request_uri", Source::kRequestUri},
    Named{"uri", Source::kUri},
    Named{"args", Source::kArgs},
    Named{"remote_addr", Source::kRemoteAddr},
    Named{"server_port", Source::kServerPort},
};

bool name_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

std::string_view value_of(const ValueTemplate::Piece& p, const RequestVars& v) noexcept {
    switch (p.source) {
        case Source::kScheme:
            return v.scheme;
        case Source::kHost:
            return v.host;
        case Source::kRequestUri:
            return v.request_uri;
        case Source::kUri:
            return v.uri;
        case Source::kArgs:
            return v.args;
        case Source::kRemoteAddr:
            return v.remote_addr;
        case Source::kServerPort:
            return v.server_port;
        case Source::kCapture:
            return v.captures.group(p.capture);
        case Source::kLiteral:
            break;
    }
    return {};
}

// Reads the variable reference that starts at text[at] == '$'. Sets `piece` and returns the
// length of the reference, or 0 with `problem` set.
size_t read_reference(std::string_view text, size_t at, ValueTemplate::Piece& piece, std::string& problem) {
    size_t pos = at + 1;
    if (pos < text.size() && text[pos] >= '1' && text[pos] <= '9') {
        piece = {Source::kCapture, static_cast<uint8_t>(text[pos] - '0'), 0, 0};
        return 2;
    }
    bool braced = pos < text.size() && text[pos] == '{';
    size_t begin = braced ? pos + 1 : pos, end = begin;
    while (end < text.size() && name_char(text[end])) ++end;
    std::string_view name = text.substr(begin, end - begin);
    if (name.empty() || (braced && (end >= text.size() || text[end] != '}'))) {
        problem = fmt::format("'$' at offset {} is not followed by a variable name", at);
        return 0;
    }
    for (const Named& v : kVariables) {
        if (v.name == name) {
            piece = {v.source, 0, 0, 0};
            return end - at + (braced ? 1 : 0);
        }
    }
    problem = fmt::format(
        "unknown variable '${}'; known are $scheme $host $request_uri $uri $args $remote_addr "
        "$server_port $1..$9",
        name);
    return 0;
}

}  // namespace

void ValueTemplate::add_literal(std::string_view bytes) {
    if (bytes.empty()) return;
    if (!pieces_.empty() && pieces_.back().source == Source::kLiteral) {
        pieces_.back().length += static_cast<uint32_t>(bytes.size());
    } else {
        pieces_.push_back({Source::kLiteral, 0, static_cast<uint32_t>(literals_.size()),
                           static_cast<uint32_t>(bytes.size())});
    }
    literals_.append(bytes);
}

std::optional<ValueTemplate> ValueTemplate::compile(std::string_view text, std::string& problem) {
    ValueTemplate t;
    t.text_ = std::string(text);
    size_t literal_start = 0;
    for (size_t i = 0; i < text.size();) {
        if (text[i] != '$') {
            ++i;
            continue;
        }
        t.add_literal(text.substr(literal_start, i - literal_start));
        Piece piece;
        size_t length = read_reference(text, i, piece, problem);
        if (length == 0) return std::nullopt;
        t.pieces_.push_back(piece);
        i += length;
        literal_start = i;
    }
    t.add_literal(text.substr(literal_start));
    return t;
}

size_t ValueTemplate::expand(const RequestVars& vars, char* out, size_t cap) const noexcept {
    size_t used = 0;
    for (const Piece& p : pieces_) {
        std::string_view bytes = p.source == Source::kLiteral
                                     ? std::string_view(literals_).substr(p.offset, p.length)
                                     : value_of(p, vars);
        if (bytes.size() > cap - used) return std::string_view::npos;
        if (!bytes.empty()) std::memcpy(out + used, bytes.data(), bytes.size());
        used += bytes.size();
    }
    return used;
}

bool ValueTemplate::is_literal() const noexcept {
    return pieces_.empty() || (pieces_.size() == 1 && pieces_[0].source == Source::kLiteral);
}

}  // namespace portico::http::routing
