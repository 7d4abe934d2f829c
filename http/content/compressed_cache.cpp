#include "http/content/compressed_cache.hpp"

#include <functional>

#include "http/content/compress_buffer.hpp"

namespace portico::http::content {

FileVersion FileVersion::of(const struct stat& st) noexcept {
    return FileVersion{st.st_dev, st.st_ino, st.st_size,
                       static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

size_t CompressedCache::KeyHash::operator()(const Key& k) const noexcept {
    const size_t h = std::hash<uint64_t>{}(static_cast<uint64_t>(k.ino) * 31 + static_cast<uint64_t>(k.dev));
    return h ^ (static_cast<size_t>(k.settings) << 2) ^ static_cast<size_t>(k.coding);
}

// Only the options the coding reads: a gzip slot does not split on brotli's quality.
uint32_t CompressedCache::settings_of(Coding coding, const CompressOptions& options) noexcept {
    const auto text = static_cast<uint32_t>(options.text);
    if (coding == Coding::kGzip) return static_cast<uint32_t>(options.gzip_level & 0xff) | text << 8;
    return static_cast<uint32_t>(options.brotli_quality & 0xff) |
           static_cast<uint32_t>(options.brotli_window & 0xff) << 8 | text << 16;
}

CompressedCache::CompressedCache(size_t max_bytes, CompressOptions options) noexcept
    : max_bytes_(max_bytes), options_(options) {}

std::string CompressedCache::derive_etag(std::string_view file_etag, Coding coding) {
    std::string etag(file_etag);
    std::string suffix(1, '-');
    suffix += coding_name(coding);
    if (!etag.empty() && etag.back() == '"')
        etag.insert(etag.size() - 1, suffix);
    else
        etag += suffix;
    return etag;
}

std::shared_ptr<const Representation> CompressedCache::find(const FileVersion& version,
                                                            Coding coding) noexcept {
    return find(version, coding, options_);
}

std::shared_ptr<const Representation> CompressedCache::find(const FileVersion& version, Coding coding,
                                                            const CompressOptions& options) noexcept {
    const auto it = map_.find(Key{version.dev, version.ino, coding, settings_of(coding, options)});
    if (it == map_.end() || !(it->second.version == version)) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second.rep;
}

std::shared_ptr<const Representation> CompressedCache::get(const FileVersion& version, Coding coding,
                                                           std::string_view original,
                                                           std::string_view file_etag) {
    return get(version, coding, original, file_etag, options_);
}

std::shared_ptr<const Representation> CompressedCache::get(const FileVersion& version, Coding coding,
                                                           std::string_view original,
                                                           std::string_view file_etag,
                                                           const CompressOptions& options) {
    if (auto hit = find(version, coding, options)) return hit;
    const Key key{version.dev, version.ino, coding, settings_of(coding, options)};
    if (const auto stale = map_.find(key); stale != map_.end()) erase(stale);  // an older version
    auto rep = make(coding, original, file_etag, options);
    const size_t cost = rep->bytes.size() + rep->etag.size() + kSlotOverhead;
    if (cost > max_bytes_) return rep;  // larger than the whole cache: serve it, keep nothing
    evict_to(max_bytes_ - cost);
    lru_.push_front(key);
    map_.emplace(key, Slot{version, rep, lru_.begin(), cost});
    bytes_ += cost;
    return rep;
}

std::shared_ptr<const Representation> CompressedCache::make(Coding coding, std::string_view original,
                                                            std::string_view file_etag,
                                                            const CompressOptions& options) {
    auto rep = std::make_shared<Representation>();
    ++compressions_;
    // Compressing must save at least one byte, or the identity body is the better answer.
    if (!original.empty()) {
        if (auto out = compress_buffer(coding, original, options, original.size() - 1)) {
            rep->compressed = true;
            rep->bytes = std::move(*out);
            rep->etag = derive_etag(file_etag, coding);
        }
    }
    return rep;
}

void CompressedCache::erase(std::unordered_map<Key, Slot, KeyHash>::iterator it) noexcept {
    bytes_ -= it->second.cost;
    lru_.erase(it->second.lru);
    map_.erase(it);
}

void CompressedCache::evict_to(size_t budget) noexcept {
    while (bytes_ > budget && !lru_.empty()) erase(map_.find(lru_.back()));
}

}  // namespace portico::http::content
