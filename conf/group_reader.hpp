#pragma once
// Internal to conf/: checked, typed reads from one libconfig group (the top level, `http`, or
// one server), with errors that name the file, the line and the setting's full name:
//
//     FILE:LINE: setting 'NAME': PROBLEM
//
// NAME is the path from the top: "worker_processes", "http.keepalive_timeout",
// "servers[0].root", "servers[1].listen[2]".

#include <libconfig.h++>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"

namespace portico::conf::detail {

/// Throws ConfigError("FILE:LINE: setting 'NAME': PROBLEM"), or "FILE: setting ..." when
/// `line` is 0 (libconfig does not know it, e.g. for a missing top-level setting).
[[noreturn]] void throw_config_error(std::string_view file, unsigned line, std::string_view name,
                                     std::string_view problem);

/// The entry of `candidates` that `name` looks like a typo of (small edit distance, case
/// ignored), or an empty view when none is close enough to be a useful hint.
std::string_view closest_match(std::string_view name, std::span<const std::string_view> candidates);

/// The keys of another group, so a key put at the wrong level gets a hint to move it.
struct OtherGroup {
    std::span<const std::string_view> keys;
    std::string_view where;  ///< e.g. "inside the 'http' group"
};

/// One member of a setting that may be a single value or a list of them.
struct Element {
    const libconfig::Setting* setting;
    std::string name;  ///< full name: "servers[0].listen[1]", or the key's own for a scalar
};

class GroupReader {
public:
    /// `group` must outlive the reader. `name` is the group's full name: "" for the top level,
    /// "http", "servers[0]". `file` names the config in messages (libconfig knows only the
    /// names of included files); `dir` is its directory, which included files are relative to.
    GroupReader(const libconfig::Setting& group, std::string name, std::string file,
                std::filesystem::path dir);

    /// Throws "unknown setting" for the first member (in file order) whose name is not in
    /// `known`, with a did-you-mean hint or, if it is a key of one of `others`, where it belongs.
    void reject_unknown(std::span<const std::string_view> known, std::span<const OtherGroup> others) const;

    /// The member named `key`, or nullptr.
    [[nodiscard]] const libconfig::Setting* find(std::string_view key) const;
    /// "http.keepalive_timeout" for key "keepalive_timeout" in the http group.
    [[nodiscard]] std::string full_name(std::string_view key) const;
    [[nodiscard]] const std::string& name() const { return name_; }

    [[nodiscard]] bool boolean(std::string_view key, bool fallback) const;
    [[nodiscard]] uint32_t integer(std::string_view key, uint32_t fallback, uint32_t min, uint32_t max) const;
    [[nodiscard]] Millis duration(std::string_view key, Millis fallback, Millis min = Millis{0}) const;
    [[nodiscard]] uint64_t size(std::string_view key, uint64_t fallback, uint64_t min, uint64_t max) const;
    [[nodiscard]] std::string string(std::string_view key, std::string_view fallback) const;
    /// The member as a list: its elements if it is an array or list, else itself alone, so
    /// `index = "a";` and `index = ["a", "b"];` read alike. Empty when the key is absent.
    [[nodiscard]] std::vector<Element> elements(std::string_view key) const;
    /// The element's string value; throws "expected a string" for any other type.
    [[nodiscard]] std::string string_of(const Element& element) const;

    /// A reader for a group nested in this one (e.g. one server of the list), sharing the file.
    [[nodiscard]] GroupReader nested(const libconfig::Setting& group, std::string name) const;

    /// Throws at `key`'s line, or at the group's own line when the key is absent.
    [[noreturn]] void fail(std::string_view key, std::string_view problem) const;
    /// Throws at `setting`'s line, naming it `name` (a full name).
    [[noreturn]] void fail_at(const libconfig::Setting& setting, std::string_view name,
                              std::string_view problem) const;

private:
    const libconfig::Setting& group_;
    std::string name_;
    std::string file_;
    std::filesystem::path dir_;
};

}  // namespace portico::conf::detail
