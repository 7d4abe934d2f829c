// Checked, typed reads from one libconfig group, and the error messages that point at a line.

#include "conf/group_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "conf/parse.hpp"

namespace portico::conf::detail {
namespace {

using libconfig::Setting;

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Levenshtein distance, ignoring case, with one row of the table.
size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), size_t{0});
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t above = row[j];
            size_t substitute = diagonal + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1);
            row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
            diagonal = above;
        }
    }
    return row[b.size()];
}

bool is_integer(const Setting& s) {
    return s.getType() == Setting::TypeInt || s.getType() == Setting::TypeInt64;
}

long long integer_value(const Setting& s) {
    return s.getType() == Setting::TypeInt64 ? static_cast<long long>(s) : static_cast<int>(s);
}

bool contains(std::span<const std::string_view> keys, std::string_view key) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
}

std::string unknown_problem(std::string_view key, std::span<const std::string_view> known,
                            std::span<const OtherGroup> others) {
    for (const auto& other : others) {
        if (contains(other.keys, key)) {
            return fmt::format("unknown setting here; it belongs {}", other.where);
        }
    }
    std::string_view hint = closest_match(key, known);
    return hint.empty() ? std::string{"unknown setting"}
                        : fmt::format("unknown setting; did you mean '{}'?", hint);
}

}  // namespace

void throw_config_error(std::string_view file, unsigned line, std::string_view name,
                        std::string_view problem) {
    std::string where = line > 0 ? fmt::format("{}:{}", file, line) : std::string{file};
    throw ConfigError(fmt::format("{}: setting '{}': {}", where, name, problem));
}

std::string_view closest_match(std::string_view name, std::span<const std::string_view> candidates) {
    // Short names get little slack, or "root" would be offered for any four letters.
    size_t allowed = name.size() < 5 ? 1 : name.size() < 12 ? 2 : 3;
    std::string_view best;
    size_t best_distance = allowed + 1;
    for (auto candidate : candidates) {
        size_t d = edit_distance(name, candidate);
        if (d < best_distance) {
            best = candidate;
            best_distance = d;
        }
    }
    return best;
}

GroupReader::GroupReader(const Setting& group, std::string name, std::string file, std::filesystem::path dir)
    : group_(group), name_(std::move(name)), file_(std::move(file)), dir_(std::move(dir)) {}

void GroupReader::reject_unknown(std::span<const std::string_view> known,
                                 std::span<const OtherGroup> others) const {
    for (int i = 0; i < group_.getLength(); ++i) {
        const Setting& member = group_[i];
        std::string_view key = member.getName();  // members of a group always have names
        if (!contains(known, key)) {
            fail_at(member, full_name(key), unknown_problem(key, known, others));
        }
    }
}

const Setting* GroupReader::find(std::string_view key) const {
    for (int i = 0; i < group_.getLength(); ++i) {
        const Setting& member = group_[i];
        if (key == member.getName()) {
            return &member;
        }
    }
    return nullptr;
}

std::string GroupReader::full_name(std::string_view key) const {
    return name_.empty() ? std::string{key} : fmt::format("{}.{}", name_, key);
}

bool GroupReader::boolean(std::string_view key, bool fallback) const {
    const Setting* s = find(key);
    if (s == nullptr) {
        return fallback;
    }
    if (s->getType() != Setting::TypeBoolean) {
        fail_at(*s, full_name(key), "expected a boolean (true or false)");
    }
    return static_cast<bool>(*s);
}

uint32_t GroupReader::integer(std::string_view key, uint32_t fallback, uint32_t min, uint32_t max) const {
    const Setting* s = find(key);
    if (s == nullptr) {
        return fallback;
    }
    if (!is_integer(*s)) {
        fail_at(*s, full_name(key), "expected an integer");
    }
    long long value = integer_value(*s);
    if (value < min || value > max) {
        fail_at(*s, full_name(key), fmt::format("must be between {} and {} (got {})", min, max, value));
    }
    return static_cast<uint32_t>(value);
}

Millis GroupReader::duration(std::string_view key, Millis fallback, Millis min) const {
    const Setting* s = find(key);
    if (s == nullptr) {
        return fallback;
    }
    Parsed<Millis> parsed;
    if (is_integer(*s)) {
        parsed = duration_from_seconds(static_cast<double>(integer_value(*s)));
    } else if (s->getType() == Setting::TypeFloat) {
        parsed = duration_from_seconds(static_cast<double>(*s));
    } else if (s->getType() == Setting::TypeString) {
        parsed = parse_duration(static_cast<const char*>(*s));
    } else {
        parsed = Parsed<Millis>::error(kDurationExpected);
    }
    if (!parsed.value) {
        fail_at(*s, full_name(key), parsed.problem);
    }
    if (*parsed.value < min) {
        fail_at(
            *s, full_name(key),
            min == Millis{1} ? "must be greater than 0" : fmt::format("must be at least {}ms", min.count()));
    }
    return *parsed.value;
}

uint64_t GroupReader::size(std::string_view key, uint64_t fallback, uint64_t min, uint64_t max) const {
    const Setting* s = find(key);
    if (s == nullptr) {
        return fallback;
    }
    Parsed<uint64_t> parsed;
    if (is_integer(*s)) {
        long long value = integer_value(*s);
        parsed = value < 0 ? Parsed<uint64_t>::error("must not be negative")
                           : Parsed<uint64_t>::ok(static_cast<uint64_t>(value));
    } else if (s->getType() == Setting::TypeString) {
        parsed = parse_size(static_cast<const char*>(*s));
    } else {
        parsed = Parsed<uint64_t>::error(kSizeExpected);
    }
    if (!parsed.value) {
        fail_at(*s, full_name(key), parsed.problem);
    }
    if (*parsed.value < min || *parsed.value > max) {
        fail_at(*s, full_name(key),
                fmt::format("must be between {} and {} (got {})", format_size(min), format_size(max),
                            format_size(*parsed.value)));
    }
    return *parsed.value;
}

std::string GroupReader::string(std::string_view key, std::string_view fallback) const {
    const Setting* s = find(key);
    return s == nullptr ? std::string{fallback} : string_of(Element{s, full_name(key)});
}

std::vector<Element> GroupReader::elements(std::string_view key) const {
    const Setting* s = find(key);
    if (s == nullptr) {
        return {};
    }
    if (!s->isArray() && !s->isList()) {
        return {Element{s, full_name(key)}};
    }
    std::vector<Element> result;
    for (int i = 0; i < s->getLength(); ++i) {
        result.push_back(Element{&(*s)[i], fmt::format("{}[{}]", full_name(key), i)});
    }
    return result;
}

std::string GroupReader::string_of(const Element& element) const {
    if (element.setting->getType() != Setting::TypeString) {
        fail_at(*element.setting, element.name, "expected a string");
    }
    return static_cast<const char*>(*element.setting);
}

GroupReader GroupReader::nested(const Setting& group, std::string name) const {
    return GroupReader(group, std::move(name), file_, dir_);
}

void GroupReader::fail(std::string_view key, std::string_view problem) const {
    if (const Setting* s = find(key)) {
        fail_at(*s, full_name(key), problem);
    }
    fail_at(group_, full_name(key), problem);
}

void GroupReader::fail_at(const Setting& setting, std::string_view name, std::string_view problem) const {
    // libconfig names only included files, and as the @include wrote them: relative to dir_.
    const char* included = setting.getSourceFile();
    std::string file = included != nullptr ? (dir_ / included).lexically_normal().string() : file_;
    throw_config_error(file, setting.getSourceLine(), name, problem);
}

}  // namespace portico::conf::detail
