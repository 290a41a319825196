"""What users read about an alert follows the settings: no threshold is written into the text."""

from __future__ import annotations

import re

from app.alerts.rules import RULES
from app.config import Settings


def test_explanations_say_the_thresholds_the_settings_give():
    settings = Settings(alert_admission_exam_irc_hours=30, alert_admission_exam_sthf_hours=3,
                        alert_fluid_refusal_hours=20, alert_food_refusal_hours=50)
    exam = RULES["no_admission_exam"].describe(settings)
    assert "30 hours" in exam and "3 hours at a short-term holding facility" in exam
    refusal = RULES["food_fluid_refusal"].describe(settings)
    assert "more than 20 hours" in refusal and "food refusal more than 50 hours" in refusal


def test_no_explanation_writes_a_number_of_hours_or_days_itself():
    for rule in RULES.values():
        if rule.id == "length_band_crossed":
            continue  # it lists the Home Office's own bands, which are not a setting
        assert not re.search(r"\d+ (hours|days|working days|months)", rule.explanation), rule.id
