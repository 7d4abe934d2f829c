#include "http/content/listing.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"

namespace portico::http::content {
namespace {

// One getdents64 call's worth of records: at least 1,300 short names.
constexpr size_t kDentsBuffer = 32 * 1024;
// nginx pads names to this many characters, so the dates line up.
constexpr size_t kNameColumn = 50;
constexpr uint64_t kDirectoryBit = uint64_t{1} << 63;

struct LinuxDirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[1];
};

// Directories first (their bit is clear, so they sort low), then the first 7 name bytes big-endian:
// comparing keys orders like strcmp as far as those bytes go.
uint64_t sort_key(std::string_view name, bool dir) noexcept {
    uint64_t key = dir ? 0 : kDirectoryBit;
    for (size_t i = 0; i < 7; ++i) {
        uint64_t byte = i < name.size() ? static_cast<unsigned char>(name[i]) : 0;
        key |= byte << (48 - 8 * i);
    }
    return key;
}

// RFC 3986 unreserved: everything else in a name is escaped, so the href is a relative path of
// one segment whatever the name holds ('?', '#', '%', ':', non-ASCII bytes), and decoding it
// gives back the exact bytes.
constexpr std::array<bool, 256> kUnreserved = [] {
    std::array<bool, 256> t{};
    for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    for (unsigned char c : std::string_view("-._~")) t[c] = true;
    return t;
}();

void percent_encode(std::string& out, std::string_view s) {
    constexpr char kHex[] = "0123456789ABCDEF";
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (kUnreserved[u]) {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 0xf]);
        }
    }
}

void html_escape(std::string& out, std::string_view s) {
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out.push_back(c);
        }
    }
}

// Length of the well-formed UTF-8 sequence at s[i], or 0 (RFC 3629: no overlongs, no surrogates).
size_t utf8_sequence(std::string_view s, size_t i) noexcept {
    auto at = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
    unsigned lead = at(0);
    if (lead < 0x80) return 1;
    size_t n = lead >= 0xc2 && lead <= 0xdf   ? 2
               : lead >= 0xe0 && lead <= 0xef ? 3
               : lead >= 0xf0 && lead <= 0xf4 ? 4
                                              : 0;
    if (n == 0) return 0;
    unsigned lo = lead == 0xe0 ? 0xa0 : lead == 0xf0 ? 0x90 : 0x80;
    unsigned hi = lead == 0xed ? 0x9f : lead == 0xf4 ? 0x8f : 0xbf;
    if (at(1) < lo || at(1) > hi) return 0;
    for (size_t k = 2; k < n; ++k)
        if (at(k) < 0x80 || at(k) > 0xbf) return 0;
    return n;
}

// JSON strings must be Unicode: well-formed UTF-8 passes as it is, controls are escaped, and a
// byte that is not UTF-8 (a name from another charset) becomes U+FFFD, so the document stays
// parseable. Such a name is then not exact in JSON; the HTML href keeps its bytes.
void json_escape(std::string& out, std::string_view s) {
    constexpr char kHex[] = "0123456789abcdef";
    for (size_t i = 0; i < s.size();) {
        auto u = static_cast<unsigned char>(s[i]);
        size_t n = utf8_sequence(s, i);
        if (n == 0) {
            out += "\\ufffd";
            ++i;
            continue;
        }
        if (u == '"' || u == '\\') {
            out.push_back('\\');
            out.push_back(static_cast<char>(u));
        } else if (u < 0x20) {
            switch (u) {
                case '\b':
                    out += "\\b";
                    break;
                case '\f':
                    out += "\\f";
                    break;
                case '\n':
                    out += "\\n";
                    break;
                case '\r':
                    out += "\\r";
                    break;
                case '\t':
                    out += "\\t";
                    break;
                default:
                    out += "\\u00";
                    out.push_back(kHex[u >> 4]);
                    out.push_back(kHex[u & 0xf]);
            }
        } else {
            out.append(s.substr(i, n));
        }
        i += n;
    }
}

// Characters as a browser shows them (continuation bytes do not count), for the padding.
size_t display_width(std::string_view s) noexcept {
    return static_cast<size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

// "02-Dec-2026 07:50", in UTC like nginx's default (autoindex_localtime off).
void append_listing_time(std::string& out, time_t t) {
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    tm parts{};
    gmtime_r(&t, &parts);
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%02d-%s-%d %02d:%02d", parts.tm_mday, kMonths[parts.tm_mon % 12],
                          parts.tm_year + 1900, parts.tm_hour, parts.tm_min);
    out.append(buf, static_cast<size_t>(std::max(n, 0)));
}

}  // namespace

DirectoryListing::DirectoryListing(core::UniqueFd dir, Options options)
    : dir_(std::move(dir)), opt_(std::move(options)) {}

// A symlink is listed as what it points to, and only if that is beneath the root: a dangling
// link, a loop, or a link out of the root would answer 404 or 403 when clicked, and its size
// and time would tell about a file outside the root. O_PATH needs no permission on the target.
bool DirectoryListing::resolves_inside(const char* name, bool& is_dir) const noexcept {
    int fd = ::openat(dir_.get(), name, O_PATH | O_CLOEXEC);
    if (fd < 0) return false;
    core::UniqueFd target(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) return false;
    is_dir = S_ISDIR(st.st_mode);
    if (opt_.real_root.empty() || opt_.real_root == "/") return true;
    char link[64], where[PATH_MAX];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = ::readlink(link, where, sizeof where);
    if (n <= 0 || static_cast<size_t>(n) >= sizeof where) return false;
    std::string_view real(where, static_cast<size_t>(n));
    const std::string& root = opt_.real_root;
    return real.starts_with(root) && (real.size() == root.size() || real[root.size()] == '/');
}

// Whether the entry sorts with the directories; `keep` false drops it (see resolves_inside).
bool DirectoryListing::is_directory(const char* name, unsigned char d_type, bool& keep) const noexcept {
    keep = true;
    if (d_type == DT_DIR) return true;
    if (d_type != DT_LNK && d_type != DT_UNKNOWN) return false;
    struct stat st {};
    if (d_type == DT_UNKNOWN) {  // some filesystems do not say: ask
        if (::fstatat(dir_.get(), name, &st, AT_SYMLINK_NOFOLLOW) != 0) return keep = false;
        if (!S_ISLNK(st.st_mode)) return S_ISDIR(st.st_mode);
    }
    bool dir = false;
    keep = resolves_inside(name, dir);
    return dir;
}

bool DirectoryListing::add_name(const char* name, unsigned char d_type) noexcept {
    if (name[0] == '.') return true;  // ".", "..", and dotfiles, as nginx
    bool keep = true;
    bool dir = is_directory(name, d_type, keep);
    if (!keep) return true;
    if (entries_.size() >= opt_.max_entries) return false;
    std::string_view n(name);
    entries_.push_back(
        {sort_key(n, dir), static_cast<uint32_t>(names_.size()), static_cast<uint32_t>(n.size())});
    names_.append(n).push_back('\0');
    return true;
}

DirectoryListing::Step DirectoryListing::collect() noexcept {
    if (step_ != Step::kMore) return step_;
    try {
        if (dents_.empty()) dents_.resize(kDentsBuffer);
        for (size_t seen = 0; seen < opt_.names_per_step; ++seen) {
            if (dents_at_ == dents_len_ && !read_dents()) return step_;
            const auto* d = reinterpret_cast<const LinuxDirent64*>(dents_.data() + dents_at_);
            dents_at_ += d->d_reclen;
            if (!add_name(d->d_name, d->d_type)) {
                spdlog::warn("directory listing of \"{}\" refused: more than {} entries", opt_.uri_path,
                             opt_.max_entries);
                return step_ = Step::kRefused;
            }
        }
    } catch (const std::bad_alloc&) {
        spdlog::error("directory listing of \"{}\" failed: out of memory after {} entries", opt_.uri_path,
                      entries_.size());
        return step_ = Step::kFailed;
    }
    try {
        close_run();
    } catch (const std::bad_alloc&) {
        return step_ = Step::kFailed;
    }
    return Step::kMore;
}

// Refills the getdents64 buffer. False at the end (then sorted: kDone) or on an error (kFailed).
bool DirectoryListing::read_dents() {
    long n;
    do n = ::syscall(SYS_getdents64, dir_.get(), dents_.data(), dents_.size());
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        spdlog::error("getdents64() failed for the listing of \"{}\": {}", opt_.uri_path,
                      std::strerror(errno));
        step_ = Step::kFailed;
        return false;
    }
    dents_at_ = 0;
    dents_len_ = static_cast<size_t>(n);
    if (n > 0) return true;
    finish_collect();
    step_ = Step::kDone;
    return false;
}

bool DirectoryListing::before(const Entry& a, const Entry& b) const noexcept {
    if (a.key != b.key) return a.key < b.key;
    return std::strcmp(names_.data() + a.name_at, names_.data() + b.name_at) < 0;
}

// The order is made in bounded pieces too: each step sorts the names it read (a run of at most
// names_per_step), and the runs are merged one entry at a time as the entries are formatted.
// One sort of all 50,000 names at the end would hold the loop for about 10 ms.
void DirectoryListing::close_run() {
    if (sorted_ == entries_.size()) return;
    std::sort(entries_.begin() + static_cast<std::ptrdiff_t>(sorted_), entries_.end(),
              [this](const Entry& a, const Entry& b) { return before(a, b); });
    runs_.push_back({static_cast<uint32_t>(sorted_), static_cast<uint32_t>(entries_.size())});
    sorted_ = entries_.size();
}

// runs_ as a heap with the run whose next entry comes first at the front.
bool DirectoryListing::later(const Run& a, const Run& b) const noexcept {
    return before(entries_[b.next], entries_[a.next]);
}

void DirectoryListing::finish_collect() {
    std::vector<char>().swap(dents_);
    close_run();
    std::make_heap(runs_.begin(), runs_.end(), [this](const Run& a, const Run& b) { return later(a, b); });
    phase_ = Phase::kHeader;
}

const DirectoryListing::Entry& DirectoryListing::next_entry() noexcept {
    auto cmp = [this](const Run& a, const Run& b) { return later(a, b); };
    std::pop_heap(runs_.begin(), runs_.end(), cmp);
    Run& r = runs_.back();
    const Entry& e = entries_[r.next++];
    if (r.next == r.end)
        runs_.pop_back();
    else
        std::push_heap(runs_.begin(), runs_.end(), cmp);
    return e;
}

bool DirectoryListing::head(Context& ctx, HeaderWriter& hw, uint16_t& status, uint64_t& length) noexcept {
    (void)ctx;
    return write_head(hw, status, length);
}

bool DirectoryListing::write_head(HeaderWriter& hw, uint16_t& status, uint64_t& length) noexcept {
    Step s = collect();
    if (s == Step::kMore) return false;
    std::string_view date = opt_.date ? opt_.date->server_and_date_lines() : std::string_view();
    if (s != Step::kDone) {
        phase_ = Phase::kRefused;
        status = 500;
        length = opt_.refused_page.size();
        hw.add("HTTP/1.1 500 Internal Server Error\r\n").add(date);
        hw.add("Content-Type: text/html\r\nContent-Length: ").add_uint(length).add("\r\n");
        return true;
    }
    status = 200;
    length = kUnknownLength;
    hw.add("HTTP/1.1 200 OK\r\n").add(date);
    // No validators and no caching headers, as nginx: the listing changes with the directory.
    hw.add(opt_.format == Format::kJson ? "Content-Type: application/json\r\n"
                                        : "Content-Type: text/html; charset=utf-8\r\n");
    return true;
}

BodyStream::Chunk DirectoryListing::read(Context& ctx, char* out, size_t cap) noexcept {
    (void)ctx;
    if (phase_ == Phase::kRefused) return produce(out, cap);
    Step s = collect();
    if (s == Step::kMore) return {0, Status::kData};   // counted against the turn by the connection
    if (s != Step::kDone) return {0, Status::kError};  // no head to say so: break the body off
    return produce(out, cap);
}

size_t DirectoryListing::drain(char* out, size_t cap) noexcept {
    size_t n = std::min(cap, pending_.size() - pending_at_);
    std::memcpy(out, pending_.data() + pending_at_, n);
    pending_at_ += n;
    if (pending_at_ == pending_.size()) {
        pending_.clear();
        pending_at_ = 0;
    }
    return n;
}

BodyStream::Chunk DirectoryListing::produce(char* out, size_t cap) noexcept {
    if (phase_ == Phase::kRefused) {
        size_t n = std::min(cap, opt_.refused_page.size() - page_at_);
        std::memcpy(out, opt_.refused_page.data() + page_at_, n);
        page_at_ += n;
        return {n, page_at_ == opt_.refused_page.size() ? Status::kEnd : Status::kData};
    }
    size_t n = drain(out, cap), formatted = 0;
    try {
        while (n < cap && pending_.empty() && phase_ != Phase::kTail) {
            if (phase_ == Phase::kHeader) {
                queue_header();
                phase_ = Phase::kEntries;
            } else if (!runs_.empty()) {
                if (formatted++ == opt_.entries_per_read) break;  // the rest on the next call
                queue_entry(next_entry());
            } else {
                queue_tail();
                phase_ = Phase::kTail;
            }
            n += drain(out + n, cap - n);
        }
    } catch (const std::bad_alloc&) {
        return {n, Status::kError};
    }
    bool done = phase_ == Phase::kTail && pending_.empty();
    return {n, done ? Status::kEnd : Status::kData};
}

void DirectoryListing::queue_header() {
    if (opt_.format == Format::kJson) {
        pending_ += '[';
        return;
    }
    pending_ += "<html>\r\n<head><title>Index of ";
    html_escape(pending_, opt_.uri_path);
    pending_ += "</title></head>\r\n<body>\r\n<h1>Index of ";
    html_escape(pending_, opt_.uri_path);
    pending_ += "</h1><hr><pre><a href=\"../\">../</a>\r\n";
}

void DirectoryListing::queue_entry(const Entry& e) {
    const char* name = names_.data() + e.name_at;
    struct stat st {};
    if (::fstatat(dir_.get(), name, &st, 0) != 0) return;  // gone since it was read: left out
    std::string_view n(name, e.name_len);
    if (opt_.format == Format::kJson)
        queue_json_entry(n, st);
    else
        queue_html_entry(n, (e.key & kDirectoryBit) == 0, st);
}

// <a href="a%20b.txt">a b.txt</a>{spaces to column 50} 02-Dec-2026 07:50 {size in 19 columns}
void DirectoryListing::queue_html_entry(std::string_view name, bool dir, const struct stat& st) {
    pending_ += "<a href=\"";
    percent_encode(pending_, name);
    if (dir) pending_ += '/';
    pending_ += "\">";
    html_escape(pending_, name);
    if (dir) pending_ += '/';
    pending_ += "</a>";
    size_t width = display_width(name) + (dir ? 1 : 0);
    if (width < kNameColumn) pending_.append(kNameColumn - width, ' ');
    pending_ += ' ';
    append_listing_time(pending_, st.st_mtime);
    char size[32];
    if (dir)
        std::snprintf(size, sizeof size, " %19s", "-");
    else
        std::snprintf(size, sizeof size, " %19lld", static_cast<long long>(st.st_size));
    pending_ += size;
    pending_ += "\r\n";
}

// { "name":"x", "type":"file", "mtime":"Wed, 02 Dec 2026 07:50:00 GMT", "size":123 }, exactly
// nginx's fields and spacing; "size" only for regular files.
void DirectoryListing::queue_json_entry(std::string_view name, const struct stat& st) {
    if (listed_++ > 0) pending_ += ',';
    pending_ += "\r\n{ \"name\":\"";
    json_escape(pending_, name);
    const char* type = S_ISDIR(st.st_mode) ? "directory" : S_ISREG(st.st_mode) ? "file" : "other";
    pending_ += "\", \"type\":\"";
    pending_ += type;
    char date[30];
    pending_ += "\", \"mtime\":\"";
    pending_ += core::format_http_date(st.st_mtime, date);
    pending_ += '"';
    if (S_ISREG(st.st_mode)) {
        pending_ += ", \"size\":";
        pending_ += std::to_string(st.st_size);
    }
    pending_ += " }";
}

void DirectoryListing::queue_tail() {
    pending_ += opt_.format == Format::kJson ? std::string_view("\r\n]") : "</pre><hr></body>\r\n</html>\r\n";
}

}  // namespace portico::http::content
