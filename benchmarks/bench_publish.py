"""Publish time for a new and for an unchanged definition, against the sandbox's S3 (moto).

    python benchmarks/bench_publish.py [--repeat N]

A new definition costs a HEAD (bundle), a HEAD (definition), the PUT of the definition and
of the four bundle files, and an STS call; an unchanged one costs a single HEAD.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from common import Row, table  # beside this script

from jupyter_ack import load
from jupyter_ack.bundle.publish import publish
from jupyter_ack.examples import example_path
from jupyter_ack.sandbox import Sandbox

GROUP = "publish"


def measure(repeat: int) -> list[Row]:
    base = json.loads(example_path().read_text())
    saved = dict(os.environ)
    try:
        with Sandbox() as sb:
            os.environ.update(sb.env)
            s3 = sb.aws_client("s3")
            s3.create_bucket(Bucket="bench")
            s3.put_bucket_versioning(Bucket="bench", VersioningConfiguration={"Status": "Enabled"})
            new, same = [], []
            for i in range(repeat):
                base["Parameters"][0]["DefaultValue"] = i  # a new content address each time
                defn = load(json.loads(json.dumps(base)), name="bench")
                t = time.perf_counter()
                first = publish(defn, bucket="bench")
                new.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                again = publish(defn, bucket="bench")
                same.append((time.perf_counter() - t) * 1000)
                assert first.uploaded
                assert not again.uploaded
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return [
        Row(
            GROUP,
            f"publish, {name} (sandbox S3 over HTTP)",
            statistics.median(values),
            "ms",
            note=f"max {max(values):.1f} ms; median of {len(values)}",
        )
        for name, values in (("new definition", new), ("unchanged definition", same))
    ]


def run(quick: bool) -> list[Row]:
    return measure(5 if quick else 20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(table(measure(args.repeat)))


if __name__ == "__main__":
    main()
