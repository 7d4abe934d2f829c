// The file cache's bookkeeping: which entries hold descriptors, the budget of open descriptors,
// least-recently-used eviction, giving descriptors back on EMFILE, and never caching a failure.
// Real files in a temporary directory; RLIMIT_NOFILE is lowered (and restored) where a test
// needs EMFILE.

#include "http/file_cache.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/fd.hpp"
#include "http/mime.hpp"

namespace {

using portico::http::BeneathOpener;
using portico::http::CachedFile;
using portico::http::FileCache;
using portico::http::MimeTypes;
using Kind = CachedFile::Kind;

constexpr size_t kSmall = 100;        // held in memory
constexpr size_t kLarge = 20 * 1024;  // served by sendfile: keeps a descriptor

/// "s3", "l12": built by append, which spares GCC 12 a false -Wrestrict on operator+.
std::string file_name(char kind, int i) {
    std::string name(1, kind);
    return name.append(std::to_string(i));
}

/// A document root with files "s0".."sN" (small) and "l0".."lN" (large), removed at the end.
struct Root {
    explicit Root(int files) {
        char tmpl[] = "/tmp/portico-file-cache-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
        for (int i = 0; i < files; ++i) {
            write(file_name('s', i), std::string(kSmall, 's'));
            write(file_name('l', i), std::string(kLarge, 'l'));
        }
        fd.reset(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        REQUIRE(fd.valid());
        char real[PATH_MAX];
        REQUIRE(::realpath(path.c_str(), real) != nullptr);
        real_path = real;
    }
    ~Root() { std::system(("rm -rf '" + path + "'").c_str()); }

    void write(const std::string& name, const std::string& bytes) const {
        portico::core::UniqueFd f(::open((path + "/" + name).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
        REQUIRE(f.valid());
        REQUIRE(::write(f.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    }

    CachedFile* get(FileCache& cache, const std::string& name, uint64_t now = 0) const {
        return cache.lookup(fd.get(), real_path, std::string("/").append(name), now);
    }

    std::string path, real_path;
    portico::core::UniqueFd fd;
};

const MimeTypes& mime() {
    static MimeTypes m("/dev/null", "text/plain");  // the built-in types are enough here
    return m;
}

/// Descriptors this process has open.
size_t open_fds() {
    size_t n = 0;
    DIR* d = ::opendir("/proc/self/fd");
    REQUIRE(d != nullptr);
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
    return n - 1;  // the DIR's own
}

FileCache::Limits limits(size_t max_entries, size_t max_open) {
    FileCache::Limits l;
    l.max_entries = max_entries;
    l.max_open = max_open;
    l.small_file = 1024;
    l.validity_ms = 1000;
    return l;
}

/// Leaves exactly `headroom` descriptors free: lowers RLIMIT_NOFILE's soft limit just above the
/// highest open descriptor, then fills every lower hole (an inherited descriptor far up would
/// otherwise leave hundreds free). Restores the limit at the end.
struct TightLimit {
    explicit TightLimit(size_t headroom) {
        REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
        rlimit tight = saved;
        tight.rlim_cur = highest_fd() + 1 + headroom;
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
        take_all();
        for (size_t i = 0; i < headroom && !hog.empty(); ++i) hog.pop_back();
    }
    ~TightLimit() {
        hog.clear();
        ::setrlimit(RLIMIT_NOFILE, &saved);
    }
    /// Takes every free descriptor (what the cache gave back, say).
    void take_all() {
        for (;;) {
            portico::core::UniqueFd fd(::open("/", O_PATH | O_CLOEXEC));
            if (!fd.valid()) break;
            hog.push_back(std::move(fd));
        }
    }
    static rlim_t highest_fd() {
        rlim_t high = 0;
        for (int fd = 0; fd < 65536; ++fd)
            if (::fcntl(fd, F_GETFD) >= 0) high = static_cast<rlim_t>(fd);
        return high;
    }
    rlimit saved{};
    std::vector<portico::core::UniqueFd> hog;
};

// libstdc++'s std::hash for strings (MurmurHash2's 64-bit form, fixed seed) folds each 8-byte word
// w of a key as h = (h ^ mix(w)) * m, where mix(w) = shift_mix(w * m) * m is a bijection. Flip the
// top bit of mix() in two consecutive words and h comes out the same whatever came before:
// x ^ 2^63 is x + 2^63, and (x + 2^63) * m is x * m + 2^63 for an odd m. `bits` such pairs, each
// taken as it is or flipped, give 2^bits names of one hash. tools/hash-flood does the same over HTTP.
constexpr uint64_t kMurmurMul = (uint64_t{0xc6a4a793} << 32) + 0x5bd1e995;

uint64_t shift_mix(uint64_t v) { return v ^ (v >> 47); }

/// The word w with mix(w) == mixed.
uint64_t word_for(uint64_t mixed) {
    uint64_t inv = kMurmurMul;  // Newton's iteration: each step doubles the correct low bits
    for (int i = 0; i < 6; ++i) inv *= 2 - kMurmurMul * inv;
    return shift_mix(mixed * inv) * inv;
}

/// Appends the word for `mixed` if it can stand in a file name (no NUL, no '/').
bool append_word(std::string& out, uint64_t mixed) {
    const uint64_t w = word_for(mixed);
    for (int i = 0; i < 8; ++i) {
        const char c = static_cast<char>(w >> (8 * i));
        if (c == '\0' || c == '/') return false;
    }
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(w >> (8 * i)));
    return true;
}

/// 2^bits names whose keys (`prefix_len` bytes of root, NUL and '/' before the name) collide.
std::vector<std::string> colliding_names(size_t prefix_len, int bits) {
    constexpr uint64_t kTop = uint64_t{1} << 63;
    std::mt19937_64 rng(7);
    std::vector<std::pair<uint64_t, uint64_t>> pairs;
    while (pairs.size() < static_cast<size_t>(bits)) {
        const uint64_t a = rng(), b = rng();
        std::string probe;
        if (append_word(probe, a) && append_word(probe, b) && append_word(probe, a ^ kTop) &&
            append_word(probe, b ^ kTop))
            pairs.emplace_back(a, b);
    }
    std::vector<std::string> names;
    for (uint32_t choice = 0; choice < (1u << bits); ++choice) {
        std::string name((8 - prefix_len % 8) % 8, 'p');  // the first pair starts on a word of the key
        for (size_t j = 0; j < pairs.size(); ++j) {
            const uint64_t flip = (choice >> j & 1) ? kTop : 0;
            append_word(name, pairs[j].first ^ flip);
            append_word(name, pairs[j].second ^ flip);
        }
        names.push_back(std::move(name));
    }
    return names;
}

}  // namespace

TEST_CASE("a small file in memory keeps no descriptor; a large one does", "[file_cache]") {
    Root root(1);
    FileCache cache(mime(), limits(16, 16));
    size_t before = open_fds();
    CachedFile* s = root.get(cache, "s0");
    REQUIRE(s->kind == Kind::kFile);
    CHECK(s->has_body);
    CHECK(s->fd == -1);
    CHECK(s->body == std::string(kSmall, 's'));
    CHECK(open_fds() == before);
    CHECK(cache.open_descriptors() == 0);

    CachedFile* l = root.get(cache, "l0");
    REQUIRE(l->kind == Kind::kFile);
    CHECK_FALSE(l->has_body);
    CHECK(l->fd >= 0);
    CHECK(open_fds() == before + 1);
    CHECK(cache.open_descriptors() == 1);
    CHECK(cache.size() == 2);
}

TEST_CASE("a small file in memory is still revalidated against the disk", "[file_cache]") {
    Root root(1);
    FileCache cache(mime(), limits(16, 16));
    CHECK(root.get(cache, "s0", 0)->body == std::string(kSmall, 's'));
    root.write("s0", std::string(kSmall + 1, 'n'));                      // another size: another file
    CHECK(root.get(cache, "s0", 10)->body == std::string(kSmall, 's'));  // still trusted
    CachedFile* f = root.get(cache, "s0", 2000);
    CHECK(f->body == std::string(kSmall + 1, 'n'));
    CHECK(cache.size() == 1);
}

TEST_CASE("open descriptors stay within the budget, least recently used closed first", "[file_cache]") {
    Root root(10);
    FileCache cache(mime(), limits(100, 4));
    size_t before = open_fds();
    for (int i = 0; i < 4; ++i) root.get(cache, file_name('l', i));
    CHECK(cache.open_descriptors() == 4);
    root.get(cache, "l0");  // l1 is now the least recently used
    root.get(cache, "l4");
    CHECK(cache.open_descriptors() == 4);
    CHECK(open_fds() == before + 4);
    CHECK(cache.size() == 4);
    // l0 survived, l1 went.
    CHECK(root.get(cache, "l0")->validated_ms == 0);
    CHECK(root.get(cache, "l1", 5)->validated_ms == 5);
    for (int i = 5; i < 10; ++i) root.get(cache, file_name('l', i));
    CHECK(cache.open_descriptors() == 4);
    CHECK(open_fds() == before + 4);
    // Small files cost no descriptor, so they do not push large ones out.
    for (int i = 0; i < 10; ++i) root.get(cache, file_name('s', i));
    CHECK(cache.open_descriptors() == 4);
    CHECK(cache.size() == 14);
}

TEST_CASE("missing paths chosen to collide under std::hash spread over the cache's buckets", "[file_cache]") {
    Root root(0);
    const std::vector<std::string> names = colliding_names(root.real_path.size() + 2, 8);
    // The attack is real: under std::hash these 256 keys are one value (if libstdc++ changes its
    // string hash, this construction must follow it).
    std::unordered_set<size_t> std_hashes;
    for (const std::string& n : names) {
        std::string key = root.real_path;
        key.push_back('\0');
        std_hashes.insert(std::hash<std::string_view>{}(key.append("/").append(n)));
    }
    REQUIRE(std_hashes.size() == 1);
    REQUIRE(std::unordered_set<std::string>(names.begin(), names.end()).size() == names.size());

    FileCache cache(mime(), limits(4096, 16));
    for (const std::string& n : names) CHECK(root.get(cache, n)->kind == Kind::kMissing);
    REQUIRE(cache.size() == names.size());
    // A keyed hash puts 256 keys in ~4096 buckets a few to a bucket; std::hash put all in one.
    CHECK(cache.longest_chain() <= 8);
}

TEST_CASE("past max entries the least recently used entry goes, not everything", "[file_cache]") {
    Root root(8);
    FileCache cache(mime(), limits(4, 4));
    for (int i = 0; i < 4; ++i) root.get(cache, file_name('s', i), 0);
    root.get(cache, "s0", 1);  // used: s1 is now the one to go
    root.get(cache, "s4", 2);
    CHECK(cache.size() == 4);
    CHECK(root.get(cache, "s0", 3)->validated_ms == 0);  // still the entry loaded at 0
    CHECK(root.get(cache, "s2", 3)->validated_ms == 0);
    CHECK(root.get(cache, "s1", 3)->validated_ms == 3);  // gone, and loaded again
    CHECK(cache.size() == 4);
}

TEST_CASE("past the memory cap, small files make room for small files, not descriptors", "[file_cache]") {
    Root root(8);
    FileCache::Limits l = limits(100, 100);
    l.max_memory = 3 * kSmall;
    FileCache cache(mime(), l);
    for (int i = 0; i < 8; ++i) {
        INFO("file s" << i);
        CachedFile* f = root.get(cache, file_name('s', i));
        CHECK(f->has_body);
        CHECK(cache.memory() <= 3 * kSmall);
    }
    CHECK(cache.open_descriptors() == 0);
    CHECK(cache.size() == 3);
    // One that keeps being used stays while others come and go.
    uint64_t now = 1;
    CHECK(root.get(cache, "s7", now)->validated_ms == 0);
    for (int i = 0; i < 5; ++i, ++now) {
        CHECK(root.get(cache, file_name('s', i), now)->has_body);
        CHECK(root.get(cache, "s7", now)->validated_ms == 0);
    }
    CHECK(cache.memory() <= 3 * kSmall);
    CHECK(cache.open_descriptors() == 0);
}

TEST_CASE("an entry in use survives a scan of many distinct paths", "[file_cache]") {
    Root root(40);
    FileCache cache(mime(), limits(4, 4));
    root.get(cache, "s0", 0);
    for (int i = 1; i < 40; ++i) {
        root.get(cache, file_name('s', i), static_cast<uint64_t>(i));
        // Used again before it comes round: kept, so still the entry loaded at time 0 (an
        // address compare could be fooled by the allocator handing the same block back).
        CHECK(root.get(cache, "s0", static_cast<uint64_t>(i))->validated_ms == 0);
    }
    CHECK(cache.size() == 4);
}

TEST_CASE("an evicted entry being sent keeps its descriptor until released", "[file_cache]") {
    Root root(3);
    FileCache cache(mime(), limits(100, 1));
    size_t before = open_fds();
    CachedFile* l0 = root.get(cache, "l0");
    FileCache::ref(l0);
    root.get(cache, "l1");  // evicts l0 from the cache, but a response still reads it
    CHECK(cache.open_descriptors() == 1);
    CHECK(open_fds() == before + 2);
    CHECK(::fcntl(l0->fd, F_GETFD) >= 0);
    FileCache::release(l0);
    CHECK(open_fds() == before + 1);
}

TEST_CASE("release_descriptors closes unused cached descriptors, oldest first", "[file_cache]") {
    Root root(4);
    FileCache cache(mime(), limits(100, 10));
    size_t before = open_fds();
    for (int i = 0; i < 4; ++i) root.get(cache, file_name('l', i));
    CachedFile* l0 = root.get(cache, "l0");  // newest now; l1 is the oldest
    FileCache::ref(root.get(cache, "l1"));   // in use: must not be closed
    CachedFile* l1 = root.get(cache, "l1");
    root.get(cache, "s0");
    CHECK(cache.release_descriptors(2) == 2);  // l2 and l3
    CHECK(open_fds() == before + 2);
    CHECK(cache.release_descriptors(5) == 1);  // only l0 is left unused
    CHECK(cache.open_descriptors() == 1);
    CHECK(root.get(cache, "s0")->has_body);  // entries without descriptors stay
    FileCache::release(l1);
    (void)l0;
}

TEST_CASE("EMFILE evicts cached descriptors, and a failure is never cached", "[file_cache]") {
    Root root(40);
    FileCache cache(mime(), limits(1000, 1000));  // a budget the limit below cannot hold
    // Results are checked only once descriptors are free again: UBSan's vptr check, which a
    // CHECK may run, needs one (it probes memory through a pipe).
    int not_served = 0;
    Kind large = Kind::kFile, small = Kind::kFile;
    size_t cached = 1;
    {
        TightLimit tight(8);
        // Every large file is a 200 although only 8 descriptors are free: cached ones make room.
        for (int i = 0; i < 40; ++i) not_served += root.get(cache, file_name('l', i))->kind != Kind::kFile;
        // With every descriptor taken by something else, the open fails: an error, not cached.
        tight.take_all();
        while (cache.release_descriptors(100) > 0) {
        }
        tight.take_all();  // and what the cache just gave back
        large = root.get(cache, "l0")->kind;
        small = root.get(cache, "s1")->kind;
        cached = cache.size();
    }
    CHECK(not_served == 0);
    CHECK(large == Kind::kError);
    CHECK(small == Kind::kError);
    CHECK(cached == 0);
    // Descriptors again: the next lookups open the files.
    CHECK(root.get(cache, "l0")->kind == Kind::kFile);
    CHECK(root.get(cache, "s1")->kind == Kind::kFile);
}

TEST_CASE("max = 0 caches nothing but still serves", "[file_cache]") {
    Root root(2);
    FileCache cache(mime(), limits(0, 1));
    size_t before = open_fds();
    CachedFile* l0 = root.get(cache, "l0");
    CHECK(l0->kind == Kind::kFile);
    FileCache::ref(l0);
    CHECK(root.get(cache, "s0")->kind == Kind::kFile);
    CHECK(cache.size() == 0);
    CHECK(open_fds() == before + 1);  // l0, referenced
    FileCache::release(l0);
    CHECK(open_fds() == before);
    CHECK(root.get(cache, "missing")->kind == Kind::kMissing);
}

TEST_CASE("the descriptor budget is the limit less connections and reserve", "[file_cache]") {
    CHECK(FileCache::descriptor_budget(1024, 512, 32, 4096) == 480);
    CHECK(FileCache::descriptor_budget(20000, 10000, 40, 4096) == 4096);  // no more than entries
    // The connections do not fit: a quarter of what the reserve leaves.
    CHECK(FileCache::descriptor_budget(256, 10000, 32, 4096) == 56);
    CHECK(FileCache::descriptor_budget(1024, 10000, 32, 4096) == 248);
    CHECK(FileCache::descriptor_budget(16, 10000, 32, 4096) == 1);  // never 0
    CHECK(FileCache::descriptor_budget(1024, 0, 32, 0) == 1);
}

TEST_CASE("the openat fallback refuses symlinks out of the root", "[file_cache]") {
    Root root(1);
    REQUIRE(::symlink("/etc/passwd", (root.path + "/out").c_str()) == 0);
    REQUIRE(::symlink("s0", (root.path + "/in").c_str()) == 0);
    FileCache cache(mime(), limits(16, 16), BeneathOpener(BeneathOpener::Mode::kFallback));
    CHECK_FALSE(cache.uses_openat2());
    CHECK(root.get(cache, "out")->kind == Kind::kForbidden);
    CHECK(root.get(cache, "in")->kind == Kind::kFile);
    CHECK(root.get(cache, "s0")->kind == Kind::kFile);
}

TEST_CASE("a path is read as its view, not up to a NUL after it", "[file_cache]") {
    Root root(1);
    FileCache cache(mime(), limits(16, 16));
    // "/s0" followed by more bytes in the same buffer, as a try_files candidate expanded into a
    // larger scratch is: the lookup must open "s0", not "s0garbage".
    std::string buffer = "/s0garbage";
    std::string_view path(buffer.data(), 3);
    CachedFile* f = cache.lookup(root.fd.get(), root.real_path, path, 0);
    CHECK(f->kind == Kind::kFile);
    CHECK(f->size == kSmall);
    // Revalidation reads it the same way.
    CHECK(cache.lookup(root.fd.get(), root.real_path, path, 10'000)->kind == Kind::kFile);
}

TEST_CASE("the same file under two nested roots is two entries", "[file_cache]") {
    // "/R" + "/sub/up" and "/R/sub" + "/up" spell one path, but a symlink resolved beneath each
    // root may be inside one and outside the other.
    Root root(0);
    ::mkdir((root.path + "/sub").c_str(), 0755);
    root.write("target", "inside the outer root\n");
    REQUIRE(::symlink("../target", (root.path + "/sub/up").c_str()) == 0);
    portico::core::UniqueFd inner(::open((root.path + "/sub").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(inner.valid());
    FileCache cache(mime(), limits(16, 16));
    CHECK(cache.lookup(root.fd.get(), root.real_path, "/sub/up", 0)->kind == Kind::kFile);
    CHECK(cache.lookup(inner.get(), root.real_path + "/sub", "/up", 0)->kind == Kind::kForbidden);
    CHECK(cache.size() == 2);
}
