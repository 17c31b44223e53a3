"""Per-actor-day features: the table every detector builds on.

``build_features(store, since)`` (re)computes ``features_actor_day`` in the event store;
``FEATURE_COLUMNS`` names its numeric columns in table order and ``FEATURES`` says what each
one means.
"""

from custodes.detect.features.build import TABLE, build_features
from custodes.detect.features.catalog import FEATURE_COLUMNS, FEATURES, Feature, Group, Kind

__all__ = ["FEATURES", "FEATURE_COLUMNS", "TABLE", "Feature", "Group", "Kind", "build_features"]
