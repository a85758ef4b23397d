// Counter tables generated from an X-macro list: layout, access, aggregation, text and JSON.
#include "stats/counters.hpp"
#include "stats/json.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

namespace demo {

#define DEMO_COUNTERS(X)                                  \
    X(rx_syn, "SYN segments received")                    \
    X(rx_ack, "ACK segments received")                    \
    X(drop_bad_checksum, "Segments dropped: bad checksum")
SYNWAVE_STATS_DEFINE_COUNTERS(DemoCounters, DEMO_COUNTERS);

// Nine counters: 72 bytes, so the table takes two cache lines.
#define NINE_COUNTERS(X) \
    X(a, "a") X(b, "b") X(c, "c") X(d, "d") X(e, "e") X(f, "f") X(g, "g") X(h, "h") X(i, "i")
SYNWAVE_STATS_DEFINE_COUNTERS(NineCounters, NINE_COUNTERS);

#define NO_COUNTERS(X)
SYNWAVE_STATS_DEFINE_COUNTERS(EmptyCounters, NO_COUNTERS);

} // namespace demo

using demo::DemoCounters;
using namespace synwave;

static_assert(DemoCounters::kCount == 3);
// Per-lcore tables never share a cache line: every table is aligned to one and a whole number of them long.
static_assert(sizeof(DemoCounters) == 64 && alignof(DemoCounters) == 64);
static_assert(sizeof(demo::NineCounters) == 128);
static_assert(demo::EmptyCounters::kCount == 0 && sizeof(demo::EmptyCounters) == 64);
static_assert(DemoCounters::kNames[2] == "drop_bad_checksum");
static_assert(DemoCounters::kHelp[0] == "SYN segments received");
static_assert(stats::CounterTable<DemoCounters>);
static_assert(!stats::CounterTable<stats::HistogramSummary>);

TEST(Counters, NamesAndHelpInListOrder) {
    EXPECT_EQ(DemoCounters::kNames, (std::array<std::string_view, 3>{"rx_syn", "rx_ack", "drop_bad_checksum"}));
    EXPECT_EQ(DemoCounters::kHelp[1], "ACK segments received");
    EXPECT_EQ(DemoCounters::kHelp[2], "Segments dropped: bad checksum");
}

TEST(Counters, FieldsAndIdsAddressTheSameCounter) {
    DemoCounters c;
    EXPECT_EQ(c, DemoCounters{});
    c.rx_syn++;
    c.rx_syn++;
    c[DemoCounters::Id::rx_ack] += 5;
    ++c[DemoCounters::Id::drop_bad_checksum];
    EXPECT_EQ(c.rx_syn, 2u);
    EXPECT_EQ(c.rx_ack, 5u);
    EXPECT_EQ(c.drop_bad_checksum, 1u);
    const DemoCounters& cc = c;
    EXPECT_EQ(cc[DemoCounters::Id::rx_syn], 2u);
    EXPECT_EQ(cc[DemoCounters::Id::drop_bad_checksum], 1u);
}

TEST(Counters, ForEachVisitsInOrderWithValues) {
    DemoCounters c;
    c.rx_syn = 10;
    c.rx_ack = 20;
    c.drop_bad_checksum = 30;
    std::vector<std::string> seen;
    c.for_each([&](std::string_view name, std::string_view help, uint64_t v) {
        seen.push_back(std::string(name) + "|" + std::string(help) + "|" + std::to_string(v));
    });
    EXPECT_EQ(seen, (std::vector<std::string>{"rx_syn|SYN segments received|10", "rx_ack|ACK segments received|20",
                                              "drop_bad_checksum|Segments dropped: bad checksum|30"}));
}

TEST(Counters, AggregateAddsEveryField) {
    std::array<DemoCounters, 3> lcores{};
    for (size_t i = 0; i < lcores.size(); ++i) {
        lcores[i].rx_syn = 1 + i;                 // 1 2 3
        lcores[i].rx_ack = 100 * (i + 1);         // 100 200 300
        lcores[i].drop_bad_checksum = i == 2 ? 7 : 0;
    }
    const DemoCounters total = stats::aggregate<DemoCounters>(lcores);
    EXPECT_EQ(total.rx_syn, 6u);
    EXPECT_EQ(total.rx_ack, 600u);
    EXPECT_EQ(total.drop_bad_checksum, 7u);
    DemoCounters sum = lcores[0];
    sum += lcores[1];
    sum += lcores[2];
    EXPECT_EQ(sum, total);
    EXPECT_EQ(lcores[1].snapshot(), lcores[1]);
}

TEST(Counters, TextIsAlignedAndCanSkipZeros) {
    DemoCounters c;
    c.rx_syn = 12;
    c.drop_bad_checksum = 1'234'567;
    // Name column 17 wide (drop_bad_checksum), one space, value column 7 wide.
    EXPECT_EQ(stats::format_text(c),
              "rx_syn                 12\n"
              "rx_ack                  0\n"
              "drop_bad_checksum 1234567\n");
    EXPECT_EQ(stats::format_text(c, {.skip_zero = true}),
              "rx_syn                 12\n"
              "drop_bad_checksum 1234567\n");
    EXPECT_EQ(stats::format_text(c, {.skip_zero = true, .with_help = true, .prefix = "tcp."}),
              "tcp.rx_syn                 12  # SYN segments received\n"
              "tcp.drop_bad_checksum 1234567  # Segments dropped: bad checksum\n");
    EXPECT_EQ(stats::format_text(DemoCounters{}, {.skip_zero = true}), "");
    EXPECT_EQ(stats::format_text(demo::EmptyCounters{}), "");
}

TEST(Counters, TextHandlesTheLargestValue) {
    DemoCounters c;
    c.rx_ack = UINT64_MAX;
    EXPECT_EQ(stats::format_text(c, {.skip_zero = true}), "rx_ack            18446744073709551615\n");
}

TEST(Counters, JsonInListOrder) {
    DemoCounters c;
    c.rx_syn = 12;
    c.drop_bad_checksum = 1'234'567;
    EXPECT_EQ(stats::to_json(c).dump(), R"({"rx_syn":12,"rx_ack":0,"drop_bad_checksum":1234567})");
    EXPECT_EQ(stats::to_json(c, true).dump(), R"({"rx_syn":12,"drop_bad_checksum":1234567})");
    EXPECT_EQ(stats::to_json(DemoCounters{}, true).dump(), "{}");
    c.rx_ack = UINT64_MAX;
    EXPECT_EQ(stats::to_json(c)["rx_ack"].get<uint64_t>(), UINT64_MAX);
    EXPECT_EQ(stats::help_json<DemoCounters>().dump(),
              R"({"rx_syn":"SYN segments received","rx_ack":"ACK segments received",)"
              R"("drop_bad_checksum":"Segments dropped: bad checksum"})");
}
