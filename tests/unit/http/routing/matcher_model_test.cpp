// The matcher against a plain reference model of nginx's rules, over random location sets and
// every short path of a small alphabet. The model's regexes are literals with optional anchors,
// so it can decide them with string operations, and PCRE2 must agree.

#include <catch2/catch.hpp>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/strings.hpp"
#include "http/routing/location_matcher.hpp"

using namespace portico::http::routing;

namespace {

constexpr uint32_t kNone = LocationMatcher::Result::kNone;
constexpr char kAlphabet[] = {'/', 'a', 'b', 'A'};

struct ModelRegex {
    std::string literal;
    bool anchored_start = false, anchored_end = false, caseless = false;
};

struct ModelLocation {
    MatchSpec spec;
    ModelRegex regex;  // for the regex kinds
};

std::string lower(std::string s) {
    for (char& c : s) c = portico::core::ascii_lower(c);
    return s;
}

bool regex_matches(const ModelRegex& r, std::string path) {
    std::string literal = r.literal;
    if (r.caseless) {
        path = lower(path);
        literal = lower(literal);
    }
    if (r.anchored_start && r.anchored_end) return path == literal;
    if (r.anchored_start) return path.starts_with(literal);
    if (r.anchored_end) return path.ends_with(literal);
    return path.find(literal) != std::string::npos;
}

// nginx's order, written as plainly as possible.
uint32_t model_match(const std::vector<ModelLocation>& locations, const std::string& path) {
    for (uint32_t i = 0; i < locations.size(); ++i) {
        if (locations[i].spec.kind == MatchKind::kExact && locations[i].spec.text == path) return i;
    }
    uint32_t longest = kNone;
    for (uint32_t i = 0; i < locations.size(); ++i) {
        const MatchSpec& s = locations[i].spec;
        if (s.is_prefix() && path.starts_with(s.text) &&
            (longest == kNone || s.text.size() > locations[longest].spec.text.size())) {
            longest = i;
        }
    }
    if (longest != kNone && locations[longest].spec.kind == MatchKind::kPrefixNoRegex) return longest;
    for (uint32_t i = 0; i < locations.size(); ++i) {
        if (locations[i].spec.is_regex() && regex_matches(locations[i].regex, path)) return i;
    }
    return longest;
}

std::string random_text(std::mt19937& rng, size_t max_length, bool leading_slash) {
    std::string s;
    if (leading_slash) s.push_back('/');
    size_t length = std::uniform_int_distribution<size_t>(0, max_length)(rng);
    for (size_t i = 0; i < length; ++i) s += kAlphabet[std::uniform_int_distribution<int>(0, 3)(rng)];
    return s;
}

// A random location; returns false when its text repeats one the set already has (nginx refuses those).
bool add_random(std::mt19937& rng, LocationMatcher& m, std::vector<ModelLocation>& model) {
    ModelLocation l;
    int kind = std::uniform_int_distribution<int>(0, 4)(rng);
    l.spec.kind = static_cast<MatchKind>(kind);
    if (l.spec.is_regex()) {
        l.regex.literal = random_text(rng, 3, false);
        if (l.regex.literal.empty()) l.regex.literal.push_back('a');
        l.regex.anchored_start = rng() % 2;
        l.regex.anchored_end = rng() % 2;
        l.regex.caseless = l.spec.kind == MatchKind::kRegexCaseless;
        if (l.regex.anchored_start) l.spec.text.push_back('^');
        l.spec.text += l.regex.literal;
        if (l.regex.anchored_end) l.spec.text.push_back('$');
    } else {
        l.spec.text = random_text(rng, 3, true);
    }
    std::string problem;
    if (!m.add(l.spec, static_cast<uint32_t>(model.size()), problem)) {
        REQUIRE_THAT(problem, Catch::Matchers::Contains("already used"));
        return false;
    }
    model.push_back(std::move(l));
    return true;
}

void every_path(std::string& path, size_t max_length, const std::function<void(const std::string&)>& visit) {
    visit(path);
    if (path.size() >= max_length) return;
    for (char c : kAlphabet) {
        path.push_back(c);
        every_path(path, max_length, visit);
        path.pop_back();
    }
}

}  // namespace

TEST_CASE("the matcher agrees with a reference model of nginx's rules", "[routing][matcher][model]") {
    std::mt19937 rng(8);  // fixed: a failure reproduces
    MatchData md;
    size_t checked = 0;
    for (int round = 0; round < 300; ++round) {
        LocationMatcher m;
        std::vector<ModelLocation> model;
        int wanted = std::uniform_int_distribution<int>(0, 10)(rng);
        for (int i = 0; i < wanted; ++i) add_random(rng, m, model);
        std::string path = "/";
        every_path(path, 5, [&](const std::string& p) {
            uint32_t expected = model_match(model, p);
            auto got = m.match(p, md);
            if (got.id != expected) {
                std::string set;
                for (const auto& l : model) set.append("[").append(l.spec.text).append("] ");
                FAIL_CHECK("path " << p << " locations " << set << " got " << got.id << " expected "
                                   << expected);
            }
            ++checked;
        });
    }
    CHECK(checked > 100000);
}
