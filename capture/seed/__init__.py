"""Seed 1.0.0 manifests: models with the spec's defaults, validation, image-label reading.

Public API::

    load_manifest(path_or_dict) -> SeedManifest     # raises ManifestError(problems)
    validate_manifest(data) -> list[Problem]        # Problem(json_path, message); [] when valid
    parse_label(value) -> dict                      # plain or escaped label encodings
    manifest_from_image(image) -> SeedManifest      # reads com.ngageoint.seed.manifest
    normalize(name) -> str                          # Seed's env-var name normalization
"""

from capture.seed.label import LABEL, manifest_from_image, parse_label
from capture.seed.models import SeedManifest
from capture.seed.validate import Problem, load_manifest, normalize, read_json, validate_manifest

__all__ = [
    "LABEL",
    "Problem",
    "SeedManifest",
    "load_manifest",
    "manifest_from_image",
    "normalize",
    "parse_label",
    "read_json",
    "validate_manifest",
]
