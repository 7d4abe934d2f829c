#include "http/content/precompressed.hpp"

namespace portico::http::content {

bool precompressed_fresh(const struct stat& source, const struct stat& sibling) noexcept {
    if (!S_ISREG(sibling.st_mode)) return false;
    if (sibling.st_mtim.tv_sec != source.st_mtim.tv_sec)
        return sibling.st_mtim.tv_sec > source.st_mtim.tv_sec;
    return sibling.st_mtim.tv_nsec >= source.st_mtim.tv_nsec;  // same second: compare nanoseconds
}

}  // namespace portico::http::content
