// Interface strings in English, Russian and Kazakh, and the helpers that pick
// and format them. Category and district names are not here: the API sends
// them in all three languages, so the catalogue stays the single source.

import { API_ERROR_CODES, FOLLOWUP_STRINGS } from './strings/followup.js';
import { SEARCH_STRINGS } from './strings/search.js';
import { RESIDENT_STRINGS } from './strings/resident.js';
import { STAFF_STRINGS } from './strings/staff.js';

export const LANGS = ['en', 'ru', 'kk'];
const STORAGE_KEY = 'qala.lang';

export const STRINGS = {
  en: {
    'lang.label': 'Language',
    'lang.en': 'English',
    'lang.ru': 'Русский',
    'lang.kk': 'Қазақша',
    'app.tagline': 'City issues on a map',
    'title.resident': 'Qala — city issues on a map',
    'title.planner': 'Qala planner — issues by district',
    'nav.resident': 'Map',
    'nav.planner': 'Planner',
    'nav.main': 'Views',
    'map.label': 'Map of city issues',
    'map.failed': 'The map could not be loaded: {message}',
    'map.no_webgl': 'This browser cannot draw the map (WebGL is off). The lists and forms still work.',
    'basemap.failed': 'The configured basemap could not be loaded; showing Qala’s own layers.',
    'maplibre.zoom_in': 'Zoom in',
    'maplibre.zoom_out': 'Zoom out',
    'maplibre.map': 'Map',
    'maplibre.attribution': 'Toggle attribution',

    'legend.title': 'Layers and legend',
    'legend.layers': 'Layers',
    'legend.statuses': 'Issue status',
    'legend.clusters': 'A circle groups nearby issues: its number counts those still open, its colour is their most common status. A pale circle holds only issues already dealt with. Zoom in to see single issues.',
    'layer.issues': 'Issues',
    'layer.districts': 'District boundaries',
    'layer.public_spaces': 'Public spaces',
    'layer.green_corridors': 'Green corridors',
    'layer.bike_routes': 'Bike routes',

    'status.open': 'Open',
    'status.acknowledged': 'Acknowledged',
    'status.in_progress': 'In progress',
    'status.resolved': 'Resolved',
    'status.closed': 'Closed',
    'status.rejected': 'Rejected',
    'status.duplicate': 'Duplicate',

    'group.roads': 'Roads',
    'group.lighting': 'Lighting',
    'group.cleanliness': 'Cleanliness',
    'group.accessibility': 'Accessibility',
    'group.green': 'Greenery',
    'group.mobility': 'Getting around',
    'group.water': 'Water',
    'group.winter': 'Winter',
    'group.facilities': 'Facilities',
    'group.other': 'Other',

    'panel.close': 'Close',

    'report.button': 'Report a problem',
    'report.title': 'Report a problem',
    'report.place': 'Tap the map where the problem is, or use your location.',
    'report.use_location': 'Use my location',
    'report.use_centre': 'Pin at map centre',
    'report.locating': 'Finding your location…',
    'report.location_failed': 'Your location is not available ({reason}). Tap the map instead.',
    'report.pin_placed': 'Pin placed at {lat}, {lon}. Drag it or tap the map to move it.',
    'report.location': 'Location',
    'report.no_pin': 'Place the pin on the map first.',
    'report.category': 'Category',
    'report.description': 'What is wrong?',
    'report.description_hint': 'Say what and where, so the city can find it.',
    'report.chars_left': '{n} characters left',
    'report.address': 'Address or landmark (optional)',
    'report.email': 'Email for updates (optional)',
    'report.email_hint': 'Only city staff see it; it is never published.',
    'report.submit': 'Send report',
    'report.sending': 'Sending…',
    'report.cancel': 'Cancel',
    'report.choose_category': 'Choose a category.',
    'report.describe': 'Describe the problem.',
    'report.nearby_title': 'Already reported nearby',
    'report.nearby_intro': 'Reports of this kind within 50 m. If one of them is your problem, open it instead of sending a new one.',
    'report.nearby_none': 'No report of this kind within 50 m.',
    'report.nearby_checking': 'Looking for similar reports nearby…',
    'report.open_existing': 'Open #{id}',
    'report.distance': '{m} m away',
    'report.success_title': 'Thank you! Report #{id} is sent.',
    'report.success': 'Its status is “{status}”. It is on the map now, and this link follows it:',
    'report.another': 'Report another problem',

    'error.network': 'The server could not be reached. Check the connection and try again.',
    'error.generic': 'Something went wrong: {message}',

    'issue.title': '#{id} · {category}',
    'issue.loading': 'Loading issue #{id}…',
    'issue.not_found': 'Issue #{id} was not found.',
    'issue.category': 'Category',
    'issue.district': 'District',
    'issue.address': 'Address',
    'issue.votes': 'Supporters',
    'issue.history': 'History',
    'issue.reported': 'Reported',
    'issue.department': 'Department',
    'issue.merged': 'Report #{id} was merged into this one',
    'issue.duplicate_of': '{status} of #{id}',
    'issue.rerouted': 'Passed to {department}',
    'issue.recategorised': 'Category corrected: {category}',
    'issue.moved': 'Location corrected',
    'issue.status_changed': 'Issue #{id} is now “{status}”.',
    'issue.updated': 'Last updated',
    'issue.permalink': 'Link to this issue',
    'issue.no_district': 'outside the districts',

    'planner.title': 'Planner',
    'planner.sidebar': 'Filters and district details',
    'filters.title': 'Filters',
    'filters.status': 'Status',
    'filters.status_hint': 'None ticked means every status.',
    'filters.category': 'Category',
    'filters.all_categories': 'All categories',
    'filters.since': 'From',
    'filters.until': 'To (inclusive)',
    'filters.reset': 'Reset filters',
    'filters.summary': '{n} issues match the filters.',
    'choropleth.title': 'Issues per district',
    'districts.title': 'Districts',
    'districts.name': 'District',
    'districts.count': 'Issues',
    'district.hint': 'Select a district on the map or in the list to see its issues.',
    'district.all': 'All districts',
    'district.total': '{n} issues match the filters in {district}.',
    'district.by_category': 'By category',
    'district.by_status': 'By status',
    'table.caption': 'Issues in {district}',
    'table.id': 'No.',
    'table.category': 'Category',
    'table.status': 'Status',
    'table.created': 'Reported',
    'table.page': 'Page {page} of {pages}',
    'table.prev': 'Previous page',
    'table.next': 'Next page',
    'table.empty': 'No issues match.',
    'table.loading': 'Loading issues…',
    'table.show': 'Show #{id} on the map',
    'table.number': '#{id}',
    'export.title': 'Export',
    'export.scope_city': 'Exports every issue that matches the filters.',
    'export.scope_district': 'Exports the issues in {district} that match the filters.',
    'export.geojson': 'Download GeoJSON',
    'export.csv': 'Download CSV',
    'export.working': 'Preparing the export…',
    'export.done': 'Downloaded {n} issues.',
  },
  ru: {
    'lang.label': 'Язык',
    'lang.en': 'English',
    'lang.ru': 'Русский',
    'lang.kk': 'Қазақша',
    'app.tagline': 'Городские проблемы на карте',
    'title.resident': 'Qala — городские проблемы на карте',
    'title.planner': 'Qala, планировщик — обращения по районам',
    'nav.resident': 'Карта',
    'nav.planner': 'Планировщик',
    'nav.main': 'Разделы',
    'map.label': 'Карта городских проблем',
    'map.failed': 'Не удалось загрузить карту: {message}',
    'map.no_webgl': 'Этот браузер не может нарисовать карту (WebGL выключен). Списки и формы работают.',
    'basemap.failed': 'Не удалось загрузить подложку; показаны собственные слои Qala.',
    'maplibre.zoom_in': 'Приблизить',
    'maplibre.zoom_out': 'Отдалить',
    'maplibre.map': 'Карта',
    'maplibre.attribution': 'Показать источники данных',

    'legend.title': 'Слои и легенда',
    'legend.layers': 'Слои',
    'legend.statuses': 'Статус обращения',
    'legend.clusters': 'Круг объединяет соседние обращения: число — сколько из них ещё открыто, цвет — их самый частый статус. Бледный круг — только уже рассмотренные обращения. Приблизьте карту, чтобы увидеть отдельные обращения.',
    'layer.issues': 'Обращения',
    'layer.districts': 'Границы районов',
    'layer.public_spaces': 'Общественные пространства',
    'layer.green_corridors': 'Зелёные коридоры',
    'layer.bike_routes': 'Веломаршруты',

    'status.open': 'Открыто',
    'status.acknowledged': 'Принято',
    'status.in_progress': 'В работе',
    'status.resolved': 'Решено',
    'status.closed': 'Закрыто',
    'status.rejected': 'Отклонено',
    'status.duplicate': 'Дубликат',

    'group.roads': 'Дороги',
    'group.lighting': 'Освещение',
    'group.cleanliness': 'Чистота',
    'group.accessibility': 'Доступность',
    'group.green': 'Озеленение',
    'group.mobility': 'Транспорт',
    'group.water': 'Вода',
    'group.winter': 'Зима',
    'group.facilities': 'Благоустройство',
    'group.other': 'Другое',

    'panel.close': 'Закрыть',

    'report.button': 'Сообщить о проблеме',
    'report.title': 'Сообщить о проблеме',
    'report.place': 'Коснитесь карты в месте проблемы или используйте своё местоположение.',
    'report.use_location': 'Моё местоположение',
    'report.use_centre': 'Метка в центре карты',
    'report.locating': 'Определяем местоположение…',
    'report.location_failed': 'Местоположение недоступно ({reason}). Коснитесь карты.',
    'report.pin_placed': 'Метка: {lat}, {lon}. Перетащите её или коснитесь карты, чтобы переместить.',
    'report.location': 'Место',
    'report.no_pin': 'Сначала поставьте метку на карте.',
    'report.category': 'Категория',
    'report.description': 'Что случилось?',
    'report.description_hint': 'Опишите, что и где, чтобы городские службы могли найти.',
    'report.chars_left': 'Осталось символов: {n}',
    'report.address': 'Адрес или ориентир (необязательно)',
    'report.email': 'Email для уведомлений (необязательно)',
    'report.email_hint': 'Его видят только сотрудники города; он не публикуется.',
    'report.submit': 'Отправить',
    'report.sending': 'Отправляем…',
    'report.cancel': 'Отмена',
    'report.choose_category': 'Выберите категорию.',
    'report.describe': 'Опишите проблему.',
    'report.nearby_title': 'Уже сообщали рядом',
    'report.nearby_intro': 'Обращения этой категории в радиусе 50 м. Если одно из них о вашей проблеме, откройте его вместо нового.',
    'report.nearby_none': 'В радиусе 50 м таких обращений нет.',
    'report.nearby_checking': 'Ищем похожие обращения рядом…',
    'report.open_existing': 'Открыть №{id}',
    'report.distance': '{m} м отсюда',
    'report.success_title': 'Спасибо! Обращение №{id} отправлено.',
    'report.success': 'Его статус: «{status}». Оно уже на карте; следить за ним можно по ссылке:',
    'report.another': 'Сообщить о другой проблеме',

    'error.network': 'Сервер недоступен. Проверьте подключение и попробуйте ещё раз.',
    'error.generic': 'Что-то пошло не так: {message}',

    'issue.title': '№{id} · {category}',
    'issue.loading': 'Загружаем обращение №{id}…',
    'issue.not_found': 'Обращение №{id} не найдено.',
    'issue.category': 'Категория',
    'issue.district': 'Район',
    'issue.address': 'Адрес',
    'issue.votes': 'Поддержали',
    'issue.history': 'История',
    'issue.reported': 'Создано',
    'issue.department': 'Ведомство',
    'issue.merged': 'Обращение №{id} объединено с этим',
    'issue.duplicate_of': '{status}: №{id}',
    'issue.rerouted': 'Передано: {department}',
    'issue.recategorised': 'Категория исправлена: {category}',
    'issue.moved': 'Место исправлено',
    'issue.status_changed': 'Статус обращения №{id}: «{status}».',
    'issue.updated': 'Обновлено',
    'issue.permalink': 'Ссылка на обращение',
    'issue.no_district': 'вне районов',

    'planner.title': 'Планировщик',
    'planner.sidebar': 'Фильтры и сведения о районе',
    'filters.title': 'Фильтры',
    'filters.status': 'Статус',
    'filters.status_hint': 'Если ничего не отмечено — все статусы.',
    'filters.category': 'Категория',
    'filters.all_categories': 'Все категории',
    'filters.since': 'С',
    'filters.until': 'По (включительно)',
    'filters.reset': 'Сбросить фильтры',
    'filters.summary': 'Под фильтры подходит обращений: {n}.',
    'choropleth.title': 'Обращений на район',
    'districts.title': 'Районы',
    'districts.name': 'Район',
    'districts.count': 'Обращения',
    'district.hint': 'Выберите район на карте или в списке, чтобы увидеть его обращения.',
    'district.all': 'Все районы',
    'district.total': '{district}: подходит обращений — {n}.',
    'district.by_category': 'По категориям',
    'district.by_status': 'По статусам',
    'table.caption': 'Обращения: {district}',
    'table.id': '№',
    'table.category': 'Категория',
    'table.status': 'Статус',
    'table.created': 'Создано',
    'table.page': 'Страница {page} из {pages}',
    'table.prev': 'Предыдущая страница',
    'table.next': 'Следующая страница',
    'table.empty': 'Нет подходящих обращений.',
    'table.loading': 'Загружаем обращения…',
    'table.show': 'Показать №{id} на карте',
    'table.number': '№{id}',
    'export.title': 'Экспорт',
    'export.scope_city': 'Выгружаются все обращения, подходящие под фильтры.',
    'export.scope_district': 'Выгружаются обращения района {district}, подходящие под фильтры.',
    'export.geojson': 'Скачать GeoJSON',
    'export.csv': 'Скачать CSV',
    'export.working': 'Готовим выгрузку…',
    'export.done': 'Выгружено обращений: {n}.',
  },
  kk: {
    'lang.label': 'Тіл',
    'lang.en': 'English',
    'lang.ru': 'Русский',
    'lang.kk': 'Қазақша',
    'app.tagline': 'Қала мәселелері картада',
    'title.resident': 'Qala — қала мәселелері картада',
    'title.planner': 'Qala жоспарлаушысы — аудандар бойынша өтініштер',
    'nav.resident': 'Карта',
    'nav.planner': 'Жоспарлаушы',
    'nav.main': 'Бөлімдер',
    'map.label': 'Қала мәселелерінің картасы',
    'map.failed': 'Картаны жүктеу мүмкін болмады: {message}',
    'map.no_webgl': 'Бұл браузер картаны сала алмайды (WebGL өшірулі). Тізімдер мен формалар жұмыс істейді.',
    'basemap.failed': 'Негізгі картаны жүктеу мүмкін болмады; Qala қабаттары көрсетілген.',
    'maplibre.zoom_in': 'Жақындату',
    'maplibre.zoom_out': 'Алыстату',
    'maplibre.map': 'Карта',
    'maplibre.attribution': 'Дерек көздерін көрсету',

    'legend.title': 'Қабаттар және шартты белгілер',
    'legend.layers': 'Қабаттар',
    'legend.statuses': 'Өтініш мәртебесі',
    'legend.clusters': 'Шеңбер жақын өтініштерді біріктіреді: саны — олардың әлі ашығы, түсі — ең жиі мәртебесі. Бозғылт шеңберде тек қаралған өтініштер бар. Жеке өтініштерді көру үшін картаны жақындатыңыз.',
    'layer.issues': 'Өтініштер',
    'layer.districts': 'Аудан шекаралары',
    'layer.public_spaces': 'Қоғамдық кеңістіктер',
    'layer.green_corridors': 'Жасыл дәліздер',
    'layer.bike_routes': 'Велосипед жолдары',

    'status.open': 'Ашық',
    'status.acknowledged': 'Қабылданды',
    'status.in_progress': 'Орындалуда',
    'status.resolved': 'Шешілді',
    'status.closed': 'Жабылды',
    'status.rejected': 'Қабылданбады',
    'status.duplicate': 'Қайталама',

    'group.roads': 'Жолдар',
    'group.lighting': 'Жарықтандыру',
    'group.cleanliness': 'Тазалық',
    'group.accessibility': 'Қолжетімділік',
    'group.green': 'Көгалдандыру',
    'group.mobility': 'Көлік',
    'group.water': 'Су',
    'group.winter': 'Қыс',
    'group.facilities': 'Абаттандыру',
    'group.other': 'Басқа',

    'panel.close': 'Жабу',

    'report.button': 'Мәселе туралы хабарлау',
    'report.title': 'Мәселе туралы хабарлау',
    'report.place': 'Мәселе орнын картада түртіңіз немесе өз орналасқан жеріңізді пайдаланыңыз.',
    'report.use_location': 'Менің орным',
    'report.use_centre': 'Белгіні карта ортасына қою',
    'report.locating': 'Орныңыз анықталуда…',
    'report.location_failed': 'Орныңыз қолжетімсіз ({reason}). Картаны түртіңіз.',
    'report.pin_placed': 'Белгі: {lat}, {lon}. Жылжыту үшін оны сүйреңіз немесе картаны түртіңіз.',
    'report.location': 'Орны',
    'report.no_pin': 'Алдымен картаға белгі қойыңыз.',
    'report.category': 'Санат',
    'report.description': 'Не болды?',
    'report.description_hint': 'Қала қызметтері таба алуы үшін не және қай жерде екенін жазыңыз.',
    'report.chars_left': 'Қалған таңба: {n}',
    'report.address': 'Мекенжай немесе бағдар (міндетті емес)',
    'report.email': 'Хабарламаға арналған email (міндетті емес)',
    'report.email_hint': 'Оны тек қала қызметкерлері көреді; ол жарияланбайды.',
    'report.submit': 'Жіберу',
    'report.sending': 'Жіберілуде…',
    'report.cancel': 'Бас тарту',
    'report.choose_category': 'Санатты таңдаңыз.',
    'report.describe': 'Мәселені сипаттаңыз.',
    'report.nearby_title': 'Жақын жерде хабарланған',
    'report.nearby_intro': '50 м радиустағы осы санаттағы өтініштер. Солардың бірі сіздің мәселеңіз болса, жаңасын жібермей, соны ашыңыз.',
    'report.nearby_none': '50 м радиуста мұндай өтініш жоқ.',
    'report.nearby_checking': 'Жақын жердегі ұқсас өтініштер ізделуде…',
    'report.open_existing': '№{id} ашу',
    'report.distance': '{m} м қашықта',
    'report.success_title': 'Рақмет! №{id} өтініш жіберілді.',
    'report.success': 'Мәртебесі: «{status}». Ол қазір картада; оны мына сілтеме арқылы бақылаңыз:',
    'report.another': 'Басқа мәселе туралы хабарлау',

    'error.network': 'Серверге қосылу мүмкін болмады. Байланысты тексеріп, қайталаңыз.',
    'error.generic': 'Қате орын алды: {message}',

    'issue.title': '№{id} · {category}',
    'issue.loading': '№{id} өтініш жүктелуде…',
    'issue.not_found': '№{id} өтініш табылмады.',
    'issue.category': 'Санат',
    'issue.district': 'Аудан',
    'issue.address': 'Мекенжай',
    'issue.votes': 'Қолдағандар',
    'issue.history': 'Тарих',
    'issue.reported': 'Хабарланды',
    'issue.department': 'Басқарма',
    'issue.merged': '№{id} өтініш осымен біріктірілді',
    'issue.duplicate_of': '{status}: №{id}',
    'issue.rerouted': 'Берілді: {department}',
    'issue.recategorised': 'Санат түзетілді: {category}',
    'issue.moved': 'Орны түзетілді',
    'issue.status_changed': '№{id} өтініштің мәртебесі: «{status}».',
    'issue.updated': 'Жаңартылды',
    'issue.permalink': 'Өтінішке сілтеме',
    'issue.no_district': 'аудандардан тыс',

    'planner.title': 'Жоспарлаушы',
    'planner.sidebar': 'Сүзгілер және аудан туралы мәлімет',
    'filters.title': 'Сүзгілер',
    'filters.status': 'Мәртебе',
    'filters.status_hint': 'Ештеңе белгіленбесе — барлық мәртебе.',
    'filters.category': 'Санат',
    'filters.all_categories': 'Барлық санаттар',
    'filters.since': 'Бастап',
    'filters.until': 'Дейін (қоса алғанда)',
    'filters.reset': 'Сүзгілерді тазарту',
    'filters.summary': 'Сүзгілерге сай өтініштер: {n}.',
    'choropleth.title': 'Аудандағы өтініштер саны',
    'districts.title': 'Аудандар',
    'districts.name': 'Аудан',
    'districts.count': 'Өтініштер',
    'district.hint': 'Өтініштерін көру үшін картадан немесе тізімнен ауданды таңдаңыз.',
    'district.all': 'Барлық аудандар',
    'district.total': '{district}: сүзгілерге сай өтініштер — {n}.',
    'district.by_category': 'Санаттар бойынша',
    'district.by_status': 'Мәртебелер бойынша',
    'table.caption': 'Өтініштер: {district}',
    'table.id': '№',
    'table.category': 'Санат',
    'table.status': 'Мәртебе',
    'table.created': 'Хабарланды',
    'table.page': '{pages} беттің {page}-беті',
    'table.prev': 'Алдыңғы бет',
    'table.next': 'Келесі бет',
    'table.empty': 'Сай өтініштер жоқ.',
    'table.loading': 'Өтініштер жүктелуде…',
    'table.show': '№{id} картада көрсету',
    'table.number': '№{id}',
    'export.title': 'Экспорт',
    'export.scope_city': 'Сүзгілерге сай барлық өтініштер жүктеледі.',
    'export.scope_district': '{district} ауданының сүзгілерге сай өтініштері жүктеледі.',
    'export.geojson': 'GeoJSON жүктеу',
    'export.csv': 'CSV жүктеу',
    'export.working': 'Экспорт дайындалуда…',
    'export.done': 'Жүктелген өтініштер: {n}.',
  },
};
for (const code of LANGS) Object.assign(STRINGS[code], STAFF_STRINGS[code], FOLLOWUP_STRINGS[code], RESIDENT_STRINGS[code], SEARCH_STRINGS[code]);

let current = detect();

/** The language from `?lang=`, the visitor's last choice, then the browser's list. */
function detect() {
  // Outside a browser (the string checks run in Node) there is nothing to detect.
  if (typeof location === 'undefined' || typeof navigator === 'undefined') return 'en';
  const fromQuery = new URLSearchParams(location.search).get('lang');
  if (LANGS.includes(fromQuery)) return fromQuery;
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (LANGS.includes(stored)) return stored;
  } catch {
    // Storage can be disabled (private mode, policies); the browser's list still works.
  }
  for (const tag of navigator.languages || [navigator.language || 'en']) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

export function lang() {
  return current;
}

/** A string in the current language, with `{name}` placeholders filled. */
export function t(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/**
 * What to tell a resident about a refused or failed request, in the
 * interface language: the text for its code where there is one (the
 * server's own message is English), else the generic text with it.
 */
export function errorText(error) {
  if (error.code === 'network') return t('error.network');
  if (API_ERROR_CODES.includes(error.code)) return t(`apierror.${error.code}`);
  return t('error.generic', { message: error.message });
}

/** The form field an API error names (`properties.reporter_email` → `reporter_email`), or null. */
export function errorField(error) {
  return error.field ? error.field.replace(/^properties\./, '') : null;
}

export function setLang(next) {
  if (!LANGS.includes(next) || next === current) return;
  current = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembered across visits then; this page still switches.
  }
  applyTranslations();
  document.dispatchEvent(new CustomEvent('qala:lang', { detail: next }));
}

/** Calls `fn` now and on every language switch: components re-render their own text. */
export function onLang(fn) {
  document.addEventListener('qala:lang', () => fn(current));
}

/**
 * Fills static markup: `data-i18n="key"` sets the text, and
 * `data-i18n-attr="aria-label:key title:key"` sets attributes.
 */
export function applyTranslations(root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(/\s+/)) {
      const [attr, key] = pair.split(':');
      if (attr && key) el.setAttribute(attr, t(key));
    }
  }
}

/** Wires a `<select>` of languages and keeps it in step with the page. */
export function mountLanguageSwitcher(select) {
  select.replaceChildren(
    ...LANGS.map((code) => {
      const option = document.createElement('option');
      option.value = code;
      option.lang = code;
      // Each language is named in itself, so a visitor finds their own.
      option.textContent = STRINGS[code][`lang.${code}`];
      return option;
    }),
  );
  select.value = current;
  select.addEventListener('change', () => setLang(select.value));
}

/** A category's name from the API catalogue entry (`names.{en,ru,kk}`). */
export function categoryName(category) {
  if (!category) return '';
  return category.names?.[current] || category.names?.en || category.code;
}

export function statusName(status) {
  return t(`status.${status}`);
}

/** A district's name in the current language from its feature properties. */
export function districtName(props) {
  if (!props) return '';
  if (current === 'ru' && props.name_ru) return props.name_ru;
  if (current === 'kk' && props.name_kk) return props.name_kk;
  return props.name ?? '';
}

// Dates and numbers have their own module (the city's time zone, Kazakh
// without the browser's data); re-exported for the callers that import them here.
export { formatDate, formatNumber } from './format.js';
