// The `user` setting: "www-data" or "www-data www-data", looked up at load time so that a typo
// fails at start-up (or is refused by a reload) rather than in a worker that has already
// forked and cannot drop its privileges.

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "conf/defaults.hpp"
#include "conf/sections.hpp"

namespace portico::conf::detail {
namespace {

// Far beyond any real passwd or group entry; it only bounds the doubling below.
constexpr size_t kMaxEntryBuffer = size_t{1} << 20;

template <typename Entry>
using ReentrantLookup = int (*)(const char*, Entry*, char*, size_t, Entry**);

template <typename Id>
struct Found {
    std::optional<Id> id;  ///< empty: no such name, or the lookup failed (error != 0)
    int error = 0;
};

// getpwnam_r() and getgrnam_r() want a buffer of a size nobody states exactly: start from what
// sysconf() suggests and double it on ERANGE (a group with many members can outgrow the hint).
// `project` takes what we need out of the entry before the buffer it points into goes away.
template <typename Entry, typename Project>
auto look_up(ReentrantLookup<Entry> lookup, int size_hint_name, const std::string& name, Project project)
    -> Found<decltype(project(std::declval<const Entry&>()))> {
    long hint = sysconf(size_hint_name);
    std::vector<char> buffer(hint > 0 ? static_cast<size_t>(hint) : 1024);
    for (;;) {
        Entry entry{};
        Entry* result = nullptr;
        int error = lookup(name.c_str(), &entry, buffer.data(), buffer.size(), &result);
        if (error == ERANGE && buffer.size() < kMaxEntryBuffer) {
            buffer.resize(buffer.size() * 2);
            continue;
        }
        if (result != nullptr) {
            return {project(*result), 0};
        }
        // POSIX allows these for "no such name" instead of a plain null result.
        bool not_found = error == 0 || error == ENOENT || error == ESRCH || error == EBADF || error == EPERM;
        return {std::nullopt, not_found ? 0 : error};
    }
}

std::vector<std::string> split_words(std::string_view text) {
    std::vector<std::string> words;
    size_t i = 0;
    while (i < text.size()) {
        size_t start = text.find_first_not_of(" \t", i);
        if (start == std::string_view::npos) {
            break;
        }
        size_t end = std::min(text.find_first_of(" \t", start), text.size());
        words.emplace_back(text.substr(start, end - start));
        i = end;
    }
    return words;
}

// The id `found` holds, or a ConfigError that says why there is none.
template <typename Id>
Id id_or_fail(const GroupReader& top, const Found<Id>& found, std::string_view kind, const std::string& name) {
    if (found.error != 0) {
        top.fail("user", fmt::format("cannot look up {} '{}': {}", kind, name,
                                     std::generic_category().message(found.error)));
    }
    if (!found.id) {
        top.fail("user", fmt::format("unknown {} '{}'", kind, name));
    }
    return *found.id;
}

}  // namespace

void read_user(const GroupReader& top, Config& config) {
    std::string text = top.string("user", kDefaults.user);
    if (text.empty()) {
        return;  // keep the user portico was started as
    }
    std::vector<std::string> words = split_words(text);
    if (words.empty() || words.size() > 2) {
        top.fail("user", fmt::format("expected a user name, or a user and a group, e.g. \"www-data\" or "
                                     "\"www-data www-data\" (got '{}')",
                                     text));
    }
    auto ids = look_up<passwd>(getpwnam_r, _SC_GETPW_R_SIZE_MAX, words[0], [](const passwd& pw) {
        return std::pair{pw.pw_uid, pw.pw_gid};
    });
    auto [uid, primary_gid] = id_or_fail(top, ids, "user", words[0]);
    config.user = words[0];
    config.user_uid = uid;
    config.user_gid = primary_gid;
    if (words.size() == 2) {
        auto gid = look_up<group>(getgrnam_r, _SC_GETGR_R_SIZE_MAX, words[1],
                                  [](const group& gr) { return gr.gr_gid; });
        config.user_gid = id_or_fail(top, gid, "group", words[1]);
    }
}

}  // namespace portico::conf::detail
