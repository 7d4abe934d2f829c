#pragma once
// A server's locations and nginx's rule for choosing one:
//   1. an exact match ("= /x") wins;
//   2. otherwise the longest matching prefix is found;
//   3. if it is a "^~" prefix, it wins;
//   4. otherwise the regexes ("~", "~*") are tried in file order and the first match wins;
//   5. otherwise the longest prefix wins (or none: the server's own settings apply).
// Built once per config generation; match() neither allocates nor copies.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/routing/regex.hpp"

namespace portico::http::routing {

enum class MatchKind : uint8_t {
    kExact,          ///< "= /healthz"
    kPrefix,         ///< "/assets/"
    kPrefixNoRegex,  ///< "^~ /assets/": a longest-prefix win stops the regex search
    kRegex,          ///< "~ \.php$"
    kRegexCaseless,  ///< "~* \.(gif|jpg)$"
};

/// A `match` setting split into its modifier and its text.
struct MatchSpec {
    MatchKind kind = MatchKind::kPrefix;
    std::string text;  ///< the path or the pattern

    /// Parses nginx's forms. Exact and prefix texts must start with '/'. Returns nullopt and sets
    /// `problem` otherwise (an empty pattern, a named "@location", an unknown modifier).
    static std::optional<MatchSpec> parse(std::string_view match, std::string& problem);
    [[nodiscard]] bool is_prefix() const noexcept {
        return kind == MatchKind::kPrefix || kind == MatchKind::kPrefixNoRegex;
    }
    [[nodiscard]] bool is_regex() const noexcept {
        return kind == MatchKind::kRegex || kind == MatchKind::kRegexCaseless;
    }
};

class LocationMatcher {
public:
    /// What match() chose: the `id` given to add(), or kNone; and the captures of a regex location.
    struct Result {
        static constexpr uint32_t kNone = UINT32_MAX;
        uint32_t id = kNone;
        bool error = false;  ///< a regex failed to run (not: did not match); answer 500
        Captures captures;
    };

    /// Adds location `id`. Returns false and sets `problem` when the regex does not compile or the
    /// same exact or prefix text is already there (nginx refuses a duplicate location too).
    bool add(const MatchSpec& spec, uint32_t id, std::string& problem);

    /// Chooses the location for the normalised path `path`. Captures point into `path` and `md`;
    /// both must outlive their use.
    Result match(std::string_view path, MatchData& md) const noexcept;

    [[nodiscard]] bool empty() const noexcept {
        return exact_.empty() && prefixes_.empty() && regexes_.empty();
    }
    [[nodiscard]] bool has_regexes() const noexcept { return !regexes_.empty(); }

private:
    struct Literal {
        std::string text;
        uint32_t id;
        bool stops_regex;
    };
    struct Pattern {
        std::unique_ptr<Regex> regex;
        uint32_t id;
    };

    std::vector<Literal> exact_;
    std::vector<Literal> prefixes_;  ///< longest first, so the first that matches is the longest
    std::vector<Pattern> regexes_;   ///< in file order
};

}  // namespace portico::http::routing
