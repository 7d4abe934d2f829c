// portico's entry point: command line, configuration, logging, then the master or the worker.

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "conf/config.hpp"
#include "core/log.hpp"
#include "core/shared_stats.hpp"
#include "core/signals.hpp"
#include "core/tls/ticket_key_ring.hpp"
#include "http/mime.hpp"
#include "master/cli.hpp"
#include "master/control_client.hpp"
#include "master/control_server.hpp"
#include "master/master.hpp"
#include "master/pid_file.hpp"
#include "master/proctitle.hpp"
#include "master/rlimit.hpp"
#include "master/upgrade.hpp"
#include "worker/worker.hpp"

namespace {

constexpr const char* kVersion = "portico/0.1.0";

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

// reload and upgrade ask over the control socket and wait for the outcome; the others signal.
int send_signal(const std::string& file, const std::string& name, std::chrono::seconds wait) {
    try {
        portico::conf::Config cfg = portico::conf::load_config(file);
        if (cfg.pid_file.empty()) {
            std::fprintf(stderr, "portico: cannot send '%s': no pid_file is set in %s\n", name.c_str(), cfg.file.c_str());
            return 1;
        }
        pid_t pid = portico::master::read_running_master(cfg.pid_file);
        if (portico::master::waits_for_outcome(name)) {
            auto answer =
                portico::master::ask_master(portico::master::control_socket_path(cfg.pid_file), name, wait);
            if (answer.ok) return 0;
            std::fprintf(stderr, "portico: %s failed: %s\n", name.c_str(), answer.text.c_str());
            return 1;
        }
        if (::kill(pid, portico::master::signal_for(name)) != 0) {
            std::fprintf(stderr, "portico: kill(%d) failed: %s\n", pid, std::strerror(errno));
            return 1;
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "portico: %s\n", e.what());
        return 1;
    }
}

// Detaches from the terminal: the parent returns at once, the child leads a new session.
void daemonize() {
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error(std::string("fork() failed: ") + std::strerror(errno));
    if (pid > 0) _exit(0);
    if (::setsid() < 0) throw std::runtime_error(std::string("setsid() failed: ") + std::strerror(errno));
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, STDIN_FILENO);
        ::dup2(null, STDOUT_FILENO);
        ::close(null);
    }
}

std::string command_line(int argc, char** argv) {
    std::string s;
    for (int i = 0; i < argc; ++i) s.append(i ? " " : "").append(argv[i]);
    return s;
}

int run_single_process(const portico::conf::Config& cfg) {
    portico::core::SharedStats stats(1);
    stats.at(0).reset(getpid(), 1, 0, 0);
    // One process: the ring is not shared and not rotated; it keeps the ticket keys out of core
    // files and makes tickets work the same as under a master.
    auto tickets = portico::core::tls::TicketKeyRing::create();
    if (!tickets) throw std::runtime_error("cannot create the session-ticket keys (mmap or RAND_bytes failed)");
    portico::worker::WorkerSetup setup;
    setup.tickets = tickets.get();
    // As the master does: another server already on the address fails the start, rather than
    // sharing it through SO_REUSEPORT and taking half its connections.
    for (const auto& a : portico::conf::distinct_listen_addresses(cfg)) portico::master::probe_address_free(a);
    setup.listeners = portico::worker::open_listeners(cfg);
    setup.stats = &stats;
    setup.record = &stats.at(0);
    portico::worker::Worker worker(cfg, std::move(setup));
    spdlog::info("{} started, pid {}", kVersion, getpid());
    return worker.run();
}

// A master started by a binary upgrade that cannot start tells the old master why.
void report_to_old_master(int channel, const char* why) {
    if (channel < 0) return;
    std::string line = std::string("error ") + why + "\n";
    (void)!::write(channel, line.data(), line.size());
}

}  // namespace

int main(int argc, char** argv) {
    std::string title = command_line(argc, argv);
    // Both before the process title may overwrite argv, and before a new binary may be installed
    // over this one: an upgrade executes what is at this path then, with these arguments.
    const std::vector<std::string> args(argv, argv + argc);
    const std::string binary = portico::master::own_binary_path();
    // Before the process title copies the environment, whose upgrade variables this removes.
    portico::master::Inheritance inherited;
    try {
        inherited = portico::master::take_inheritance();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "portico: %s\n", e.what());
        return 1;
    }
    portico::master::init_process_title(argc, argv);
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
    if (!opts.signal.empty()) return send_signal(opts.config_file, opts.signal, opts.wait);

    portico::core::UniqueFd old_master;  // a binary upgrade's channel, to report a failed start
    try {
        if (inherited.upgrading()) old_master.reset(::fcntl(inherited.channel.get(), F_DUPFD_CLOEXEC, 0));
        auto cfg = std::make_unique<portico::conf::Config>(portico::conf::load_config(opts.config_file));
        portico::core::setup_error_log(cfg->error_log, cfg->log_level);
        portico::core::ignore_sigpipe();
        if (!cfg->master_process) {
            portico::master::apply_nofile_limit(*cfg);
            int rc = run_single_process(*cfg);
            spdlog::info("exiting");
            portico::core::flush_error_log();
            return rc;
        }
        // An upgrade's new master is detached already, and takes the pid file once it serves.
        const bool upgrading = inherited.upgrading();
        if (cfg->daemon && !upgrading) daemonize();
        portico::master::PidFile pid_file;
        if (!cfg->pid_file.empty() && !upgrading) pid_file = portico::master::PidFile(cfg->pid_file);
        portico::master::Master master(opts.config_file, std::move(cfg), std::move(pid_file), title,
                                       std::move(inherited));
        master.set_upgrade_command(binary, args);
        old_master.reset();  // from here on the master itself reports to the old one
        spdlog::info("{} started, pid {}", kVersion, getpid());
        return master.run();
    } catch (const std::exception& e) {
        report_to_old_master(old_master.get(), e.what());
        std::fprintf(stderr, "portico: %s\n", e.what());
        spdlog::critical("{}", e.what());
        portico::core::flush_error_log();
        return 1;
    }
}
