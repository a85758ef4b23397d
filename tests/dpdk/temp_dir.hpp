// A scratch directory for the dpdk-level tests that write files (pcap captures): made under $TMPDIR (or /tmp)
// with a unique name, removed with everything in it when the test ends, whether it passed or not.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace synwave::testutil {

struct TempDir {
    std::filesystem::path path;  // empty when the directory could not be made: ASSERT_FALSE(path.empty())
    // "<prefix>-XXXXXX": the prefix says which test binary left a directory behind if it was killed.
    explicit TempDir(std::string_view prefix) {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + std::string(prefix) + "-XXXXXX";
        if (mkdtemp(tmpl.data()) != nullptr) path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        if (!path.empty()) std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

}  // namespace synwave::testutil
