#pragma once
// Content negotiation for static files (issue 9): given the request, the file and the route's
// content policy, which representation to send (the file, a precompressed sibling, or the file
// compressed on the fly), and its head and body.
//
//   request ──> Accept-Encoding (read from the raw head, repeated fields joined)
//   file    ──> options: fresh siblings (policy.precompressed order), then on-the-fly codings
//               whose types and min_length the file meets (not for a Range request)
//           ──> select_encoding ──> identity | sibling | compressed once (CompressedCache) |
//                                   compressed as a stream (CompressingStream)
//
// Every response of a resource with an encoded option carries Vary: Accept-Encoding, the
// identity one included; each representation has its own ETag, and 304, Range and HEAD apply to
// the one chosen. One Negotiator per worker, made on first use, so a worker whose routes set no
// content policy never makes one.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "http/content/compressed_cache.hpp"
#include "http/content/content_policy.hpp"
#include "http/parser.hpp"

namespace portico::http {

struct CachedFile;
struct Context;
struct Reply;
class HeaderWriter;

/// The file a static response is about, as the handler found it. Borrowed for one call.
struct FileTarget {
    const Request& req;
    std::string_view head;  ///< the whole request head; req's spans point into it
    int root_fd;            ///< the root `path` is beneath, for the siblings' lookups
    std::string_view root;  ///< its path, as the file cache keys it
    std::string_view path;  ///< the file's normalised path
    CachedFile& file;       ///< a kFile entry
};

class Negotiator {
public:
    /// Files up to this size that the file cache does not hold in memory are still compressed
    /// once (read whole with pread) when the compressed cache could keep them; larger ones are
    /// compressed as a stream.
    static constexpr uint64_t kCompressOnceMax = 1u << 20;

    /// `cache_bytes`: http.compressed_cache, the cap of this worker's compressed representations.
    explicit Negotiator(size_t cache_bytes);
    ~Negotiator();
    Negotiator(const Negotiator&) = delete;
    Negotiator& operator=(const Negotiator&) = delete;

    /// Answers `t` under `policy` and returns true, or returns false when the policy changes
    /// nothing for this file (no encoded option, no charset for its type): the caller then serves
    /// it as it would without a policy. Writes the head (all fields but Connection) into `hw`.
    bool serve(Context& ctx, const content::ContentPolicy& policy, const FileTarget& t, HeaderWriter& hw,
               Reply& reply);

    [[nodiscard]] const content::CompressedCache& cache() const noexcept { return cache_; }

private:
    struct Option;
    struct View;

    CachedFile* sibling(Context& ctx, const FileTarget& t, content::Coding coding);
    std::string_view accept_encoding(std::string_view head, bool& present);
    void serve_view(Context& ctx, const content::ContentPolicy& policy, const FileTarget& t, const View& v,
                    HeaderWriter& hw, Reply& reply);
    void serve_on_the_fly(Context& ctx, const content::ContentPolicy& policy, const FileTarget& t,
                          const content::CompressionRule& rule, HeaderWriter& hw, Reply& reply);
    std::shared_ptr<const content::Representation> compress_once(const FileTarget& t,
                                                                 const content::CompressionRule& rule);
    void hold(CachedFile* f) noexcept;
    void release_held() noexcept;

    content::CompressedCache cache_;
    uint64_t once_max_;
    // Entries this call looked up, referenced until the next call: a later lookup may evict them
    // from the file cache before the connection takes its own reference on the one it sends.
    std::vector<CachedFile*> held_;
    std::shared_ptr<const content::Representation> sending_;  // the body the last reply points at
    std::unordered_set<std::string> stale_logged_;  // "sibling key|sibling mtime|source mtime"
    std::string joined_;   // repeated Accept-Encoding fields, joined with ", "
    std::string path_;     // a sibling's path
    std::string etag_;     // an on-the-fly representation's ETag
    std::string whole_;    // a file read whole to be compressed once
};

/// The static handler's hook: serves `t` through ctx's negotiator (made on first use) when the
/// policy applies to it; false: not applicable, serve the file as usual.
bool serve_negotiated(Context& ctx, const content::ContentPolicy& policy, const FileTarget& t, HeaderWriter& hw,
                      Reply& reply);

}  // namespace portico::http
