"""Prepared datasets: images decoded, cropped and resized once into a memory-mappable file.

``gancore data prepare SOURCE OUT`` (:mod:`.writer`) turns a folder of images, an IDX file or
a registered image dataset (:mod:`.sources`) into a folder holding ``images.npy`` (uint8
``N×C×H×W``), ``labels.npy`` (int64 ``N``) and ``manifest.json`` (:mod:`.manifest`). The
dataset ``data.type = "prepared"`` (:mod:`.dataset`) reads it through a memory map without
decoding anything at training time. :mod:`.imaging` holds the per-image conversion; it imports
neither torch nor gancore's registry, so worker processes start quickly.
"""
