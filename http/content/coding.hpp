#pragma once
// The content codings portico can produce, and their names on the wire (RFC 9110 §8.4.1).

#include <cstdint>
#include <optional>
#include <string_view>

namespace portico::http::content {

enum class Coding : uint8_t { kGzip, kBrotli };

/// The token sent in Content-Encoding and matched in Accept-Encoding: "gzip" or "br".
constexpr std::string_view coding_name(Coding c) noexcept {
    return c == Coding::kGzip ? "gzip" : "br";
}

/// The file suffix of a precompressed sibling: ".gz" or ".br".
constexpr std::string_view coding_suffix(Coding c) noexcept {
    return c == Coding::kGzip ? ".gz" : ".br";
}

/// The coding a configured name stands for ("gzip" or "br", case-insensitive), or nullopt.
std::optional<Coding> coding_from_name(std::string_view name) noexcept;

}  // namespace portico::http::content
