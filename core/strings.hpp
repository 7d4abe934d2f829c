#pragma once
// Small string helpers shared across folders.

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace portico::core {

/// Hash for unordered containers keyed by std::string that are looked up by string_view
/// (heterogeneous lookup: no temporary std::string per find).
struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

constexpr char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

/// ASCII case-insensitive equality.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

}  // namespace portico::core
