#pragma once
// How hard to compress. Defaults are the (gzip level 5) and brotli's sweet spot for
// compress-once content (quality 5: several times faster than 11, within a few per cent of it
// on HTML).

#include <cstdint>

namespace portico::http::content {

struct CompressOptions {
    int gzip_level = 5;      // 1..9 (zlib)
    int brotli_quality = 5;  // 0..11
    // log2 of brotli's window: 18 (256 KiB) keeps a stream's state small; the one-shot
    // compressor shrinks it further to fit the input. (zlib's window is 32 KiB, fixed.)
    int brotli_window = 18;
    bool text = true;  // a hint: brotli's text mode, and gzip's FTEXT flag
};

}  // namespace portico::http::content
