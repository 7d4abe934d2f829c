#include "core/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace portico::core {
namespace {

bool is_stderr(const std::string& path) { return path == "stderr"; }

void write_all(int fd, const char* p, size_t n) noexcept {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;  // nowhere left to report a failing log write
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
}

std::shared_ptr<BufferedFileSink>& error_sink() {
    static std::shared_ptr<BufferedFileSink> sink;
    return sink;
}

}  // namespace

BufferedFileSink::BufferedFileSink(std::string path, size_t threshold)
    : path_(std::move(path)), threshold_(threshold) {
    fd_ = open_file();
    if (fd_ < 0)
        throw spdlog::spdlog_ex("cannot open log file '" + path_ + "': " + std::strerror(errno));
    pending_.reserve(threshold_);
}

BufferedFileSink::~BufferedFileSink() {
    flush_();
    if (fd_ > 2) ::close(fd_);
}

int BufferedFileSink::open_file() const {
    if (is_stderr(path_)) return STDERR_FILENO;
    return ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

void BufferedFileSink::sink_it_(const spdlog::details::log_msg& msg) {
    formatted_.clear();
    formatter_->format(msg, formatted_);
    pending_.append(formatted_.data(), formatted_.size());
    if (pending_.size() >= threshold_) flush_();
}

void BufferedFileSink::flush_() {
    if (pending_.empty()) return;
    write_all(fd_, pending_.data(), pending_.size());
    pending_.clear();
}

bool BufferedFileSink::reopen() {
    std::lock_guard<spdlog::details::null_mutex> lock(mutex_);
    flush_();
    if (is_stderr(path_)) return true;
    int fd = open_file();
    if (fd < 0) return false;
    ::close(fd_);
    fd_ = fd;
    return true;
}

void setup_error_log(const std::string& target, const std::string& level) {
    auto lvl = spdlog::level::from_str(level);
    if (lvl == spdlog::level::off && level != "off") throw std::runtime_error("unknown log level '" + level + "'");
    std::shared_ptr<BufferedFileSink> sink;
    try {
        // The error log is small and people read it while things happen: write each line at once.
        sink = std::make_shared<BufferedFileSink>(target, 0);
    } catch (const spdlog::spdlog_ex& e) {
        throw std::runtime_error(e.what());
    }
    auto logger = std::make_shared<spdlog::logger>("portico", sink);
    logger->set_pattern("%Y/%m/%d %H:%M:%S [%l] %P: %v");
    logger->set_level(lvl);
    spdlog::set_default_logger(logger);
    error_sink() = std::move(sink);
}

void reopen_error_log() {
    if (error_sink() && !error_sink()->reopen())
        spdlog::error("open() \"{}\" failed: {}", error_sink()->path(), std::strerror(errno));
}

void flush_error_log() { spdlog::default_logger_raw()->flush(); }

AccessLog::AccessLog(const std::string& target) {
    if (target == "off") return;
    try {
        sink_ = std::make_shared<BufferedFileSink>(target);
    } catch (const spdlog::spdlog_ex& e) {
        throw std::runtime_error(e.what());
    }
    logger_ = std::make_shared<spdlog::logger>("access", sink_);
    logger_->set_pattern("%v");
    logger_->set_level(spdlog::level::info);
}

void AccessLog::write(std::string_view line) {
    if (logger_) logger_->info(line);
}

void AccessLog::flush() {
    if (logger_) logger_->flush();
}

void AccessLog::reopen() {
    if (sink_ && !sink_->reopen()) spdlog::error("open() \"{}\" failed: {}", sink_->path(), std::strerror(errno));
}

}  // namespace portico::core
