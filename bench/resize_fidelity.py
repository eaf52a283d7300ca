"""What each ``resize`` mode does to Fashion-MNIST, measured with gancore's domain classifier.

    python bench/resize_fidelity.py [--n 5000] [--size 32] [--max-train 10000]

Train images go 28 -> ``--size`` -> 28 through each mode (``pad`` then ``crop_to_native``;
the resampling modes both ways) and are compared with the native test split in the features of
gancore's ``classifier`` extractor, trained on other (native) train images. Printed per mode:
FID against the test split (the ``native`` row, no resize at all, is the floor set by the
train/test difference and the sample count), the classifier's accuracy on test images after
the same round trip, and the mean absolute pixel change of the round trip (uint8 levels) with
the share of pixels left exactly unchanged. Needs Fashion-MNIST
(``apt-get install dataset-fashion-mnist``); about a minute on 2 CPU cores, plus the classifier
training on the first run (it is cached like ``gancore eval``'s).
"""

from __future__ import annotations

import argparse
import time

import torch

from gancore.data.fashion_mnist import FashionMNIST
from gancore.data.transforms import crop_to_native, resize_images, to_signed
from gancore.metrics.classifier import ClassifierExtractor
from gancore.metrics.fid import fid_from_features

MODES = ("native", "pad", "bilinear", "nearest", "area")


def round_trip(images: torch.Tensor, mode: str, size: int, native: int = 28) -> torch.Tensor:
    """uint8 ``images`` at the native size -> ``size`` by ``mode`` -> back to the native size."""
    if mode == "native":
        return images
    up = resize_images(images, size, mode=mode)
    return crop_to_native(up, native) if mode == "pad" else resize_images(up, native, mode=mode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="train and test images compared")
    parser.add_argument("--size", type=int, default=32, help="the training size (default 32)")
    parser.add_argument("--max-train", type=int, default=10000,
                        help="images that train the classifier (after the first --n)")
    parser.add_argument("--cache-dir", default=None, help="classifier cache (default: gancore's)")
    args = parser.parse_args()

    start = time.perf_counter()
    train = FashionMNIST(limit=args.n + args.max_train)
    test = FashionMNIST(split="test", limit=args.n)
    compared, fit_x = train.images[: args.n], train.images[args.n :]
    extractor = ClassifierExtractor(max_train=args.max_train, cache_dir=args.cache_dir,
                                    device="cpu")
    extractor.fit(to_signed(fit_x), train.labels[args.n :], dataset="fashion_mnist",
                  params={"bench": "resize_fidelity", "limit": args.n + args.max_train},
                  num_classes=10)
    test_features = extractor.features(to_signed(test.images))
    print(f"Fashion-MNIST: {args.n} train vs {args.n} test images, round trip 28 -> "
          f"{args.size} -> 28; classifier:fashion_mnist trained on {fit_x.shape[0]} other train "
          f"images ({'cached' if extractor.from_cache else 'trained now'}, held-out accuracy "
          f"{extractor.accuracy:.3f})")
    print()
    print("| mode | FID vs test | test accuracy after round trip | mean abs pixel change | "
          "pixels unchanged |")
    print("|---|---:|---:|---:|---:|")
    for mode in MODES:
        trip = round_trip(compared, mode, args.size)
        fid = fid_from_features(extractor.features(to_signed(trip)), test_features)
        test_trip = round_trip(test.images, mode, args.size)
        accuracy = float((extractor.probs(to_signed(test_trip)).argmax(1) == test.labels)
                         .float().mean())
        change = (trip.to(torch.int16) - compared.to(torch.int16)).abs()
        print(f"| {mode} | {fid:.3f} | {accuracy:.4f} | {change.float().mean():.2f} | "
              f"{float((change == 0).float().mean()) * 100:.1f}% |")
    print()
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
