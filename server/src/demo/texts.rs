//! What demo issues say, in Kazakh, Russian and English: descriptions per
//! category, closing remarks, and how often each category is reported where.
//!
//! The texts are about the kind of problem, not about a city, so every city
//! folder shares them; street names come from the city's `city.toml`.

use qala_geodata::IssueStatus;

/// One text in the three languages the client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    /// Kazakh.
    pub kk: &'static str,
    /// Russian.
    pub ru: &'static str,
    /// English.
    pub en: &'static str,
}

impl Text {
    /// The text in `language`.
    pub fn get(&self, language: Language) -> &'static str {
        match language {
            Language::Kk => self.kk,
            Language::Ru => self.ru,
            Language::En => self.en,
        }
    }
}

/// A language a demo issue is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Kazakh.
    Kk,
    /// Russian.
    Ru,
    /// English.
    En,
}

impl Language {
    /// The language of a code in `city.toml`'s `languages`.
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "kk" => Some(Self::Kk),
            "ru" => Some(Self::Ru),
            "en" => Some(Self::En),
            _ => None,
        }
    }
}

const fn text(kk: &'static str, ru: &'static str, en: &'static str) -> Text {
    Text { kk, ru, en }
}

/// How a category is reported in the demo: relative weights on ordinary
/// streets, on big avenues and around parks, and what residents write.
pub struct CategoryMix {
    /// Category code from the catalogue.
    pub code: &'static str,
    /// Relative weight on ordinary streets and courtyards.
    pub general: f64,
    /// Relative weight along the bike-route avenues.
    pub avenue: f64,
    /// Relative weight in and around public spaces.
    pub park: f64,
    /// Descriptions; one is drawn per issue.
    pub descriptions: &'static [Text],
}

/// Per-category mix; a catalogue category missing here is never drawn.
pub const CATEGORY_MIX: [CategoryMix; 12] = [
    CategoryMix {
        code: "pothole",
        general: 0.20,
        avenue: 0.24,
        park: 0.04,
        descriptions: &[
            text(
                "Оң жақ жолақта терең шұңқыр, көліктер айналып өтеді.",
                "Глубокая яма в правом ряду, машины её объезжают.",
                "Deep pothole in the right lane, cars swerve to avoid it.",
            ),
            text(
                "Жаяу жүргіншілер өткелінің алдында үлкен шұңқыр.",
                "Большая яма прямо перед пешеходным переходом.",
                "A large pothole right before the pedestrian crossing.",
            ),
            text(
                "Соңғы жаңбырдан кейін бірнеше шұңқыр пайда болды, асфальт бұзылып жатыр.",
                "После последнего дождя появились ямы, асфальт крошится.",
                "Several potholes after the last rain, the asphalt is crumbling.",
            ),
            text(
                "Аялдаманың жанында шұңқыр, ішіне су жиналады.",
                "Яма возле остановки, в ней собирается вода.",
                "Pothole next to the bus stop, water collects in it.",
            ),
        ],
    },
    CategoryMix {
        code: "street_light",
        general: 0.14,
        avenue: 0.12,
        park: 0.12,
        descriptions: &[
            text(
                "Көше шамы бір аптадан бері жанбайды, тротуар мүлдем қараңғы.",
                "Фонарь не горит уже неделю, на тротуаре совсем темно.",
                "The street light has been off for a week, the sidewalk is completely dark.",
            ),
            text(
                "Шам түні бойы жыпылықтап, сөніп-жанып тұрады.",
                "Фонарь всю ночь мигает, то гаснет, то загорается.",
                "The lamp flickers on and off all night.",
            ),
            text(
                "Өткелдің жанында қатарынан екі шам жанбайды, жаяу жүргіншілерге қауіпті.",
                "У перехода подряд не горят два фонаря, пешеходам опасно.",
                "Two lamps out in a row near the crossing, unsafe for pedestrians.",
            ),
        ],
    },
    CategoryMix {
        code: "litter",
        general: 0.16,
        avenue: 0.10,
        park: 0.24,
        descriptions: &[
            text(
                "Қоқыс жәшіктері толып кеткен, қоқыс тротуарға шашылған.",
                "Баки переполнены, мусор разбросан по тротуару.",
                "Overflowing bins, litter scattered across the sidewalk.",
            ),
            text(
                "Біреу аулаға құрылыс қалдықтарын төгіп кеткен.",
                "Кто-то выбросил строительный мусор возле двора.",
                "Someone dumped construction waste next to the courtyard.",
            ),
            text(
                "Арықтағы қоқыс суды бөгеп тұр.",
                "Мусор в арыке перекрывает воду.",
                "Litter in the aryk (irrigation ditch) is blocking the water.",
            ),
            text(
                "Кіреберістің жанында қоқыс салынған қаптар бірнеше күннен бері жатыр.",
                "Мешки с мусором у подъезда лежат уже несколько дней.",
                "Bags of rubbish left by the entrance for days.",
            ),
        ],
    },
    CategoryMix {
        code: "graffiti",
        general: 0.07,
        avenue: 0.05,
        park: 0.08,
        descriptions: &[
            text(
                "Ғимараттың қасбетінде жаңа граффити.",
                "Свежие граффити на фасаде здания.",
                "Fresh graffiti on the facade of the building.",
            ),
            text(
                "Аялдама шынысына бояумен жазулар салынған.",
                "На стекле остановки нарисованы краской надписи.",
                "Tags sprayed on the bus shelter glass.",
            ),
            text(
                "Жерасты өткелінің қабырғаларында граффити, кейбірі балағат.",
                "Граффити на стенах подземного перехода, некоторые оскорбительные.",
                "Graffiti on the underpass walls, some of it offensive.",
            ),
        ],
    },
    CategoryMix {
        code: "accessibility",
        general: 0.06,
        avenue: 0.08,
        park: 0.07,
        descriptions: &[
            text(
                "Өткелде пандус жоқ, арбалар мен мүгедектер арбасы өте алмайды.",
                "На переходе нет съезда с бордюра, коляски не проедут.",
                "No curb ramp at the crossing; wheelchairs and prams cannot pass.",
            ),
            text(
                "Жаяу жүргіншілер өткеліндегі тактильді плитка сынған.",
                "Разбита тактильная плитка на пешеходном переходе.",
                "Broken tactile paving at the pedestrian crossing.",
            ),
            text(
                "Жерасты өткелінде пандус та, лифт та жоқ.",
                "В подземном переходе нет ни пандуса, ни лифта.",
                "The underpass has no ramp or lift.",
            ),
        ],
    },
    CategoryMix {
        code: "trees",
        general: 0.07,
        avenue: 0.04,
        park: 0.18,
        descriptions: &[
            text(
                "Құрғап қалған ағаш тротуарға қисайып тұр, желде құлауы мүмкін.",
                "Сухое дерево наклонилось над тротуаром и может упасть от ветра.",
                "A dry tree is leaning over the sidewalk and could fall in the wind.",
            ),
            text(
                "Көппәтерлі үйлердің жанындағы ағаштар ескертусіз кесілді.",
                "Деревья у многоэтажек вырубили без предупреждения.",
                "Trees were cut down without notice near the apartment blocks.",
            ),
            text(
                "Сынған бұтақ жаяу жүргіншілер жолының үстінде салбырап тұр.",
                "Над пешеходной дорожкой висит сломанная ветка.",
                "A broken branch is hanging over the footpath.",
            ),
            text(
                "Аллея бойындағы жас ағаштар қурап барады, суару керек.",
                "Молодые деревья вдоль аллеи засыхают, нужен полив.",
                "Young trees along the alley are drying out and need watering.",
            ),
        ],
    },
    CategoryMix {
        code: "bike_infrastructure",
        general: 0.05,
        avenue: 0.14,
        park: 0.03,
        descriptions: &[
            text(
                "Күнде таңертең көліктер велосипед жолағына тұрады.",
                "Каждое утро машины паркуются на велополосе.",
                "Cars park on the bike lane every morning.",
            ),
            text(
                "Велосипед жолағы қиылыста кенеттен бітіп қалады.",
                "Велополоса резко обрывается на перекрёстке.",
                "The bike lane ends abruptly at the intersection with no connection.",
            ),
            text(
                "Велосипед жолының белгілері өшіп қалған.",
                "Разметка велодорожки стёрлась.",
                "The painted markings of the bike lane have faded away.",
            ),
            text(
                "Дүкендердің жанына велотұрақ қойыңыздар.",
                "Пожалуйста, поставьте велопарковку у магазинов.",
                "Please add bike racks near the shops.",
            ),
        ],
    },
    CategoryMix {
        code: "drainage",
        general: 0.06,
        avenue: 0.06,
        park: 0.05,
        descriptions: &[
            text(
                "Нөсер су құбыры бітеліп қалған, әр жаңбырдан кейін көшені су басады.",
                "Ливнёвка забита, после каждого дождя улицу заливает.",
                "The storm drain is clogged, the street floods after every rain.",
            ),
            text(
                "Арық бітеліп, су жолға ағып жатыр.",
                "Арык забит и переливается на дорогу.",
                "The aryk is blocked and overflowing onto the road.",
            ),
            text(
                "Құдықтың қақпағы жоқ, түнде қауіпті.",
                "Открытый люк: нет крышки, ночью опасно.",
                "A drain cover is missing, dangerous at night.",
            ),
        ],
    },
    CategoryMix {
        code: "snow_ice",
        general: 0.07,
        avenue: 0.06,
        park: 0.04,
        descriptions: &[
            text(
                "Тротуар қардан тазартылмаған, адамдар тайғанап жатыр.",
                "Тротуар не очищен от снега, люди поскальзываются.",
                "The sidewalk has not been cleared of snow, people are slipping.",
            ),
            text(
                "Жерасты өткеліне түсетін баспалдақтарда қалың мұз.",
                "Гололёд: толстый лёд на ступенях в подземный переход.",
                "Thick ice on the steps down to the underpass.",
            ),
            text(
                "Жолдан күреп алынған қар жаяу жүргіншілер өткеліне үйілген.",
                "Снег с дороги сгребли на пешеходный переход.",
                "Snow from the road is piled onto the pedestrian crossing.",
            ),
        ],
    },
    CategoryMix {
        code: "playground",
        general: 0.02,
        avenue: 0.00,
        park: 0.10,
        descriptions: &[
            text(
                "Балалар алаңында әткеншек сынған, темірдің өткір жиектері шығып тұр.",
                "На детской площадке сломаны качели, торчат острые края.",
                "Broken swing on the playground, sharp metal edges.",
            ),
            text(
                "Сырғанақ жарылған, құмсалғыш қоқысқа толы.",
                "Горка треснула, песочница полна мусора.",
                "The slide is cracked and the sandbox is full of litter.",
            ),
            text(
                "Балалар алаңында көлеңке жоқ, жабыны бұзылған.",
                "На площадке нет тени, покрытие разбито.",
                "The playground has no shade and the surface is broken.",
            ),
        ],
    },
    CategoryMix {
        code: "transit_stop",
        general: 0.06,
        avenue: 0.09,
        park: 0.01,
        descriptions: &[
            text(
                "Аялдамада шатыр да, орындық та жоқ.",
                "На остановке нет ни навеса, ни скамейки.",
                "The bus stop has no shelter or bench.",
            ),
            text(
                "Аялдамадағы келу уақытының таблосы істемейді.",
                "Табло прибытия на остановке не работает.",
                "The arrival-time display at the stop is broken.",
            ),
            text(
                "Тұрған көліктер аялдаманы жауып тастайды, автобустар жолдың ортасында тоқтайды.",
                "Припаркованные машины закрывают остановку, автобусы встают посреди дороги.",
                "Parked cars block the bus stop, buses stop in the middle of the road.",
            ),
        ],
    },
    CategoryMix {
        code: "other",
        general: 0.04,
        avenue: 0.02,
        park: 0.04,
        descriptions: &[
            text(
                "Мектептің кіреберісінде қаңғыбас иттер жиналады.",
                "У входа в школу собираются бездомные собаки.",
                "Stray dogs gather near the school entrance.",
            ),
            text(
                "Түнде кеш уақытта шулы құрылыс жұмыстары жүреді.",
                "Шумные строительные работы поздно ночью.",
                "Loud construction work late at night.",
            ),
            text(
                "Қоршауда заңсыз жарнама баннерлері ілулі.",
                "На заборе висят незаконные рекламные баннеры.",
                "Illegal advertising banners on the fence.",
            ),
        ],
    },
];

/// Category whose weight follows the season.
pub const SEASONAL_CATEGORY: &str = "snow_ice";
/// Its weight is multiplied by this from November to March...
pub const WINTER_FACTOR: f64 = 2.5;
/// ...and by this the rest of the year.
pub const SUMMER_FACTOR: f64 = 0.03;

/// Remarks added to some descriptions.
pub const REMARKS: [Text; 6] = [
    text(
        "Түзетулеріңізді сұраймыз.",
        "Просим исправить.",
        "Please fix it.",
    ),
    text(
        "Шара қолдануларыңызды сұраймыз.",
        "Пожалуйста, примите меры.",
        "Please take action.",
    ),
    text(
        "Бірнеше аптадан бері осылай.",
        "Так уже несколько недель.",
        "It has been like this for weeks.",
    ),
    text(
        "Бүгін таңертең байқадым.",
        "Заметил(а) сегодня утром.",
        "Noticed it this morning.",
    ),
    text(
        "Көршілер де шағымданды.",
        "Соседи тоже жаловались.",
        "The neighbours have complained too.",
    ),
    text(
        "Мұнда күнде балалар жүреді.",
        "Здесь каждый день ходят дети.",
        "Children walk here every day.",
    ),
];

/// Said when a category has no descriptions.
pub const FALLBACK_DESCRIPTION: Text = text(
    "Тұрғын хабарлаған мәселе.",
    "Проблема, о которой сообщил житель.",
    "Problem reported by a resident.",
);

/// Relative weight of each status for an issue `age_days` old: fresh issues
/// are mostly open, older ones mostly resolved or closed.
pub fn status_weight(status: IssueStatus, age_days: f64) -> f64 {
    let fresh = |tau: f64| (-age_days / tau).exp();
    match status {
        IssueStatus::Open => 0.45 * fresh(30.0) + 0.05,
        IssueStatus::Acknowledged => 0.15 * fresh(60.0) + 0.03,
        IssueStatus::InProgress => 0.12 * fresh(90.0) + 0.04,
        IssueStatus::Resolved => 0.55 * (1.0 - fresh(45.0)),
        IssueStatus::Closed => 0.25 * (1.0 - fresh(90.0)),
        IssueStatus::Rejected | IssueStatus::Duplicate => 0.04,
    }
}

/// Mean delay in seconds from report to the last status change.
pub fn update_delay_mean_secs(status: IssueStatus) -> f64 {
    const DAY: f64 = 86_400.0;
    match status {
        IssueStatus::Open => 0.0,
        IssueStatus::Acknowledged => 2.0 * DAY,
        IssueStatus::InProgress => 7.0 * DAY,
        IssueStatus::Resolved => 14.0 * DAY,
        IssueStatus::Closed => 21.0 * DAY,
        IssueStatus::Rejected => 3.0 * DAY,
        IssueStatus::Duplicate => DAY,
    }
}
