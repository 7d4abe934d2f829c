#include "http/routing/location_matcher.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace portico::http::routing {
namespace {

std::string_view skip_spaces(std::string_view s) noexcept {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    return s;
}

// Splits the modifier off: "= /x" -> (kExact, "/x"); "/x" -> (kPrefix, "/x"). nginx also takes
// "=/x" without the space, so do we; "~*" is tested before "~".
MatchKind split_modifier(std::string_view& text) noexcept {
    struct Modifier {
        std::string_view token;
        MatchKind kind;
    };
    constexpr Modifier kModifiers[] = {{"^~", MatchKind::kPrefixNoRegex},
                                       {"~*", MatchKind::kRegexCaseless},
                                       {"~", MatchKind::kRegex},
                                       {"=", MatchKind::kExact}};
    for (const Modifier& m : kModifiers) {
        if (text.starts_with(m.token)) {
            text = skip_spaces(text.substr(m.token.size()));
            return m.kind;
        }
    }
    return MatchKind::kPrefix;
}

}  // namespace

std::optional<MatchSpec> MatchSpec::parse(std::string_view match, std::string& problem) {
    std::string_view text = skip_spaces(match);
    if (text.starts_with("@")) {
        problem = "named locations (\"@name\") are not supported";
        return std::nullopt;
    }
    MatchSpec spec;
    spec.kind = split_modifier(text);
    if (text.empty()) {
        problem = fmt::format("'{}' has no path or pattern after its modifier", match);
        return std::nullopt;
    }
    if (!spec.is_regex() && text.front() != '/') {
        problem = fmt::format(
            "'{}' must be \"= /path\", \"/prefix\", \"^~ /prefix\", \"~ regex\" or \"~* regex\"", match);
        return std::nullopt;
    }
    spec.text = std::string(text);
    return spec;
}

bool LocationMatcher::add(const MatchSpec& spec, uint32_t id, std::string& problem) {
    if (spec.is_regex()) {
        auto regex = Regex::compile(spec.text, spec.kind == MatchKind::kRegexCaseless, problem);
        if (!regex) {
            problem = fmt::format("regex '{}' does not compile: {}", spec.text, problem);
            return false;
        }
        regexes_.push_back({std::move(regex), id});
        return true;
    }
    auto& list = spec.kind == MatchKind::kExact ? exact_ : prefixes_;
    auto same = [&](const Literal& l) { return l.text == spec.text; };
    if (std::any_of(list.begin(), list.end(), same)) {
        problem = fmt::format("{} '{}' is already used by another location",
                              spec.kind == MatchKind::kExact ? "exact match" : "prefix", spec.text);
        return false;
    }
    Literal entry{spec.text, id, spec.kind == MatchKind::kPrefixNoRegex};
    // Keep prefixes longest first; among equal lengths the order does not matter (the texts differ).
    auto at = std::find_if(list.begin(), list.end(),
                           [&](const Literal& l) { return l.text.size() < entry.text.size(); });
    list.insert(spec.kind == MatchKind::kExact ? list.end() : at, std::move(entry));
    return true;
}

LocationMatcher::Result LocationMatcher::match(std::string_view path, MatchData& md) const noexcept {
    Result result;
    for (const Literal& e : exact_) {
        if (e.text == path) {
            result.id = e.id;
            return result;
        }
    }
    const Literal* longest = nullptr;
    for (const Literal& p : prefixes_) {
        if (path.starts_with(p.text)) {
            longest = &p;
            break;
        }
    }
    if (longest != nullptr && longest->stops_regex) {
        result.id = longest->id;
        return result;
    }
    for (const Pattern& p : regexes_) {
        int rc = p.regex->match(path, md, result.captures);
        if (rc == 0) continue;
        if (rc < 0) {
            result.error = true;
            return result;
        }
        result.id = p.id;
        return result;
    }
    result.captures = {};
    if (longest != nullptr) result.id = longest->id;
    return result;
}

}  // namespace portico::http::routing
