"""``python -m cv3data --out DIR --num-images N --seed S``: write a synthetic COCO folder."""

from __future__ import annotations

import argparse
import sys

from .scenes import SHAPE_NAMES, make_scenes, write_coco


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cv3data", description=__doc__)
    parser.add_argument("--out", required=True, help="folder to write PNGs and annotations.json to")
    parser.add_argument("--num-images", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--height", type=int, default=128)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--num-classes", type=int, default=3, choices=range(1, len(SHAPE_NAMES) + 1))
    parser.add_argument("--max-objects", type=int, default=6)
    args = parser.parse_args(argv)
    try:
        scenes = make_scenes(
            args.num_images,
            seed=args.seed,
            image_size=(args.height, args.width),
            num_classes=args.num_classes,
            max_objects=args.max_objects,
        )
    except ValueError as err:
        parser.error(str(err))
    path = write_coco(args.out, scenes, category_names=SHAPE_NAMES[: args.num_classes])
    n_boxes = sum(len(s["labels"]) for s in scenes)
    print(f"wrote {len(scenes)} images, {n_boxes} boxes: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
