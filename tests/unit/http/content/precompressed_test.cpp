// When a precompressed sibling may be served for its source.

#include "http/content/precompressed.hpp"

#include <catch2/catch.hpp>

using portico::http::content::precompressed_fresh;

namespace {

struct stat file_at(long sec, long nsec, mode_t mode = S_IFREG | 0644) {
    struct stat st {};
    st.st_mode = mode;
    st.st_mtim.tv_sec = sec;
    st.st_mtim.tv_nsec = nsec;
    return st;
}

}  // namespace

TEST_CASE("precompressed_fresh: not older than the source, and a regular file", "[content][precompressed]") {
    const auto src = file_at(1000, 500);
    CHECK(precompressed_fresh(src, file_at(1000, 500)));  // made in the same instant
    CHECK(precompressed_fresh(src, file_at(1000, 501)));
    CHECK(precompressed_fresh(src, file_at(1001, 0)));
    CHECK_FALSE(precompressed_fresh(src, file_at(1000, 499)));  // older by a nanosecond
    CHECK_FALSE(precompressed_fresh(src, file_at(999, 999'999'999)));
    CHECK_FALSE(precompressed_fresh(src, file_at(2000, 0, S_IFDIR | 0755)));
}
