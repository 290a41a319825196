"""Word lists for the demo generator: invented names and stock phrases that no one could take for real."""

from __future__ import annotations

# Every name is built on a marker root (test, demo, fict, sampl, mock, synth, pseudo, dumm, exampl, proxy)
# so that a screenshot or an export of demo data is recognisable as fictional at a glance. The endings
# borrow the shape of several naming traditions so that lists and searches look varied.
GIVEN_NAMES = (
    "Testani", "Testora", "Testimo", "Demola", "Demiro", "Demaya", "Fictina", "Fictoro", "Fictadu",
    "Samplo", "Samplina", "Samplesh", "Mockeli", "Mockaro", "Mockinda", "Synthedo", "Synthara", "Synthobi",
    "Pseudami", "Pseudoro", "Pseudela", "Dummeta", "Dummiko", "Dummasi", "Examplia", "Examplo", "Examplu",
    "Proxolu", "Proxemi", "Proxandra", "Testfemi", "Demokwe", "Fictayo", "Samplaz", "Mocktan", "Synthuan",
    "Pseudari", "Dummhai", "Examplin", "Proxira",
)

FAMILY_NAMES = (
    "Testov", "Demoyan", "Fictivo", "Samplewicz", "Mockerson", "Synthadze", "Pseudonu", "Dummani",
    "Exampleby", "Proxidis", "Testimbe", "Demolowo", "Fictasi", "Samplingo", "Mockwe", "Synthiadis",
    "Pseudoglu", "Dummetti", "Examplova", "Proxhaj", "Testuddin", "Demonguyen", "Fictarzai", "Samplehosseini",
    "Mockovic", "Synthkaya", "Pseudokoro", "Dummabeke", "Examplescu", "Proxmensah", "Testarian",
    "Demoqureshi",
    "Fictanda", "Sampleberhe", "Mocktesfay", "Synthwarsame", "Pseudolami", "Dummchowdhury", "Examplelle",
    "Proxidou",
)

# (ISO 3166-1 alpha-2, main language, weight). Roughly the nationalities most often held in UK detention.
NATIONALITIES = (
    ("AL", "Albanian", 14), ("IN", "Punjabi", 8), ("PK", "Urdu", 8), ("VN", "Vietnamese", 8),
    ("ER", "Tigrinya", 6), ("SD", "Arabic", 6), ("AF", "Pashto", 6), ("IQ", "Kurdish Sorani", 5),
    ("IR", "Farsi", 5), ("NG", "English", 5), ("BD", "Bengali", 5), ("CN", "Mandarin", 4),
    ("JM", "English", 3), ("RO", "Romanian", 3), ("PL", "Polish", 2), ("EG", "Arabic", 2),
    ("SY", "Arabic", 3), ("ET", "Amharic", 3), ("SO", "Somali", 2), ("GH", "Twi", 2), ("LK", "Tamil", 2),
    ("TR", "Turkish", 2), ("BR", "Portuguese", 1), ("KW", "Arabic", 1), ("GE", "Georgian", 1),
)

SECOND_LANGUAGES = ("English", "English", "English", "Arabic", "French", "Dari", "Italian", "Hindi")

SPELLING_SWAPS = (("y", "i"), ("i", "y"), ("o", "ou"), ("k", "c"), ("v", "w"), ("sh", "ch"), ("ae", "e"),
                  ("u", "ou"), ("e", "a"), ("dz", "dj"))

GP_AUTHORS = (
    "Dr T. Testov (IRC healthcare, demo)", "Dr D. Demoyan (IRC healthcare, demo)",
    "Dr F. Fictivo (IRC healthcare, demo)", "Dr S. Samplewicz (IRC healthcare, demo)",
)
EXTERNAL_AUTHORS = (
    "Dr M. Mockerson, forensic physician (demo)", "Dr P. Pseudonu, consultant psychiatrist (demo)",
    "Demo General Hospital, emergency department", "Fictional Health Centre GP practice",
    "Dr E. Examplova, clinical psychologist (demo)",
)
# The register of legal representatives: (firm, phone, address, legal-aid contract, caseworkers), each caseworker
# (name, e-mail), the name None for a firm known only by its general line. Phones are in Ofcom's drama range
# (01632 960xxx), e-mails at example.org, streets invented.
LEGAL_FIRMS: tuple[tuple[str, str, str, bool, tuple[tuple[str | None, str], ...]], ...] = (
    ("Demo & Co Solicitors (fictional)", "01632 960001", "12 Fictional Street, Demoton DM1 4AA", True,
     (("Testora Demoyan", "t.demoyan@demo-and-co.example.org"),
      ("Fictoro Samplewicz", "f.samplewicz@demo-and-co.example.org"))),
    ("Fictional Law Centre (fictional)", "01632 960123", "Unit 3, Sample Yard, Mockford MK9 2ZZ", True,
     (("Mockinda Proxidis", "immigration@fictional-law-centre.example.org"),)),
    ("Sample Chambers Immigration Team (fictional)", "01632 960555", "4 Pretend Row, Demoton DM2 7QX", False,
     (("Synthara Exampleby", "s.exampleby@sample-chambers.example.org"),
      ("Pseudoro Dummani", "p.dummani@sample-chambers.example.org"))),
    ("Mock Street Legal Advice (fictional)", "01632 960210", "88 Mock Street, Fictbury FB4 1NN", True,
     ((None, "advice@mock-street-legal.example.org"),)),
    ("Synthetic Rights Solicitors (fictional)", "01632 960318", "2 Invented Lane, Samplington SA3 8PD", False,
     (("Examplia Testimbe", "e.testimbe@synthetic-rights.example.org"),)),
)
# A caseworker who has left their firm: archived in the register, named only by ended representations.
FORMER_CASEWORKER = ("Demo & Co Solicitors (fictional)", "Dummiko Fictasi", "d.fictasi@demo-and-co.example.org")
# The firm each case's old free-text choice named (None: no representative recorded); drawn once per person.
LEGAL_REPRESENTATIVES = (
    "Demo & Co Solicitors (fictional)", "Fictional Law Centre (fictional)",
    "Sample Chambers Immigration Team (fictional)", None, None,
)

# Country names for the nationalities above: where a removal is to, what a request for help says.
COUNTRY_NAMES = {
    "AL": "Albania", "IN": "India", "PK": "Pakistan", "VN": "Vietnam", "ER": "Eritrea", "SD": "Sudan",
    "AF": "Afghanistan", "IQ": "Iraq", "IR": "Iran", "NG": "Nigeria", "BD": "Bangladesh", "CN": "China",
    "JM": "Jamaica", "RO": "Romania", "PL": "Poland", "EG": "Egypt", "SY": "Syria", "ET": "Ethiopia",
    "SO": "Somalia", "GH": "Ghana", "LK": "Sri Lanka", "TR": "Turkey", "BR": "Brazil", "KW": "Kuwait",
    "GE": "Georgia",
}
REMOVAL_CARRIERS = (
    "Charter flight (demo)", "Demo Airways DA 204 (fictional)", "Fictair FX 311 (fictional)",
    "Sample Air SA 87 (fictional)", "Mockjet MJ 1450 (fictional)",
)
REMOVAL_SOURCES = (
    "Home Office letter seen by the person", "Legal representative, by phone", "The person, by phone from the centre",
    "Centre welfare office", None,
)
HEARING_VENUES = (
    "Taylor House (First-tier Tribunal)", "Hatton Cross (First-tier Tribunal)", "Field House (Upper Tribunal)",
    "Royal Courts of Justice (Administrative Court)", "Priory Courts, Birmingham (First-tier Tribunal)",
)

# Requests for help: who else asks, and what they say (all invented).
VISITOR_GROUPS = ("Demo Detention Visitors (fictional)", "Fictional Befrienders Network",
                  "Sample Friends of Detainees (fictional)")
CHARITIES = ("Mock Refugee Support (fictional)", "Example Asylum Advice Charity (fictional)")
HEALTHCARE_SENDERS = ("Centre healthcare team (demo)", "Demo General Hospital liaison nurse")
REQUEST_SUMMARIES = (
    "Has scars from beatings and wants them documented for the asylum claim.",
    "Stopped eating four days ago; very low mood, says cannot cope with detention.",
    "Removal directions set; solicitor asks whether a medical report can be done in time.",
    "Rule 35 appointment cancelled twice; describes torture in home country.",
    "Hearing voices at night since transfer; medication not continued at the centre.",
    "Possible trafficking: describes forced work without pay for years.",
    "Bail hearing soon; representative needs a short clinical letter.",
    "Self-harm last week; ACDT opened, wants to speak to a doctor outside the centre.",
)
DECISION_NOTES = {
    "accepted": ("Accepted: case opened and a clinician assigned.", "Accepted after a call back to the referrer."),
    "declined": ("Declined: outside our criteria (not in detention).", "Declined: another clinic already acting."),
    "signposted": ("Signposted to a partner better placed to help.", "Signposted: needs legal advice first."),
    "more_information": ("Asked the referrer for the person's Home Office reference.",
                         "Waiting for consent to be confirmed before deciding."),
}

PRESENTING_CONCERNS = (
    "Poor sleep and nightmares since arrival; intrusive memories of past ill-treatment.",
    "Reports scars on back and legs from beatings in home country; wants them documented.",
    "Low mood, not eating, says cannot go on like this.",
    "Chest pain on exertion, not yet seen by the centre GP.",
    "Headaches and flashbacks; struggles to follow bail paperwork.",
    "Requested review of medication that was stopped on transfer.",
    "Describes being forced to work without pay for several years.",
    "Anxious about removal date; hearing voices at night.",
    "Follow-up of wound on forearm; dressing not changed for days.",
    "Asks for help with Rule 35 appointment that was cancelled.",
)
FINDINGS_TEXT = (
    "Flat affect, poor eye contact, tearful at times. Oriented. No psychotic features observed.",
    "Multiple linear hyperpigmented scars on posterior thorax, 3-12 cm.",
    "Weight loss of about 6 kg reported since detention began; appears thin.",
    "Well-healed surgical scar, no acute findings. BP 142/91.",
    "Features consistent with PTSD (re-experiencing, avoidance, hyperarousal).",
    "Superficial self-inflicted lacerations to left forearm, healing.",
    "Restricted range of movement in right shoulder; tenderness on palpation.",
)
ACTIONS_TEXT = (
    "Letter to centre healthcare requesting GP review within 24 hours.",
    "Requested Rule 35(3) appointment; consent to share obtained.",
    "Referred for medico-legal report; body map completed.",
    "Advised on ACDT process; will phone next week.",
    "Shared summary with legal representative (consent on file).",
    "No further action today; review at next visit.",
    "Emailed bail charity with clinical summary for bail application.",
)
EVIDENCE_SUMMARIES = (
    "Report documents scarring attributed to beatings with a stick during detention abroad.",
    "GP records show antidepressant prescribed, later stopped on transfer between centres.",
    "Psychiatric opinion: moderate depressive episode with PTSD; detention likely to worsen it.",
    "Home Office accepts the person is an adult at risk at level 2 but maintains detention.",
    "Hospital discharge letter after overdose; follow-up with mental health team advised.",
    "Photographs of scars on both forearms and the back, with scale ruler.",
    "Body map of lesions recorded at the clinic appointment.",
)
BODY_REGIONS = (
    "head", "face", "neck", "chest", "abdomen", "upper back", "lower back", "left upper arm",
    "right upper arm", "left forearm", "right forearm", "left hand", "right hand", "left thigh",
    "right thigh",
    "left lower leg", "right lower leg", "soles of feet", "genital area", "buttocks",
)
FINDING_DESCRIPTIONS = (
    "Linear hyperpigmented scar, 6 cm", "Round atrophic scar, 1 cm, consistent in size with a cigarette burn",
    "Irregular hypertrophic scar, 4 x 2 cm", "Parallel tramline scars", "Healed fracture deformity",
    "Circumferential scarring at the wrist", "Reported chronic pain without visible lesion",
)
ATTRIBUTED_CAUSES = (
    "beating with a stick", "cigarette burns", "restraint with ropes", "falanga",
    "assault with a blade", "suspension by the wrists", "kicking while held down", None,
)
REFERRAL_REASONS = (
    "Bail application support", "Assessment for medico-legal report", "Legal advice on removal directions",
    "Torture rehabilitation assessment", "Possible trafficking indicators: NRM consideration",
    "Practical support on release", "Mental health follow-up in the community",
)
REFERRAL_OUTCOMES = (
    "Appointment offered", "Case accepted; caseworker allocated", "Declined: outside criteria",
    "Report completed and sent to legal representative", "Bail granted with conditions", None,
)
HEALTH_EVENT_NOTES = (
    "Reported by the person on the phone.", "Confirmed by centre healthcare.",
    "Seen on the wing by visiting clinician.", "Legal representative informed.", None, None,
)
EPISODE_NOTES = ("Detained after reporting at a Home Office office.", "Detained on arrival.",
                 "Detained after a prison sentence ended.", None, None, None)

# The contact log of the demo cases: (kind, with whom, summary). Fictional and free of names.
CASE_NOTES = (
    ("call", "home_office", "Called the Home Office detention engagement team to chase the Rule 35 response; told "
                            "it is with a caseworker and to call back in two days."),
    ("email", "representative", "E-mailed the solicitor the visit summary and asked whether a bail application "
                                "is planned."),
    ("call", "person", "Called the person in the centre with an interpreter: says sleep is still poor and the "
                       "healthcare appointment was cancelled."),
    ("call", "centre_healthcare", "Spoke to the centre's healthcare team: an ACDT review is booked for tomorrow."),
    ("letter", "home_office", "Sent a letter to the Home Office asking for detention to be reviewed under the "
                              "Adults at Risk policy."),
    ("meeting", "representative", "Case meeting with the solicitor: agreed that a medico-legal report is needed "
                                  "before the hearing."),
    ("email", "organisation", "Referred on for specialist support; waiting for them to confirm an assessment "
                              "date."),
    ("call", "other", "The visitor group called: they saw the person on Sunday and are worried about weight loss."),
)
NOTE_ADDENDA = (
    "Correction: the call was with the duty caseworker, not the case owner.",
    "The healthcare appointment has since been rebooked.",
)
# Task titles: never a name (the demo shows how titles should be written: the case reference says who).
CASE_TASKS = (
    "Chase the Home Office for the Rule 35 response",
    "Send the visit summary to the solicitor",
    "Book an interpreter for the next visit",
    "Ask the centre's healthcare team for the medical records",
    "Check whether the bail hearing has been listed",
    "Record the consent to share with the referral organisation",
)
OWN_TASKS = (
    "Prepare the monthly figures for the trustees",
    "Renew the legal visits booking account",
    "Check the rota of volunteer clinicians for next month",
)
