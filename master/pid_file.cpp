#include "master/pid_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace portico::master {
namespace {

std::string failed(const std::string& call, const std::string& path) {
    return call + " \"" + path + "\" failed: " + std::strerror(errno);
}

pid_t parse_pid(int fd) {
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return 0;
    long v = std::strtol(buf, nullptr, 10);
    return v > 0 ? static_cast<pid_t>(v) : 0;
}

// True when some live process holds the lock on the file at `path` (its master).
bool locked_by_other(const std::string& path, pid_t& holder) {
    core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return false;
    holder = parse_pid(fd.get());
    if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) return false;  // nobody holds it: stale
    return errno == EWOULDBLOCK;
}

}  // namespace

PidFile::PidFile(std::string path) : path_(std::move(path)) {
    pid_t holder = 0;
    if (locked_by_other(path_, holder))
        throw std::runtime_error("another master (pid " + std::to_string(holder) + ") is running with pid file \"" +
                                 path_ + "\"");
    rewrite();
}

PidFile::PidFile(std::string path, bool take_over) : path_(std::move(path)) {
    if (!take_over) {
        *this = PidFile(path_);
        return;
    }
    rewrite();
}

// After a binary upgrade the path names the new master's file: the old master leaves it alone.
bool PidFile::still_ours() const noexcept {
    struct stat mine {
    }, there{};
    return ::fstat(lock_.get(), &mine) == 0 && ::stat(path_.c_str(), &there) == 0 &&
           mine.st_ino == there.st_ino && mine.st_dev == there.st_dev;
}

void PidFile::rewrite() {
    std::string tmp = path_ + ".tmp." + std::to_string(getpid());
    core::UniqueFd fd(::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) throw std::runtime_error(failed("open()", tmp));
    // The lock travels with the inode: once renamed, the pid file itself is what is locked.
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) throw std::runtime_error(failed("flock()", tmp));
    std::string text = std::to_string(getpid()) + "\n";
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        ::unlink(tmp.c_str());
        throw std::runtime_error(failed("write()", tmp));
    }
    if (::rename(tmp.c_str(), path_.c_str()) != 0) {
        ::unlink(tmp.c_str());
        throw std::runtime_error(failed("rename()", path_));
    }
    lock_ = std::move(fd);
}

PidFile::~PidFile() {
    if (lock_ && !path_.empty() && still_ours()) ::unlink(path_.c_str());
}

pid_t read_running_master(const std::string& path) {
    core::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw std::runtime_error("no master is running: cannot open pid file \"" + path + "\": " + std::strerror(errno));
    pid_t pid = parse_pid(fd.get());
    if (pid <= 0) throw std::runtime_error("no master is running: pid file \"" + path + "\" holds no pid");
    if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0)
        throw std::runtime_error("no master is running: pid file \"" + path + "\" is stale (pid " +
                                 std::to_string(pid) + ")");
    return pid;
}

}  // namespace portico::master
