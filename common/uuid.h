// Random (version 4) UUIDs, for request ids and object names.
#pragma once

#include <string>

namespace sluice {

// "3f2b8c1e-9d4a-4f6b-8e2a-1c5d7e9f0a2b". Thread-safe; never blocks.
std::string NewUuid();

}  // namespace sluice
