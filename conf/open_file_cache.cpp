// The `http.open_file_cache` group: how many entries each worker's file cache holds, how long
// an entry is trusted, and which files it keeps in memory (with no descriptor held open).

#include <libconfig.h++>

#include <array>
#include <limits>

#include "conf/defaults.hpp"
#include "conf/sections.hpp"

namespace portico::conf::detail {
namespace {

constexpr uint32_t kMaxEntries = 1'000'000;
// A body held in memory goes out in one writev with its header; past a pool buffer's worth
// sendfile is the better tool, so the threshold stays modest.
constexpr uint64_t kMaxInMemoryFile = 1u << 20;

const std::array<OtherGroup, 0> kNowhereElse{};

OpenFileCacheConfig read_group(const GroupReader& g) {
    g.reject_unknown(kOpenFileCacheKeys, kNowhereElse);
    OpenFileCacheConfig c;
    c.max = g.integer("max", kDefaults.open_file_cache_max, 0, kMaxEntries);
    c.valid = g.duration("valid", kDefaults.open_file_cache_valid);
    c.in_memory_max = g.size("in_memory_max", kDefaults.open_file_cache_in_memory_max, 0, kMaxInMemoryFile);
    c.memory = g.size("memory", kDefaults.open_file_cache_memory, 0, std::numeric_limits<uint64_t>::max());
    return c;
}

}  // namespace

OpenFileCacheConfig read_open_file_cache(const GroupReader& http) {
    const libconfig::Setting* group = http.find("open_file_cache");
    if (group == nullptr) {
        libconfig::Config empty;  // read an empty group rather than copy the defaults again
        return read_group(http.nested(empty.getRoot(), http.full_name("open_file_cache")));
    }
    if (!group->isGroup()) {
        http.fail("open_file_cache", "expected a group: open_file_cache = { max = 4096; valid = 1; };");
    }
    return read_group(http.nested(*group, http.full_name("open_file_cache")));
}

}  // namespace portico::conf::detail
