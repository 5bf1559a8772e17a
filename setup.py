"""Builds the one C helper (score accumulation, see src/opsdoc/search/index/_postings.c).

It is optional: without a compiler the install goes on and opsdoc uses the
pure-Python twin in opsdoc.search.index.postings, slower on big indexes, same answers.
"""

import sys

from setuptools import Extension, setup

# Same sums as Python's: no fused multiply-add.
flags = [] if sys.platform == "win32" else ["-O2", "-ffp-contract=off"]

setup(
    ext_modules=[
        Extension(
            "opsdoc.search.index._postings",
            ["src/opsdoc/search/index/_postings.c"],
            extra_compile_args=flags,
            optional=True,
        )
    ]
)
