#include "tools.hpp"

#include <iostream>

namespace synwave::app {

int run_plot(int, char**) {
    std::cerr << "synwave: plot is not built yet\n";
    return 2;
}

}  // namespace synwave::app
