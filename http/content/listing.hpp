#pragma once
// A directory listing (autoindex) as a streamed response body, in nginx's HTML look or in the
// JSON of nginx's `autoindex_format json`.
//
// The work is cut into bounded steps so that a directory of 50,000 entries never holds the
// worker's loop for more than a few milliseconds at a time:
//
//   collect   head() calls, one step each: getdents64 reads up to names_per_step names into
//             one string (dotfiles skipped; symlinks resolved, dangling ones and those that
//             lead outside the root dropped), and sorts them as one run. Past max_entries
//             the listing is refused: a 500 and a log line.
//   produce   read() calls: each takes the next entries from a merge of the runs, stats them
//             (fstatat, following symlinks) and formats at most entries_per_read of them, as
//             many as fit in the connection's buffer.
//
// The order is nginx's: directories first, then files, each group by name in byte order
// (strcmp; not a locale's collation). Sorting in runs and merging as it goes keeps every step
// short: one sort of 50,000 names would hold the loop for about 10 ms.
//
// The head waits for the names (Reply::head_from_stream) so that a refused or unreadable
// directory can still be answered with a 500 rather than a 200 that breaks off.
//
// Memory is O(entries), as nginx's: each name once (with its NUL) plus 16 bytes, so a
// directory at the cap of 1,000,000 entries of 20-byte names takes about 37 MiB (and a run
// record per 4,096 names) while it is listed. Sizes and times are read when an entry is formatted, not when
// it is collected; an entry removed in between is left out.

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/fd.hpp"
#include "http/body_stream.hpp"

namespace portico::core {
class DateCache;
}

namespace portico::http::content {

class DirectoryListing final : public BodyStream {
public:
    enum class Format : uint8_t { kHtml, kJson };
    /// Entries beyond this refuse the listing (a 500), so one request cannot take unbounded memory.
    static constexpr size_t kMaxEntries = 1'000'000;

    struct Options {
        Format format = Format::kHtml;
        std::string uri_path;                   ///< the directory as requested, decoded: "/docs/" (the title)
        std::string real_root;                  ///< the root's real path: a symlink must resolve beneath it
        std::string_view refused_page;          ///< the 500's body (static storage)
        const core::DateCache* date = nullptr;  ///< the worker's clock (outlives the stream); null in tests
        size_t max_entries = kMaxEntries;
        size_t names_per_step = 4096;   ///< names read per collecting step (about a millisecond)
        size_t entries_per_read = 128;  ///< entries stat'ed and formatted per read() at most
    };

    enum class Step : uint8_t {
        kMore,     ///< names are still being read
        kDone,     ///< all read and sorted: produce() may run
        kRefused,  ///< more than max_entries (logged)
        kFailed,   ///< getdents64 failed (logged)
    };

    /// Takes `dir`, opened beneath the root with O_RDONLY|O_DIRECTORY.
    DirectoryListing(core::UniqueFd dir, Options options);

    /// One collecting step per call (false while names are still read); then the 200 head with
    /// its Content-Type and no length (chunked), or a 500 with its page.
    bool head(Context& ctx, HeaderWriter& hw, uint16_t& status, uint64_t& length) noexcept override;
    [[nodiscard]] bool head_in_steps() const noexcept override { return true; }
    /// The body: the listing (after collecting; a call made before collects one step and gives
    /// 0 bytes), or the 500's page.
    Chunk read(Context& ctx, char* out, size_t cap) noexcept override;

    /// head() without the Context it does not need (for tests).
    bool write_head(HeaderWriter& hw, uint16_t& status, uint64_t& length) noexcept;
    /// Reads one step of names; see Step. Idempotent once it returned anything but kMore.
    Step collect() noexcept;
    /// Up to `cap` bytes of the listing, once collect() said kDone; kEnd with the last bytes.
    Chunk produce(char* out, size_t cap) noexcept;
    /// Entries collected (after the dotfiles and dropped symlinks).
    [[nodiscard]] size_t entries() const noexcept { return entries_.size(); }

private:
    struct Entry {
        uint64_t key;      ///< directory bit, then the name's first 7 bytes: most compares end here
        uint32_t name_at;  ///< offset in names_ of the NUL-terminated name
        uint32_t name_len;
    };
    struct Run {  ///< entries_[next, end) are sorted
        uint32_t next;
        uint32_t end;
    };
    enum class Phase : uint8_t { kCollect, kHeader, kEntries, kTail, kRefused };

    bool add_name(const char* name, unsigned char d_type) noexcept;
    bool is_directory(const char* name, unsigned char d_type, bool& keep) const noexcept;
    bool resolves_inside(const char* name, bool& is_dir) const noexcept;
    bool read_dents();
    bool before(const Entry& a, const Entry& b) const noexcept;
    bool later(const Run& a, const Run& b) const noexcept;
    void close_run();
    void finish_collect();
    const Entry& next_entry() noexcept;
    void queue_header();
    void queue_entry(const Entry& e);
    void queue_html_entry(std::string_view name, bool dir, const struct stat& st);
    void queue_json_entry(std::string_view name, const struct stat& st);
    void queue_tail();
    size_t drain(char* out, size_t cap) noexcept;

    core::UniqueFd dir_;
    Options opt_;
    Phase phase_ = Phase::kCollect;
    Step step_ = Step::kMore;
    std::string names_;
    std::vector<Entry> entries_;
    std::vector<char> dents_;  // getdents64 buffer, only while collecting
    size_t dents_at_ = 0;      // the next record in it
    size_t dents_len_ = 0;     // the bytes it holds
    std::vector<Run> runs_;    // sorted runs, one per step; a heap once collecting is done
    size_t sorted_ = 0;        // entries_[0, sorted_) are in runs
    size_t listed_ = 0;        // entries formatted (JSON separates them with commas)
    std::string pending_;      // formatted bytes that did not fit yet
    size_t pending_at_ = 0;
    size_t page_at_ = 0;  // bytes of the refused page sent
};

}  // namespace portico::http::content
