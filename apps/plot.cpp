// `synwave plot RUN.json ... -o run.png`: the plot script (Python, matplotlib) does the work; this finds it and
// runs it with Debian's interpreter, whose matplotlib the bootstrap installs.
#include "plot_paths.hpp"
#include "tools.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace synwave::app {

namespace {

constexpr const char* python = "/usr/bin/python3";

bool is_file(const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::is_regular_file(p, ec);
}

// SYNWAVE_PLOT, else the source tree's scripts/plot (a build run in place), else synwave-plot installed beside
// the executable. Empty when none is there (err says what was tried).
std::string find_script(std::string& err) {
    if (const char* env = std::getenv("SYNWAVE_PLOT"); env && *env) {
        if (is_file(env)) return env;
        err = std::string("SYNWAVE_PLOT=") + env + " is not a file";
        return {};
    }
    const std::filesystem::path in_tree = std::filesystem::path(SYNWAVE_SOURCE_ROOT) / "scripts" / "plot";
    if (is_file(in_tree)) return in_tree.string();
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    const std::filesystem::path beside = ec ? std::filesystem::path() : self.parent_path() / "synwave-plot";
    if (!beside.empty() && is_file(beside)) return beside.string();
    err = "no plot script: not " + in_tree.string() + (beside.empty() ? std::string() : ", not " + beside.string()) +
          " (set SYNWAVE_PLOT to the source tree's scripts/plot)";
    return {};
}

}  // namespace

int run_plot(int argc, char** argv) {
    std::string err;
    const std::string script = find_script(err);
    if (script.empty()) {
        std::cerr << "synwave plot: " << err << "\n";
        return 2;
    }
    // The script's own argument list: everything after "plot", unchanged.
    std::vector<char*> args{const_cast<char*>(python), const_cast<char*>(script.c_str())};
    for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
    args.push_back(nullptr);
    ::execv(python, args.data());
    std::cerr << "synwave plot: cannot run " << python << " (" << std::strerror(errno)
              << "); install python3-matplotlib\n";
    return 2;
}

}  // namespace synwave::app
