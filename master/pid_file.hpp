#pragma once
// The master's pid file: written atomically (a locked temporary file renamed into place), held
// locked for the master's lifetime so a second master on the same file refuses to start, and
// removed on exit.

#include <sys/types.h>

#include <string>

#include "core/fd.hpp"

namespace portico::master {

class PidFile {
public:
    PidFile() = default;
    /// Takes `path` for this process. Throws std::runtime_error naming the running master's pid
    /// if another live master holds it, or naming the failed call.
    explicit PidFile(std::string path);
    /// Takes `path` over from the master that holds it (a binary upgrade's old master, which
    /// exits soon): no check for a running master. Throws std::runtime_error naming the call.
    PidFile(std::string path, bool take_over);
    ~PidFile();
    PidFile(PidFile&&) = default;
    PidFile& operator=(PidFile&&) = default;
    PidFile(const PidFile&) = delete;
    PidFile& operator=(const PidFile&) = delete;

    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    /// Rewrites the file with the current pid (after daemonising changed it).
    void rewrite();
    /// In a forked worker: drop the inherited descriptor without removing the file.
    void close_in_child() noexcept { lock_.reset(); }

private:
    std::string path_;
    [[nodiscard]] bool still_ours() const noexcept;

    core::UniqueFd lock_;  // the open, flock()ed file that sits at path_ (until a successor's replaces it)
};

/// The pid in `path` if a running process holds the file's lock; otherwise throws
/// std::runtime_error saying why no master is running.
pid_t read_running_master(const std::string& path);

}  // namespace portico::master
