// SAM's mask post-processing on the host, split over the cores: 256x256 low-res logits -> bilinear to the
// model's input frame -> crop -> bilinear to the image -> threshold -> COCO RLE (pycocotools' string), area and
// box, bit-identical to the engine's TypeScript. No N-API here: masks.cc binds it; masks_kernel.cc says how.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ortx::masks {

constexpr int kLowRes = 256;
constexpr int kPlane = kLowRes * kLowRes;

// The model's input side, the resized image inside it, and the image.
struct Geometry {
  int inputSize, resizedHeight, resizedWidth, height, width;
};

struct MaskOut {
  std::string rle;
  double area = 0;
  double box[4] = {0, 0, 0, 0};
};

// out[k]: plane index[k] of `planes` (kPlane floats each; the caller checked the indices and the geometry).
// bandsAsked > 0 cuts each mask into that many bands (tests); 0 picks by the cores. Throws on failure (memory).
void upscale(const float* planes, const std::vector<int32_t>& index, const Geometry& g, double threshold,
             int bandsAsked, std::vector<MaskOut>& out);

// Threads one call is split over (the calling thread included).
int poolThreads();

// Bands so far whose tiles were mostly decided from the logits' range, and bands computed pixel by pixel.
struct Stats {
  uint64_t tiledBands, stagedBands;
};
Stats stats();

}  // namespace ortx::masks
