"""Other spellings of a recorded name part: a table of transliterations, and a phonetic match for the rest."""

from __future__ import annotations

from functools import lru_cache

import jellyfish

# Names seen across the nationalities most often detained in the UK, each group one name as it is transliterated
# from Arabic, Persian, Pashto, Kurdish, Urdu, Tigrinya, Amharic, Somali, Albanian, Turkish, Ukrainian or Russian.
# Phonetic codes catch most respellings (Youssef for Yusuf); this table holds the ones that sound alike to a
# listener but share no code (Joseph for Yusuf, Mehmet for Mohammed, Alexander for Oleksandr). No package keeps
# such a table for these languages (the "nicknames" data set is English given names only), so it is kept here.
_GROUPS = """
mohammed muhammad mohammad mohamed mohamad muhammed mohamud mahamed mehmet mehmed mohammud mamadou mahomed mahmed
ahmed ahmad ahmet achmed ahmadou
mahmoud mahmud mahmood mahmut
yusuf youssef yousef yousif yusef yosef josef joseph iosif yusif yousuf yoseph
ibrahim ebrahim ibraheem abraham ibrahima ebrahima
ismail ismael esmail ismayil ismaeel
ishaq isaac ishak ishaak
yaqub yacoub yakub jacob yaqoob yakup jakub
musa moussa mousa moses mussa
isa issa eesa jesus
dawit daoud dawood dawud david davit daud
suleiman sulaiman sulayman solomon suleyman sileshi selemon
yohannes yohanes johannes yohanis john yahya ioannis ivan jon
mikael michael mikhail mikail mickael mihail mykhailo
gabriel jibril jebril gebriel gavriil
daniel danial daniyal
elias ilyas ilias elijah ilya
yunus younes younis jonah jonas
nuh nooh noah
harun haroun haroon aaron harun
omar umar omer umer
osman uthman othman usman
ali aly alee
hussein husain hossein husayn hussain huseyin husein
hassan hasan hasen
abdul abdel abd abdoul abdal
abdullah abdallah abdulla abdollah
abdulrahman abdurrahman abdelrahman abdirahman abdoulrahmane
abdirahim abdulrahim abdelrahim
mustafa mostafa mustapha moustafa mustefa
khalid khaled halid
karim kareem kerim
rahim raheem rahime
reza rida redha riza
mehdi mahdi mehdy
jafar jaafar djafar ja'far
fatima fatma fatemeh fatuma fatouma fadumo faduma
aisha ayesha aysha aicha ayşe aishah
khadija khadijah hadija khadidja hatice kadija
maryam mariam miriam mariama meryem maria mary marjam
zainab zeinab zaynab zeynep
amina aminah amena aminata emine
halima halimah haleema
asha aasha aysha
hawa hauwa hava eva
yasmin yasmine jasmine yasmina
leila layla laila leyla
nur noor nour
olexandr oleksandr oleksander aleksandr alexander alexandr alejandro oleksandra aleksandra alexandra
oleksiy aleksei alexei alexey oleksii
dmytro dmitri dmitry dimitri
yuriy yuri yury
serhiy sergei sergey serhii
andriy andrei andrey andrii andrew
mykola nikolai nikolay nicholas nikolaj
petro pyotr peter petr
volodymyr vladimir wladimir
olena elena yelena helen olena
tetiana tatiana tatyana
kateryna ekaterina katerina catherine
natalia natalya nataliya
mehmet mehmed
tesfay tesfaye tesfai tesfa
gebre gabre ghebre gebreh
tekle teklay tecle
haile hailu haylay
berhane berhe birhane berhan
ghebremedhin gebremedhin
kidane kidan
afewerki afeworki
tsegay tsegaye tsegai
negash negasi
selam selamawit
senait senayt
"""


def _groups() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for line in _GROUPS.strip().splitlines():
        words = {"".join(c for c in word if c.isalpha()) for word in line.split()}
        for word in words:
            table.setdefault(word, set()).update(words)
    return {word: frozenset(group - {word}) for word, group in table.items()}


VARIANTS: dict[str, frozenset[str]] = _groups()


def variants(part: str) -> frozenset[str]:
    """Other spellings of one folded name part (lower case, no accents) from the table; empty if it has none."""
    return VARIANTS.get(part, frozenset())


@lru_cache(maxsize=16384)
def _codes(word: str) -> tuple[str, str]:
    return jellyfish.metaphone(word), jellyfish.nysiis(word)


def sounds_like(word: str, part: str) -> bool:
    """Whether a folded word is plausibly another spelling of a folded name part of four letters or more.

    A shared phonetic code (Metaphone or NYSIIS) alone matches too much ("amen" and "amina"); a Jaro-Winkler
    similarity of 0.8 or more as well keeps the match to respellings. Both must start with the same kind of
    letter: transliteration moves vowels (Osman, Usman) but seldom the first consonant.
    """
    if len(word) < 4 or len(part) < 4 or word == part or not word.isascii() or not word.isalpha():
        return False
    first_word, first_part = word[0], part[0]
    if first_word != first_part and not (first_word in "aeiouy" and first_part in "aeiouy"):
        return False
    word_codes, part_codes = _codes(word), _codes(part)
    shared = (word_codes[0] == part_codes[0] and len(part_codes[0]) >= 2) or word_codes[1] == part_codes[1]
    return shared and jellyfish.jaro_winkler_similarity(word, part) >= 0.8
