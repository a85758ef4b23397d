// The sizes of the per-connection records, asserted exactly so that a layout change shows up here and in the
// memory figures reported; lib/tcp/stack.cpp static_asserts the upper bounds (one cache line for the Tcb's hot
// part and for the SYN-RECEIVED record, 48 bytes for the TIME_WAIT record).
#include "tcp/records.hpp"

#include <gtest/gtest.h>

using namespace synwave::tcp;

TEST(Records, SizesAreAsDesigned) {
    EXPECT_EQ(kTcbHotBytes, 64u);  // the fields every segment touches: one cache line
    EXPECT_EQ(sizeof(Tcb), 160u);
    EXPECT_EQ(sizeof(TwRecord), 44u);
    EXPECT_EQ(sizeof(SynRecord), 64u);
}
