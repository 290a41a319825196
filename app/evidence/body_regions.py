"""The coded body regions a finding is placed on: a fixed list for the front and the back of the body, each with its
plain label, its head-to-foot order and where its marker sits on the body diagram.

Left and right are always the person's own: on the front view their right side is on the viewer's left, on the
back view it is on the viewer's right. Codes are stored in findings.region_code (and named in that column's CHECK
constraint), so a code is never renamed or reused: a new region gets a new code and a migration.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class View(enum.StrEnum):
    front = "front"
    back = "back"


VIEW_LABELS = {View.front: "Front of the body", View.back: "Back of the body"}

# Where each outline is drawn on the diagram (its centre line) and how large the diagram is.
VIEW_CENTRE = {View.front: 100, View.back: 300}
DIAGRAM_WIDTH = 400
DIAGRAM_HEIGHT = 430


@dataclass(frozen=True)
class BodyRegion:
    code: str
    label: str
    view: View
    order: int  # head to foot; regions at the same height are neighbours
    x: int  # the marker's centre on the diagram
    y: int


def _x(view: View, side: str, offset: int) -> int:
    """The diagram's x for a point `offset` from the centre line on the person's `side` ("L", "R" or "" for the
    middle): the person's right is drawn on the viewer's left in the front view and on the viewer's right in the
    back view."""
    if not side:
        return VIEW_CENTRE[view]
    towards_viewers_right = (side == "L") == (view is View.front)
    return VIEW_CENTRE[view] + (offset if towards_viewers_right else -offset)


# (code suffix, label, view, side, offset from the centre line, height), head to foot.
_PARTS: tuple[tuple[str, str, View, str, int, int], ...] = (
    ("HEAD", "Head, front (forehead and scalp)", View.front, "", 0, 30),
    ("HEAD", "Head, back (scalp)", View.back, "", 0, 40),
    ("FACE", "Face", View.front, "", 0, 52),
    ("NECK", "Neck, front", View.front, "", 0, 72),
    ("NECK", "Neck, back", View.back, "", 0, 72),
    ("SHOULDER-R", "Right shoulder, front", View.front, "R", 32, 92),
    ("SHOULDER-L", "Left shoulder, front", View.front, "L", 32, 92),
    ("SHOULDER-R", "Right shoulder, back", View.back, "R", 32, 92),
    ("SHOULDER-L", "Left shoulder, back", View.back, "L", 32, 92),
    ("CHEST-R", "Right side of the chest", View.front, "R", 18, 116),
    ("CHEST-L", "Left side of the chest", View.front, "L", 18, 116),
    ("BACK-UPPER", "Upper back", View.back, "", 0, 120),
    ("ARM-UPPER-R", "Right upper arm, front", View.front, "R", 55, 126),
    ("ARM-UPPER-L", "Left upper arm, front", View.front, "L", 55, 126),
    ("ARM-UPPER-R", "Right upper arm, back", View.back, "R", 55, 126),
    ("ARM-UPPER-L", "Left upper arm, back", View.back, "L", 55, 126),
    ("ABDOMEN", "Abdomen", View.front, "", 0, 166),
    ("BACK-LOWER", "Lower back", View.back, "", 0, 172),
    ("FOREARM-R", "Right forearm, front (inner side)", View.front, "R", 62, 184),
    ("FOREARM-L", "Left forearm, front (inner side)", View.front, "L", 62, 184),
    ("FOREARM-R", "Right forearm, back (outer side)", View.back, "R", 62, 184),
    ("FOREARM-L", "Left forearm, back (outer side)", View.back, "L", 62, 184),
    ("WRIST-R", "Right wrist, front", View.front, "R", 65, 210),
    ("WRIST-L", "Left wrist, front", View.front, "L", 65, 210),
    ("WRIST-R", "Right wrist, back", View.back, "R", 65, 210),
    ("WRIST-L", "Left wrist, back", View.back, "L", 65, 210),
    ("GROIN", "Groin and genital area", View.front, "", 0, 222),
    ("BUTTOCK-R", "Right buttock", View.back, "R", 18, 214),
    ("BUTTOCK-L", "Left buttock", View.back, "L", 18, 214),
    ("HAND-R", "Right hand, palm", View.front, "R", 66, 234),
    ("HAND-L", "Left hand, palm", View.front, "L", 66, 234),
    ("HAND-R", "Right hand, back", View.back, "R", 66, 234),
    ("HAND-L", "Left hand, back", View.back, "L", 66, 234),
    ("THIGH-R", "Right thigh, front", View.front, "R", 22, 262),
    ("THIGH-L", "Left thigh, front", View.front, "L", 22, 262),
    ("THIGH-R", "Right thigh, back", View.back, "R", 22, 262),
    ("THIGH-L", "Left thigh, back", View.back, "L", 22, 262),
    ("KNEE-R", "Right knee", View.front, "R", 24, 302),
    ("KNEE-L", "Left knee", View.front, "L", 24, 302),
    ("KNEE-R", "Back of the right knee", View.back, "R", 24, 302),
    ("KNEE-L", "Back of the left knee", View.back, "L", 24, 302),
    ("LEG-LOWER-R", "Right shin", View.front, "R", 24, 338),
    ("LEG-LOWER-L", "Left shin", View.front, "L", 24, 338),
    ("LEG-LOWER-R", "Right calf", View.back, "R", 24, 338),
    ("LEG-LOWER-L", "Left calf", View.back, "L", 24, 338),
    ("ANKLE-R", "Right ankle", View.front, "R", 24, 366),
    ("ANKLE-L", "Left ankle", View.front, "L", 24, 366),
    ("FOOT-R", "Top of the right foot", View.front, "R", 24, 386),
    ("FOOT-L", "Top of the left foot", View.front, "L", 24, 386),
    ("SOLE-R", "Sole of the right foot", View.back, "R", 24, 386),
    ("SOLE-L", "Sole of the left foot", View.back, "L", 24, 386),
)

REGIONS: tuple[BodyRegion, ...] = tuple(
    BodyRegion(f"{'F' if view is View.front else 'B'}-{suffix}", label, view, order, _x(view, side, offset), y)
    for order, (suffix, label, view, side, offset, y) in enumerate(_PARTS, start=1)
)
BY_CODE: dict[str, BodyRegion] = {region.code: region for region in REGIONS}
CODES: tuple[str, ...] = tuple(BY_CODE)
CODE_LENGTH = 16

# The keys the finding form offered before coded regions, with the words it showed for them: findings recorded
# then keep these (or free text) in findings.body_region, and are listed by them.
LEGACY_LABELS: dict[str, str] = {
    "head_front": "Head (front)", "head_back": "Head (back)", "face": "Face", "neck": "Neck", "chest": "Chest",
    "abdomen": "Abdomen", "upper_back": "Upper back", "lower_back": "Lower back", "genital_area": "Genital area",
    "buttocks": "Buttocks", "right_upper_arm": "Right upper arm", "right_forearm": "Right forearm",
    "right_hand": "Right hand", "left_upper_arm": "Left upper arm", "left_forearm": "Left forearm",
    "left_hand": "Left hand", "right_thigh": "Right thigh", "right_lower_leg": "Right lower leg",
    "right_foot": "Right foot", "left_thigh": "Left thigh", "left_lower_leg": "Left lower leg",
    "left_foot": "Left foot", "soles_of_feet": "Soles of feet", "other": "Other",
}


def region_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The select's option groups: front, then back, each head to foot."""
    return [(VIEW_LABELS[view], [(r.code, r.label) for r in REGIONS if r.view is view]) for view in View]


def legacy_site(body_region: str) -> str:
    """The words for a site recorded before coded regions."""
    return LEGACY_LABELS.get(body_region, body_region)


# Where the second, third ... marker on one region goes, relative to the first, so that none hides another.
_SPREAD = ((0, 0), (0, -15), (0, 15), (-14, -8), (14, -8), (-14, 8), (14, 8), (-15, 0), (15, 0))


def marker_position(region: BodyRegion, index: int) -> tuple[int, int]:
    """The centre of the `index`th marker (from 0) on a region."""
    dx, dy = _SPREAD[index % len(_SPREAD)]
    ring = 1 + index // len(_SPREAD)
    return region.x + dx * ring, region.y + dy * ring
