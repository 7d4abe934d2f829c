#include "http/content/type_rules.hpp"

#include <algorithm>

namespace portico::http::content {
namespace {

char lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool is_charset_type(std::string_view type) noexcept {
    return (type.size() > 5 && iequals(type.substr(0, 5), "text/")) ||
           iequals(type, "application/javascript") || iequals(type, "application/json");
}

// Whether the parameters after the media type already include charset=.
bool has_charset(std::string_view content_type) noexcept {
    size_t semi = content_type.find(';');
    while (semi != std::string_view::npos) {
        std::string_view param = trim(content_type.substr(semi + 1));
        const size_t next = param.find(';');
        const size_t eq = param.find('=');
        if (eq != std::string_view::npos && eq < next && iequals(trim(param.substr(0, eq)), "charset"))
            return true;
        semi = content_type.find(';', semi + 1);
    }
    return false;
}

}  // namespace

TypeRules::TypeRules(const std::vector<std::string>& types, size_t min_length) : min_length_(min_length) {
    for (const std::string& t : types) {
        std::string m(media_type(t));
        std::transform(m.begin(), m.end(), m.begin(), lower);
        if (m == "*") any_ = true;
        if (!m.empty()) types_.push_back(std::move(m));
    }
}

std::string_view TypeRules::media_type(std::string_view content_type) noexcept {
    return trim(content_type.substr(0, content_type.find(';')));
}

bool TypeRules::type_matches(std::string_view content_type) const noexcept {
    if (any_) return true;
    const std::string_view m = media_type(content_type);
    return std::any_of(types_.begin(), types_.end(), [m](const std::string& t) { return iequals(t, m); });
}

bool TypeRules::wants_charset(std::string_view content_type, std::string_view charset) noexcept {
    return !charset.empty() && is_charset_type(media_type(content_type)) && !has_charset(content_type);
}

std::string TypeRules::with_charset(std::string_view content_type, std::string_view charset) {
    std::string out(content_type);
    if (wants_charset(content_type, charset)) out.append("; charset=").append(charset);
    return out;
}

}  // namespace portico::http::content
