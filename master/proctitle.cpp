#include "master/proctitle.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace portico::master {
namespace {

// Only signal-free start-up code touches these; they describe this process's own argv memory.
char* g_title_begin = nullptr;
char* g_title_end = nullptr;

}  // namespace

void init_process_title(int argc, char** argv) {
    if (argc <= 0 || !argv[0]) return;
    char* end = argv[0] + std::strlen(argv[0]) + 1;
    for (int i = 1; i < argc; ++i)
        if (argv[i] == end) end = argv[i] + std::strlen(argv[i]) + 1;
    size_t envc = 0;
    while (environ[envc]) ++envc;
    // The environment usually follows argv; copy it elsewhere so the title may overwrite it.
    char** copy = static_cast<char**>(std::malloc((envc + 1) * sizeof(char*)));
    if (!copy) return;
    for (size_t i = 0; i < envc; ++i) {
        if (environ[i] == end) end = environ[i] + std::strlen(environ[i]) + 1;
        copy[i] = strdup(environ[i]);
    }
    copy[envc] = nullptr;
    environ = copy;  // deliberately never freed: the environment lives as long as the process
    g_title_begin = argv[0];
    g_title_end = end;
}

void set_process_title(const char* title) {
    if (!g_title_begin) return;
    size_t room = static_cast<size_t>(g_title_end - g_title_begin) - 1;
    size_t n = std::min(room, std::strlen(title));
    std::memcpy(g_title_begin, title, n);
    std::memset(g_title_begin + n, 0, static_cast<size_t>(g_title_end - g_title_begin) - n);
}

}  // namespace portico::master
