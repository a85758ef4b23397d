// The server and client applications (one include for both).
#pragma once
#include "engine/client.hpp"
#include "engine/server.hpp"
