// libFuzzer target for the config loader, given a config file's text.
//
// The text is loaded as if it were <tmp>/portico.conf, next to a real document root "www".
// Loading must either give a Config that keeps load_config's promises (at least one server,
// each with a listen address and an absolute root; worker counts and sizes in range) or throw
// a ConfigError whose message names the file. Any other exception escaping (a libconfig
// type or name exception, std::out_of_range, ...) is a bug: the master would die with a
// message that names no line. Inputs that @include are skipped: they would read arbitrary files.

#include "conf/config.hpp"
#include "tests/fuzz/fuzz_check.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

namespace {

using portico::conf::Config;
using portico::conf::ConfigError;

void expect(bool ok, const char* what) {
    if (!ok) portico::fuzz::broken("config_fuzz", what);
}

/// A scratch directory with a document root in it, made once per process (left for the OS
/// to clean from /tmp: libFuzzer ends the process with _exit).
const std::string& config_dir() {
    static const std::string dir = [] {
        char pattern[] = "/tmp/portico-config-fuzz-XXXXXX";
        expect(mkdtemp(pattern) != nullptr, "mkdtemp failed");
        const std::string d = pattern;
        expect(mkdir((d + "/www").c_str(), 0755) == 0, "mkdir www failed");
        return d;
    }();
    return dir;
}

void check(const Config& c, const std::string& file) {
    expect(c.file == file, "Config.file is not the file's absolute path");
    expect(!c.servers.empty(), "a config without servers");
    expect(c.worker_processes >= 1, "no workers");
    expect(c.worker_connections >= 1, "no connections");
    expect(c.http.large_client_header_buffer_size >= c.http.client_header_buffer_size,
           "large header buffer smaller than the first one");
    for (const auto& s : c.servers) {
        expect(!s.listen.empty(), "a server without a listen address");
        expect(!s.root.empty() && s.root.front() == '/', "a root that is not absolute");
        expect(s.root.size() == 1 || s.root.back() != '/', "a root with a trailing slash");
        expect(s.status_path.empty() || s.status_path.front() == '/', "a status_path without '/'");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    if (text.find("@include") != std::string::npos) return 0;
    const std::string file = config_dir() + "/portico.conf";
    try {
        check(portico::conf::load_config_from_string(text, file), file);
    } catch (const ConfigError& e) {
        const std::string_view what = e.what();
        expect(what.starts_with(file), "a ConfigError that does not name the file");
        expect(what.size() > file.size() + 2, "a ConfigError without a reason");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "config_fuzz: escaped: %s\n", e.what());
        portico::fuzz::broken("config_fuzz", "an exception other than ConfigError escaped");
    }
    return 0;
}
