#include "server/web/assets.h"

#include <cstddef>

#include "server/web/assets_table.h"

namespace cursord::web {

const Asset* FindAsset(std::string_view name) {
  // A handful of files: a linear scan beats building an index.
  for (std::size_t i = 0; i < internal::kAssetCount; ++i) {
    if (internal::kAssetNames[i] == name) return &internal::kAssets[i];
  }
  return nullptr;
}

}  // namespace cursord::web
