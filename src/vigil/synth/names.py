"""Random names by culture, and the spelling variants payment records really carry.

Names are random combinations of common given names and surnames: no real person is meant.
"""

from __future__ import annotations

import numpy as np

GIVEN_FEMALE: dict[str, tuple[str, ...]] = {
    "filipino": (
        "Maria",
        "Rosalie",
        "Marites",
        "Jocelyn",
        "Maricel",
        "Lorna",
        "Analyn",
        "Rowena",
        "Cristina",
        "Jennifer",
        "Marilou",
        "Evangeline",
        "Rosario",
        "Leonora",
        "Divina",
        "Jasmine",
        "Kristine",
        "Mary Grace",
        "Mylene",
        "Imelda",
        "Teresita",
        "Arlene",
        "Gemma",
        "Liza",
        "Charmaine",
        "Mae",
        "Rhea",
        "Shiela",
        "Joy",
        "Aileen",
        "Ma. Luisa",
        "Princess",
        "Angelica",
        "Nelia",
        "Wilma",
        "Dolores",
        "Erlinda",
        "Corazon",
        "Josephine",
    ),
    "thai": (
        "Somchai",
        "Malee",
        "Siriporn",
        "Nok",
        "Kanya",
        "Pim",
        "Ratana",
        "Araya",
        "Duangjai",
        "Pranee",
        "Sunisa",
        "Wanida",
        "Chanida",
        "Jintana",
    ),
    "lao": (
        "Keo",
        "Bounmy",
        "Chanthaly",
        "Noy",
        "Phonsavanh",
        "Souksavanh",
        "Vilayvanh",
        "Manivone",
        "Khamla",
        "Davone",
        "Sengdao",
        "Phetsamone",
    ),
    "indian": (
        "Priya",
        "Sunita",
        "Anjali",
        "Kavita",
        "Pooja",
        "Rekha",
        "Lakshmi",
        "Meena",
        "Deepa",
        "Asha",
        "Geeta",
        "Shanti",
        "Radha",
        "Nisha",
    ),
    "romanian": (
        "Elena",
        "Ioana",
        "Maria",
        "Andreea",
        "Mihaela",
        "Gabriela",
        "Alina",
        "Cristina",
        "Daniela",
        "Florentina",
        "Georgiana",
        "Roxana",
        "Simona",
    ),
    "hispanic": (
        "María",
        "Luz",
        "Carmen",
        "Diana",
        "Paola",
        "Yesenia",
        "Andrea",
        "Claudia",
        "Sandra",
        "Marisol",
        "Gloria",
        "Natalia",
        "Lucía",
        "Alejandra",
        "Rosa",
    ),
    "english": (
        "Susan",
        "Karen",
        "Linda",
        "Sarah",
        "Emma",
        "Helen",
        "Julie",
        "Rachel",
        "Lisa",
        "Michelle",
        "Amanda",
        "Laura",
        "Nicole",
        "Claire",
        "Joanne",
    ),
    "french": (
        "Nathalie",
        "Isabelle",
        "Sophie",
        "Céline",
        "Sandrine",
        "Valérie",
        "Claire",
        "Aurélie",
        "Camille",
        "Julie",
        "Émilie",
        "Sylvie",
    ),
    "german": (
        "Sabine",
        "Petra",
        "Claudia",
        "Anja",
        "Katrin",
        "Julia",
        "Andrea",
        "Nicole",
        "Stefanie",
        "Birgit",
        "Monika",
        "Susanne",
    ),
    "nordic": (
        "Ingrid",
        "Kari",
        "Anne",
        "Marit",
        "Liv",
        "Astrid",
        "Sigrid",
        "Karin",
        "Eva",
        "Maja",
        "Elin",
        "Hanne",
    ),
    "dutch": ("Anouk", "Sanne", "Lotte", "Femke", "Ingrid", "Marieke", "Eva", "Linda"),
    "italian": ("Giulia", "Francesca", "Chiara", "Paola", "Elena", "Laura", "Silvia"),
}
GIVEN_MALE: dict[str, tuple[str, ...]] = {
    "filipino": (
        "Jose",
        "Juan",
        "Rodel",
        "Ramon",
        "Eduardo",
        "Ricardo",
        "Danilo",
        "Rolando",
        "Jun",
        "Mark Anthony",
        "Jericho",
        "Rommel",
        "Arnel",
        "Noel",
        "Ferdinand",
        "Reynaldo",
        "Joel",
        "Alvin",
        "Romeo",
        "Efren",
        "Renato",
        "Jomar",
        "Randy",
    ),
    "thai": (
        "Somsak",
        "Prasert",
        "Anan",
        "Chaiwat",
        "Kittisak",
        "Niran",
        "Surachai",
        "Thanawat",
        "Wichai",
        "Boonmee",
    ),
    "lao": ("Bounthanh", "Khamphet", "Somphone", "Vanh", "Sisouk", "Thongchanh", "Phoukhong"),
    "indian": (
        "Rajesh",
        "Suresh",
        "Amit",
        "Vijay",
        "Ravi",
        "Sanjay",
        "Anil",
        "Manoj",
        "Arjun",
        "Rahul",
        "Deepak",
        "Prakash",
    ),
    "romanian": (
        "Andrei",
        "Ion",
        "Mihai",
        "Gheorghe",
        "Alexandru",
        "Florin",
        "Cristian",
        "Marius",
        "Adrian",
        "Bogdan",
        "Vasile",
        "Ionut",
    ),
    "hispanic": (
        "Carlos",
        "Juan",
        "Luis",
        "Jorge",
        "Andrés",
        "Diego",
        "Fernando",
        "Miguel",
        "Alejandro",
        "Javier",
        "Julián",
        "Santiago",
        "Héctor",
    ),
    "english": (
        "David",
        "John",
        "Michael",
        "Paul",
        "Mark",
        "Steven",
        "Gary",
        "Kevin",
        "Brian",
        "Robert",
        "James",
        "Richard",
        "Peter",
        "Andrew",
        "Thomas",
        "Jason",
        "Scott",
        "Daniel",
        "Christopher",
        "Anthony",
        "Wayne",
        "Graham",
        "Neil",
        "Keith",
    ),
    "french": (
        "Alain",
        "Philippe",
        "Thierry",
        "Christophe",
        "Laurent",
        "Pascal",
        "Olivier",
        "Stéphane",
        "Éric",
        "Frédéric",
        "Patrick",
        "Jean-Marc",
        "Didier",
        "Bruno",
    ),
    "german": (
        "Thomas",
        "Michael",
        "Andreas",
        "Stefan",
        "Frank",
        "Jürgen",
        "Uwe",
        "Klaus",
        "Matthias",
        "Jörg",
        "Markus",
        "Ralf",
        "Dirk",
        "Bernd",
    ),
    "nordic": (
        "Lars",
        "Ole",
        "Per",
        "Jan",
        "Erik",
        "Bjørn",
        "Knut",
        "Anders",
        "Magnus",
        "Håkan",
        "Terje",
        "Geir",
        "Stig",
        "Jonas",
    ),
    "dutch": ("Jan", "Pieter", "Dirk", "Henk", "Kees", "Marco", "Ruud", "Bas", "Joost"),
    "italian": ("Marco", "Giuseppe", "Luca", "Andrea", "Paolo", "Stefano", "Roberto"),
}
SURNAMES: dict[str, tuple[str, ...]] = {
    "filipino": (
        "Santos",
        "Reyes",
        "Cruz",
        "Bautista",
        "Garcia",
        "Mendoza",
        "Dizon",
        "Galang",
        "Villanueva",
        "Ramos",
        "Aquino",
        "Castillo",
        "Manalo",
        "Pascual",
        "Navarro",
        "Fernandez",
        "Dela Cruz",
        "De Leon",
        "Torres",
        "Flores",
        "Gonzales",
        "Lopez",
        "Mercado",
        "Tolentino",
        "Salazar",
        "Soriano",
        "Marquez",
        "Aguilar",
        "Domingo",
        "Macaraeg",
        "Manansala",
        "Pangilinan",
        "Sison",
        "Lacson",
        "Yap",
        "Tan",
        "Sy",
        "Panganiban",
        "Magbanua",
        "Dimaculangan",
        "Buenaventura",
        "Espiritu",
        "Quiambao",
        "Lagman",
        "Cabrera",
        "Velasco",
        "Rivera",
        "Samonte",
        "Ocampo",
        "Gatchalian",
        "Evangelista",
        "Javier",
        "Sarmiento",
        "Tuazon",
        "Basa",
        "Cayabyab",
        "Macapagal",
        "Sanchez",
        "Roxas",
        "Alvarez",
        "Abad",
        "Ignacio",
        "Cunanan",
        "Layug",
        "Yumul",
    ),
    "thai": (
        "Srisuk",
        "Wongsa",
        "Chaiyaporn",
        "Saetang",
        "Kaewmanee",
        "Boonyarat",
        "Rattanakorn",
        "Suksawat",
        "Thongdee",
        "Phromma",
        "Jaidee",
        "Sangthong",
    ),
    "lao": (
        "Phommachanh",
        "Sisavath",
        "Vongsa",
        "Keomany",
        "Inthavong",
        "Souvannavong",
        "Phanthavong",
        "Chanthavong",
        "Sayavong",
        "Luangrath",
        "Khounvisith",
    ),
    "indian": (
        "Sharma",
        "Kumar",
        "Singh",
        "Patel",
        "Das",
        "Reddy",
        "Nair",
        "Iyer",
        "Gupta",
        "Yadav",
        "Mondal",
        "Ghosh",
        "Rao",
        "Pillai",
        "Mishra",
        "Banerjee",
    ),
    "romanian": (
        "Popescu",
        "Ionescu",
        "Popa",
        "Dumitru",
        "Stan",
        "Stoica",
        "Gheorghe",
        "Rusu",
        "Munteanu",
        "Matei",
        "Constantin",
        "Marin",
        "Lungu",
        "Tudor",
    ),
    "hispanic": (
        "García",
        "Rodríguez",
        "Martínez",
        "López",
        "González",
        "Hernández",
        "Gómez",
        "Díaz",
        "Ramírez",
        "Torres",
        "Vargas",
        "Castro",
        "Moreno",
        "Ortiz",
        "Rojas",
        "Jiménez",
        "Muñoz",
        "Restrepo",
        "Cárdenas",
        "Valencia",
    ),
    "english": (
        "Smith",
        "Jones",
        "Taylor",
        "Brown",
        "Williams",
        "Wilson",
        "Johnson",
        "Davies",
        "Walker",
        "Wright",
        "Thompson",
        "White",
        "Hughes",
        "Edwards",
        "Green",
        "Hall",
        "Wood",
        "Harris",
        "Clarke",
        "Whitfield",
        "Norris",
        "Mitchell",
        "Cooper",
        "Turner",
        "Parker",
        "Collins",
        "Bennett",
        "Murphy",
        "Miller",
        "Anderson",
        "Baker",
        "Carter",
        "Fisher",
        "Morgan",
        "Palmer",
    ),
    "french": (
        "Martin",
        "Bernard",
        "Dubois",
        "Thomas",
        "Robert",
        "Richard",
        "Petit",
        "Durand",
        "Leroy",
        "Moreau",
        "Simon",
        "Laurent",
        "Lefebvre",
        "Michel",
        "Mercier",
        "Fontaine",
        "Girard",
        "Bonnet",
        "Rousseau",
        "Lambert",
    ),
    "german": (
        "Müller",
        "Schmidt",
        "Schneider",
        "Fischer",
        "Weber",
        "Meyer",
        "Wagner",
        "Becker",
        "Schulz",
        "Hoffmann",
        "Koch",
        "Richter",
        "Klein",
        "Wolf",
    ),
    "nordic": (
        "Hansen",
        "Johansen",
        "Olsen",
        "Larsen",
        "Andersen",
        "Pedersen",
        "Nilsen",
        "Berg",
        "Haugen",
        "Lindqvist",
        "Johansson",
        "Karlsson",
        "Eriksson",
        "Nyström",
    ),
    "dutch": (
        "de Jong",
        "Jansen",
        "de Vries",
        "van den Berg",
        "Bakker",
        "Visser",
        "Smit",
        "Meijer",
        "Mulder",
        "de Boer",
        "Bos",
        "Vos",
    ),
    "italian": (
        "Rossi",
        "Russo",
        "Ferrari",
        "Esposito",
        "Bianchi",
        "Romano",
        "Colombo",
        "Ricci",
        "Marino",
        "Greco",
    ),
}

ORGANISATION_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # (first parts, kinds) combined at random: "Bright Hope" + "Children Foundation Inc."
    "charity": (
        (
            "Bright Hope",
            "Little Stars",
            "New Dawn",
            "Kalinga",
            "Open Hands",
            "Harvest",
            "Bayanihan",
            "Mercy Light",
            "Sunrise",
            "Tahanan",
            "Good Shepherd",
            "Pag-asa",
        ),
        (
            "Children's Foundation Inc.",
            "Learning Centre",
            "Community Mission",
            "Scholarship Fund",
            "Family Outreach",
            "Foundation",
        ),
    ),
    "merchant": (
        (
            "Load",
            "Game",
            "Mega",
            "Pinoy",
            "Quick",
            "Star",
            "Lucky",
            "Prime",
            "Isla",
            "Juan",
            "Digi",
            "Top",
            "Bida",
            "Sari",
        ),
        (
            "Load Centre",
            "Gaming Shop",
            "Online Store",
            "Trading",
            "Digital Credits",
            "Mart",
            "Gadget Hub",
            "Top-up Services",
            "E-Shop",
        ),
    ),
}

COUNTRY_CULTURE: dict[str, str] = {
    "PH": "filipino",
    "TH": "thai",
    "LA": "lao",
    "IN": "indian",
    "RO": "romanian",
    "CO": "hispanic",
    "MX": "hispanic",
    "DO": "hispanic",
    "ES": "hispanic",
    "US": "english",
    "GB": "english",
    "AU": "english",
    "CA": "english",
    "NZ": "english",
    "IE": "english",
    "FR": "french",
    "BE": "french",
    "DE": "german",
    "AT": "german",
    "CH": "german",
    "NO": "nordic",
    "SE": "nordic",
    "DK": "nordic",
    "FI": "nordic",
    "NL": "dutch",
    "IT": "italian",
}


def culture_of(country: str) -> str:
    return COUNTRY_CULTURE.get(country, "english")


# Second given names: a compound given name ("Juan Carlos", "Mary Joy") or, in the
# Philippines, the mother's maiden surname as a middle name ("Maria Santos Cruz"), written
# out or as an initial. Share of people per culture who carry one in their records.
SECOND_NAME_SHARE: dict[str, float] = {"filipino": 0.3, "hispanic": 0.2, "english": 0.1}
MIDDLE_INITIAL_SHARE = 0.5  # of Filipino middle names, recorded as an initial ("Maria S.")
SIBLING_REDRAWS = 8  # rounds of redrawing a given name a household already has


def draw_person_names(
    rng: np.random.Generator,
    cultures: np.ndarray,
    female_share: np.ndarray,
    households: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Given names and surnames for people of the given cultures (one draw per person).
    Some carry a second given name or a middle name (SECOND_NAME_SHARE). Within one of
    `households` no two people share a given name (parents do not give two children one
    name), so namesakes in one family are as rare as in life. Those draws come from a
    child of `rng` (spawning does not advance it), so the rest of a population is drawn
    as it was before names were varied."""
    n = len(cultures)
    given = np.empty(n, dtype=object)
    surname = np.empty(n, dtype=object)
    female = rng.random(n) < female_share
    for culture in np.unique(cultures):
        rows = np.flatnonzero(cultures == culture)
        _draw_given(rng, given, rows, female, culture)
        pool_s = SURNAMES[culture]
        surname[rows] = np.asarray(pool_s, dtype=object)[rng.integers(len(pool_s), size=len(rows))]
    own = rng.spawn(1)[0]
    if households is not None and n:
        for _ in range(SIBLING_REDRAWS):
            again = _repeated(households, given)
            if not len(again):
                break
            for culture in np.unique(cultures[again]):
                _draw_given(own, given, again[cultures[again] == culture], female, culture)
    _add_second_names(own, given, cultures, female)
    return given, surname


def _draw_given(
    rng: np.random.Generator, given: np.ndarray, rows: np.ndarray, female: np.ndarray, culture: str
) -> None:
    fem = rows[female[rows]]
    mal = rows[~female[rows]]
    pool_f, pool_m = GIVEN_FEMALE[culture], GIVEN_MALE[culture]
    given[fem] = np.asarray(pool_f, dtype=object)[rng.integers(len(pool_f), size=len(fem))]
    given[mal] = np.asarray(pool_m, dtype=object)[rng.integers(len(pool_m), size=len(mal))]


def _repeated(households: np.ndarray, given: np.ndarray) -> np.ndarray:
    """Rows whose given name an earlier member of their household already has."""
    order = np.lexsort((np.arange(len(given)), given.astype(str), households))
    same = (households[order][1:] == households[order][:-1]) & (
        given[order][1:] == given[order][:-1]
    )
    return np.sort(order[1:][same])


def _add_second_names(
    rng: np.random.Generator, given: np.ndarray, cultures: np.ndarray, female: np.ndarray
) -> None:
    share = np.asarray([SECOND_NAME_SHARE.get(c, 0.0) for c in cultures], dtype=float)
    second = np.flatnonzero(
        (rng.random(len(given)) < share) & np.asarray([" " not in g for g in given], dtype=bool)
    )
    for culture in np.unique(cultures[second]):
        rows = second[cultures[second] == culture]
        if culture == "filipino":  # the mother's maiden surname
            pool = np.asarray(SURNAMES[culture], dtype=object)
            middle = pool[rng.integers(len(pool), size=len(rows))]
            initial = rng.random(len(rows)) < MIDDLE_INITIAL_SHARE
            middle = np.where(initial, [m[0] + "." for m in middle], middle)
        else:  # a compound given name
            extra = np.empty(len(rows), dtype=object)
            _draw_given(rng, extra, np.arange(len(rows)), female[rows], culture)
            middle = extra
        keep = middle != given[rows]
        given[rows[keep]] = given[rows[keep]] + " " + middle[keep]


def draw_surnames(rng: np.random.Generator, cultures: np.ndarray) -> np.ndarray:
    surname = np.empty(len(cultures), dtype=object)
    for culture in np.unique(cultures):
        rows = np.flatnonzero(cultures == culture)
        pool = np.asarray(SURNAMES[culture], dtype=object)
        surname[rows] = pool[rng.integers(len(pool), size=len(rows))]
    return surname


def draw_organisation_names(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    firsts, kinds = ORGANISATION_WORDS[kind]
    first = np.asarray(firsts, dtype=object)[rng.integers(len(firsts), size=n)]
    last = np.asarray(kinds, dtype=object)[rng.integers(len(kinds), size=n)]
    return first + " " + last


def _drop_letter(word: str, rng: np.random.Generator) -> str:
    if len(word) < 5:
        return word
    i = int(rng.integers(1, len(word) - 1))
    return word[:i] + word[i + 1 :]


def _transpose_letters(word: str, rng: np.random.Generator) -> str:
    if len(word) < 4:
        return word
    i = int(rng.integers(1, len(word) - 2))
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def spelling_variant(given: str, surname: str, rng: np.random.Generator) -> str:
    """One way a clerk or an app might record this person's name. A second given name
    or middle name may be left out or cut to its initial (drawn from a child of `rng`,
    which spawning does not advance)."""
    first, *more = given.split(" ")
    if more and not first.endswith("."):
        own = rng.spawn(1)[0]
        if own.random() < 0.5:
            given = first if own.random() < 0.5 else f"{first} {more[0][0]}."
    form = int(rng.integers(7))
    if form == 0:
        return f"{surname.upper()}, {given}"
    if form == 1:
        return f"{given} {surname}".upper()
    if form == 2:
        return f"{given[0]}. {surname}"
    if form == 3:
        return f"{given} {_drop_letter(surname, rng)}"
    if form == 4:
        return f"{_transpose_letters(given, rng)} {surname}"
    if form == 5:
        middle = "ABCDEGLMPRSV"[int(rng.integers(12))]
        if not more:  # a middle initial for a name that has none written
            return f"{given} {middle}. {surname}"
    return f"{surname} {given}"
