// portico's entry point: command line, configuration, logging, then the worker.

#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>

#include <spdlog/spdlog.h>

#include "conf/config.hpp"
#include "core/log.hpp"
#include "core/signals.hpp"
#include "http/mime.hpp"
#include "master/cli.hpp"
#include "worker/worker.hpp"

namespace {

constexpr const char* kVersion = "portico/0.1.0";

void apply_rlimit_or_die(uint32_t nofile) {
    if (nofile == 0) return;
    rlimit rl{nofile, nofile};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        spdlog::warn("setrlimit(RLIMIT_NOFILE, {}) failed: {}", nofile, std::strerror(errno));
}

int test_config(const std::string& file) {
    try {
        portico::conf::Config cfg = portico::conf::load_config(file);
        portico::http::MimeTypes mime(cfg.http.mime_types, cfg.http.default_type);  // must be readable too
        std::printf("portico: configuration file %s test is successful\n", cfg.file.c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "portico: %s\nportico: configuration file %s test failed\n", e.what(), file.c_str());
        return 1;
    }
}

}  // namespace

int main(int argc, char** argv) {
    portico::master::Options opts;
    try {
        opts = portico::master::parse_command_line(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "portico: %s\n%s", e.what(), portico::master::usage());
        return 2;
    }
    if (opts.show_help) {
        std::fputs(portico::master::usage(), stdout);
        return 0;
    }
    if (opts.show_version) {
        std::printf("%s\n", kVersion);
        return 0;
    }
    if (opts.test_config) return test_config(opts.config_file);

    try {
        portico::conf::Config cfg = portico::conf::load_config(opts.config_file);
        portico::core::setup_error_log(cfg.error_log, cfg.log_level);
        portico::core::ignore_sigpipe();
        apply_rlimit_or_die(cfg.worker_rlimit_nofile);
        if (cfg.master_process)
            spdlog::warn("master_process = true is not available yet; running one worker in this process");
        portico::worker::Worker worker(cfg);
        spdlog::info("{} started, pid {}", kVersion, getpid());
        int rc = worker.run();
        spdlog::info("exiting");
        portico::core::flush_error_log();
        return rc;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "portico: %s\n", e.what());
        spdlog::critical("{}", e.what());
        return 1;
    }
}
