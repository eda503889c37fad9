// Lets GoogleTest print a Status as "ValidationException: 1 validation ..."
// when an EXPECT_EQ on two of them fails, instead of their bytes.
#pragma once

#include <ostream>

#include "common/status.h"

namespace sluice {

inline void PrintTo(const Status& status, std::ostream* os) {
  *os << (status.ok() ? std::string("OK") : status.ToString());
}

}  // namespace sluice
