#include "tools.hpp"

#include <iostream>

namespace synwave::app {

int run_merge(int, char**) {
    std::cerr << "synwave: merge is not built yet\n";
    return 2;
}

}  // namespace synwave::app
