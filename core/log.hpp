#pragma once
// Logging: the process-wide error log (spdlog's default logger) and a per-worker access log.
// Both write through BufferedFileSink, so no request pays for a blocking write of its own.

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/details/null_mutex.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>

namespace portico::core {

/// An spdlog sink that appends formatted lines to a memory buffer and writes the buffer to its
/// file (O_APPEND) when it passes a threshold, on flush(), and before reopen(). Single-threaded.
class BufferedFileSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
public:
    /// `path` "stderr" writes to fd 2 (never closed). Throws spdlog::spdlog_ex if the file cannot
    /// be opened.
    explicit BufferedFileSink(std::string path, size_t threshold = 64 * 1024);
    ~BufferedFileSink() override;

    /// Flushes, then opens the path again (after logrotate renamed the file). Returns false and
    /// keeps the old file if the new one cannot be opened.
    bool reopen();
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override;
    void flush_() override;

private:
    int open_file() const;
    std::string path_;
    size_t threshold_;
    int fd_ = -1;
    std::string pending_;
    spdlog::memory_buf_t formatted_;
};

/// Installs the default logger writing to `target` ("stderr" or a path) at `level`
/// (trace, debug, info, warn, error, critical, off). Throws std::runtime_error on failure.
void setup_error_log(const std::string& target, const std::string& level);
/// Reopens the error log file (SIGUSR1). No-op for stderr.
void reopen_error_log();
/// Flushes the error log.
void flush_error_log();

/// The combined-format access log of one worker; disabled when constructed with "off".
class AccessLog {
public:
    explicit AccessLog(const std::string& target);  ///< throws on open failure
    [[nodiscard]] bool enabled() const noexcept { return logger_ != nullptr; }
    void write(std::string_view line);  ///< one line, without the newline
    void flush();
    void reopen();

private:
    std::shared_ptr<BufferedFileSink> sink_;
    std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace portico::core
