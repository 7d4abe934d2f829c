#pragma once
// What the content tests (issue 9) share: a site with HTML of several sizes and precompressed
// siblings, served by a portico with every content setting on, and real decoders (Python's gzip
// and brotli modules, which the Debian packages python3 and python3-brotli provide).

#include <string>
#include <string_view>

#include "tests/integration/harness.hpp"

namespace portico::test {

/// `n` bytes of HTML-like text that compresses as real pages do (about 4 to 8 times).
[[nodiscard]] std::string html_text(size_t n, uint32_t seed);

/// `bytes` compressed (`coding` "gzip" or "br") by Python's modules at their strongest level, so
/// they differ from what portico makes on the fly at level 5.
[[nodiscard]] std::string python_encode(const TempDir& dir, std::string_view coding, const std::string& bytes);
/// `body` decoded (`coding` "gzip" or "br") by Python's modules; fails the test if they cannot.
[[nodiscard]] std::string python_decode(const TempDir& dir, std::string_view coding, const std::string& body);

/// A response with a chunked body, read from `c` on a connection that may stay open.
[[nodiscard]] Response read_chunked_response(Client& c);

/// The fixture site plus content files:
///   www/small.html  4 KiB, held in memory by the file cache (compressed once, from memory)
///   www/page.html   40 KiB, not in memory (read whole with pread, compressed once)
///   www/big.html    8 MiB (compressed as a stream)
///   www/tiny.html   100 B, below min_length
///   www/pre.html    with pre.html.gz and pre.html.br, made by Python at its strongest level
///   www/stale.html  with a stale.html.gz older than it
struct ContentSite {
    ContentSite();
    /// portico serving the site with precompressed = [ "br", "gzip" ], gzip and brotli on, charset
    /// utf-8, files revalidated every 100 ms, at log level `log_level`; `http_extra` is added.
    [[nodiscard]] std::string config(std::string_view log_level = "info", std::string_view http_extra = {}) const;

    Site site;
    std::string small_html, page_html, big_html, tiny_html, pre_html, pre_gz, pre_br, stale_html, stale_gz;
};

}  // namespace portico::test
