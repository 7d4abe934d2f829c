#pragma once
// The real portico server for the portico-bench tests: a scratch directory with a small site,
// a generated config on a free port, and the process started and stopped by its own pid. It is
// ready when its error log says "started, pid N" (watched with inotify, not slept on).

#include <sys/types.h>

#include <cstdint>
#include <cstdlib>
#include <string>

namespace portico::bench::test {

class PorticoProcess {
public:
    /// Bytes of the files in the site's root.
    static constexpr size_t kIndexBytes = 612;
    static constexpr size_t kBigBytes = 100 * 1024;
    static constexpr size_t kLargeBytes = 1024 * 1024;

    /// Starts `binary` with one worker serving index.html, big.bin and large.bin; throws
    /// std::runtime_error (with the server's output) if it does not come up within a few
    /// seconds. `http_settings` goes inside the config's http group ("send_timeout = 1;").
    explicit PorticoProcess(const std::string& binary, const std::string& http_settings = "");
    ~PorticoProcess();
    PorticoProcess(const PorticoProcess&) = delete;
    PorticoProcess& operator=(const PorticoProcess&) = delete;

    [[nodiscard]] std::string url(const std::string& path) const;
    /// Error log and captured output.
    [[nodiscard]] std::string logs() const;
    /// SIGQUIT (graceful stop); returns the exit status, or -1 if it had to be killed.
    int stop();

private:
    bool start(const std::string& binary);

    std::string dir_;
    std::string http_settings_;
    pid_t pid_ = -1;
    int pidfd_ = -1;
    uint16_t port_ = 0;
};

/// The portico binary the real-server tests run: PORTICO_SERVER in the environment (to test
/// another build), else this build's (PORTICO_SERVER_PATH, set by tests/tools/CMakeLists.txt).
inline std::string server_binary() {
    const char* env = std::getenv("PORTICO_SERVER");
    return env != nullptr ? env : PORTICO_SERVER_PATH;
}

}  // namespace portico::bench::test
