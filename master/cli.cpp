#include "master/cli.hpp"

#include <charconv>
#include <csignal>
#include <stdexcept>
#include <string_view>

namespace portico::master {

const char* usage() {
    return "Usage: portico [-c FILE] [-t] [-s SIGNAL [--wait SECONDS]] [-v] [-h]\n"
           "\n"
           "  -c FILE   use this configuration file (default: conf/server.conf)\n"
           "  -t        test the configuration and exit (0: valid, 1: invalid)\n"
           "  -s SIGNAL send a signal to the running master (found through pid_file):\n"
           "            reload (SIGHUP), reopen (SIGUSR1), stop (SIGTERM), quit (SIGQUIT),\n"
           "            upgrade (SIGUSR2: start the binary anew on the same listeners)\n"
           "            reload and upgrade wait for the outcome: exit 0 once the new generation\n"
           "            serves, 1 with the reason on stderr if it does not\n"
           "  --wait S  how long -s reload and -s upgrade wait for the answer (default 60)\n"
           "  -v        print the version and exit\n"
           "  -h        print this help and exit\n";
}

int signal_for(const std::string& name) {
    if (name == "reload") return SIGHUP;
    if (name == "reopen") return SIGUSR1;
    if (name == "stop") return SIGTERM;
    if (name == "quit") return SIGQUIT;
    if (name == "upgrade") return SIGUSR2;
    return 0;
}

bool waits_for_outcome(const std::string& name) {
    return name == "reload" || name == "upgrade";
}

Options parse_command_line(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-c") {
            if (i + 1 >= argc) throw std::invalid_argument("option -c needs a file name");
            o.config_file = argv[++i];
        } else if (a == "-s") {
            if (i + 1 >= argc)
                throw std::invalid_argument(
                    "option -s needs a signal: reload, reopen, stop, quit or upgrade");
            o.signal = argv[++i];
            if (signal_for(o.signal) == 0)
                throw std::invalid_argument("unknown signal '" + o.signal +
                                            "' (reload, reopen, stop, quit or upgrade)");
        } else if (a == "--wait") {
            if (i + 1 >= argc) throw std::invalid_argument("option --wait needs a number of seconds");
            std::string_view v = argv[++i];
            int seconds = 0;
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
            if (ec != std::errc{} || end != v.data() + v.size() || seconds <= 0)
                throw std::invalid_argument("option --wait needs a positive number of seconds, not '" +
                                            std::string(v) + "'");
            o.wait = std::chrono::seconds(seconds);
        } else if (a == "-t") {
            o.test_config = true;
        } else if (a == "-v") {
            o.show_version = true;
        } else if (a == "-h" || a == "--help") {
            o.show_help = true;
        } else {
            throw std::invalid_argument("unknown option '" + std::string(a) + "'");
        }
    }
    return o;
}

}  // namespace portico::master
