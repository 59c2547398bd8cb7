#pragma once
// Sizes ("512MiB", "10GiB", "4096", "64KB") and durations ("250ms", "5s", "10m", "1h").

#include <cstdint>
#include <optional>
#include <string_view>

namespace strata::edge::app {

// Bytes. Units: B, KB/MB/GB/TB (powers of 1000), KiB/MiB/GiB/TiB (powers of 1024); a bare number
// is bytes. Case-sensitive units, optional space before the unit; overflow and junk -> nullopt.
std::optional<std::uint64_t> parseSize(std::string_view text);
// Milliseconds. Units: ms, s, m, h, d; a bare number is rejected (ambiguous).
std::optional<std::int64_t> parseDuration(std::string_view text);

}  // namespace strata::edge::app
