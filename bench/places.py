"""A city-sized `places` layer for the search benchmark, as an OSM import
of Almaty would bring it: named streets (lines, with `name`, `name:ru`,
`name:kk`), address points (`addr:street`, `addr:housenumber`) along them
and a few landmarks whose names occur once, in the demo city's box.
Deterministic for a given size.

    python3 bench/places.py PLACES OUT.geojson OUT-peer.csv

The CSV is the peer's copy (bench/search.sh loads it into PostgreSQL): one
line per searchable name, `place, key, lon, lat`, where `key` is the name
lowercased with ё read as е (what `unaccent` + `lower` give in Cyrillic)
and `lon, lat` the point Qala shows the place at (a line's middle vertex).
"""

import csv
import json
import random
import sys

# Words Almaty's streets are named after (Russian genitive, Kazakh form).
WORDS = [
    ("Абая", "Абай"), ("Жандосова", "Жандосов"), ("Сатпаева", "Сәтбаев"),
    ("Тимирязева", "Тимирязев"), ("Розыбакиева", "Розыбакиев"), ("Толе би", "Төле би"),
    ("Райымбека", "Райымбек"), ("Назарбаева", "Назарбаев"), ("Достык", "Достық"),
    ("Аль-Фараби", "Әл-Фараби"), ("Жибек Жолы", "Жібек Жолы"), ("Гоголя", "Гоголь"),
    ("Кабанбай батыра", "Қабанбай батыр"), ("Богенбай батыра", "Бөгенбай батыр"),
    ("Шевченко", "Шевченко"), ("Толстого", "Толстой"), ("Пушкина", "Пушкин"),
    ("Байтурсынова", "Байтұрсынов"), ("Муканова", "Мұқанов"), ("Ауэзова", "Әуезов"),
    ("Жарокова", "Жароков"), ("Манаса", "Манас"), ("Гагарина", "Гагарин"),
    ("Макатаева", "Мақатаев"), ("Сейфуллина", "Сейфуллин"), ("Байзакова", "Байзақов"),
    ("Чайковского", "Чайковский"), ("Курмангазы", "Құрманғазы"), ("Казыбек би", "Қазыбек би"),
    ("Карасай батыра", "Қарасай батыр"), ("Айтеке би", "Әйтеке би"), ("Желтоксан", "Желтоқсан"),
    ("Наурызбай батыра", "Наурызбай батыр"), ("Брусиловского", "Брусиловский"),
    ("Утеген батыра", "Өтеген батыр"), ("Момышулы", "Момышұлы"), ("Саина", "Саин"),
    ("Ташкентская", "Ташкент"), ("Северное кольцо", "Солтүстік сақина"), ("Суюнбая", "Сүйінбай"),
    ("Рыскулова", "Рысқұлов"), ("Бокейханова", "Бөкейханов"), ("Жансугурова", "Жансүгіров"),
    ("Кунаева", "Қонаев"), ("Валиханова", "Уәлиханов"), ("Шарипова", "Шарипов"),
    ("Мустафина", "Мұстафин"), ("Торайгырова", "Торайғыров"), ("Жамбыла", "Жамбыл"),
    ("Масанчи", "Масанчи"), ("Исаева", "Исаев"), ("Радостовца", "Радостовец"),
    ("Ходжанова", "Хожанов"), ("Маркова", "Марков"), ("Клочкова", "Клочков"),
    ("Джамбула", "Жамбыл"), ("Ахмедиярова", "Ахмедияров"), ("Бекмаханова", "Бекмаханов"),
    ("Ермекова", "Ермеков"), ("Шагабутдинова", "Шағабутдинов"), ("Тулебаева", "Төлебаев"),
    ("Калдаякова", "Қалдаяқов"), ("Зенкова", "Зенков"), ("Пастера", "Пастер"),
    ("Ворошилова", "Ворошилов"), ("Ломова", "Ломов"), ("Шемякина", "Шемякин"),
    ("Березовского", "Березовский"), ("Кожамкулова", "Қожамқұлов"), ("Мауленова", "Мәуленов"),
    ("Байсеитовой", "Байсейітова"), ("Айманова", "Айманов"), ("Ёлочная", "Шырша"),
    ("Весновка", "Весновка"), ("Тастак", "Тастақ"), ("Орбита", "Орбита"), ("Самал", "Самал"),
    ("Коктем", "Көктем"), ("Алатау", "Алатау"), ("Мамыр", "Мамыр"), ("Аксай", "Ақсай"),
    ("Жетысу", "Жетісу"), ("Кулагер", "Құлагер"), ("Шанырак", "Шаңырақ"), ("Карагайлы", "Қарағайлы"),
]
# Street kinds: Russian before the word, Kazakh after it.
KINDS = [("улица", "көшесі"), ("проспект", "даңғылы"), ("переулок", "тұйық көшесі"), ("микрорайон", "шағын ауданы")]
# Landmarks: (Russian, Kazakh), each name once in the city.
LANDMARKS = [
    ("Медеу", "Медеу"), ("Шымбулак", "Шымбұлақ"), ("Кок-Тобе", "Көктөбе"), ("Зелёный базар", "Көк базар"),
    ("Дворец Республики", "Республика сарайы"), ("Вознесенский собор", "Вознесение соборы"),
    ("Центральный стадион", "Орталық стадион"), ("Парк 28 панфиловцев", "28 панфиловшылар саябағы"),
]


def street_names(n):
    """`n` distinct (Russian, Kazakh) street names: the plain ones first,
    then numbered ones ("2-я улица Абая"), as suburbs have them."""
    out, number = [], 1
    while True:
        for word_ru, word_kk in WORDS:
            for ru_kind, kk_kind in KINDS:
                if len(out) == n:
                    return out
                if number == 1:
                    out.append((f"{ru_kind} {word_ru}", f"{word_kk} {kk_kind}"))
                else:
                    out.append((f"{number}-я {ru_kind} {word_ru}", f"{number}-{word_kk} {kk_kind}"))
        number += 1


def main():
    places, geojson_path, csv_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    rng = random.Random(18)
    # About 30 addresses per street, as in a city of houses and blocks.
    streets = street_names(max(1, places // 31))
    features, rows = [], []

    def key(name):
        return name.lower().replace("ё", "е")

    lines = []
    for ru, kk in streets:
        lon, lat = rng.uniform(76.80, 77.05), rng.uniform(43.18, 43.35)
        heading = rng.choice([(1, 0), (0, 1), (0.7, 0.7), (0.7, -0.7)])
        length = rng.uniform(0.005, 0.03)
        coords = [[round(lon + heading[0] * length * i / 4, 6), round(lat + heading[1] * length * i / 4, 6)] for i in range(5)]
        lines.append((ru, kk, coords))
        place = len(features)
        features.append({"type": "Feature", "properties": {"name": ru, "name:ru": ru, "name:kk": kk, "highway": "residential"},
                         "geometry": {"type": "LineString", "coordinates": coords}})
        mid = coords[2]
        for name in (ru, kk):
            rows.append((place, key(name), mid[0], mid[1]))
    for ru, kk in LANDMARKS:
        lon, lat = round(rng.uniform(76.85, 77.0), 6), round(rng.uniform(43.2, 43.3), 6)
        place = len(features)
        features.append({"type": "Feature", "properties": {"name": ru, "name:ru": ru, "name:kk": kk, "tourism": "attraction"},
                         "geometry": {"type": "Point", "coordinates": [lon, lat]}})
        for name in (ru, kk):
            rows.append((place, key(name), lon, lat))
    while len(features) < places:
        ru, _, coords = lines[rng.randrange(len(lines))]
        t = rng.random()
        a, b = coords[0], coords[-1]
        lon = round(a[0] + (b[0] - a[0]) * t + rng.uniform(-0.0003, 0.0003), 6)
        lat = round(a[1] + (b[1] - a[1]) * t + rng.uniform(-0.0003, 0.0003), 6)
        number = str(rng.randint(1, 300)) + rng.choice(["", "", "", "а", "б", "/1"])
        place = len(features)
        features.append({"type": "Feature", "properties": {"addr:street": ru, "addr:housenumber": number},
                         "geometry": {"type": "Point", "coordinates": [lon, lat]}})
        rows.append((place, key(f"{ru} {number}"), lon, lat))
    with open(geojson_path, "w", encoding="utf-8") as f:
        json.dump({"type": "FeatureCollection", "features": features}, f, ensure_ascii=False)
    with open(csv_path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    print(f"{len(features)} places ({len(streets)} streets), {len(rows)} names", file=sys.stderr)


if __name__ == "__main__":
    main()
