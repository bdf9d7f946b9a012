#include "server/backplane/connection_options.h"

namespace cursord::backplane {

std::string_view StateName(ConnectionState state) {
  switch (state) {
    case ConnectionState::kIdle:
      return "idle";
    case ConnectionState::kResolving:
      return "resolving";
    case ConnectionState::kConnecting:
      return "connecting";
    case ConnectionState::kHandshaking:
      return "handshaking";
    case ConnectionState::kConnected:
      return "connected";
    case ConnectionState::kBackoff:
      return "waiting to reconnect";
    case ConnectionState::kStopped:
      return "stopped";
  }
  return "?";
}

}  // namespace cursord::backplane
