// The strings of the resident's list of issues (issue-list.js) and of the
// map's pin and popup, in English, Russian and Kazakh. i18n.js merges them
// into its one table. Counts are written "Label: {n}", which needs no
// plural forms in any of the three languages.

export const RESIDENT_STRINGS = {
  en: {
    'list.button': 'List of issues',
    'list.title': 'Issues',
    'list.filters': 'Filter the issues',
    'list.open_only': 'Open problems only (not yet resolved)',
    'list.any_status': 'Any status',
    'list.count': 'Issues found: {n}',
    'list.shown': 'Shown: {n} of {total}',
    'list.more': 'Show more',
    'list.back': '← Back to the list',
    'report.centre_hint': 'Move the map with the arrow keys, then press again to put the pin at the centre.',
  },
  ru: {
    'list.button': 'Список обращений',
    'list.title': 'Обращения',
    'list.filters': 'Фильтр обращений',
    'list.open_only': 'Только открытые проблемы (ещё не решённые)',
    'list.any_status': 'Любой статус',
    'list.count': 'Найдено обращений: {n}',
    'list.shown': 'Показано: {n} из {total}',
    'list.more': 'Показать ещё',
    'list.back': '← Назад к списку',
    'report.centre_hint': 'Сдвиньте карту клавишами со стрелками и нажмите снова, чтобы поставить метку в центр.',
  },
  kk: {
    'list.button': 'Өтініштер тізімі',
    'list.title': 'Өтініштер',
    'list.filters': 'Өтініштерді сүзу',
    'list.open_only': 'Тек ашық мәселелер (әлі шешілмеген)',
    'list.any_status': 'Кез келген мәртебе',
    'list.count': 'Табылған өтініштер: {n}',
    'list.shown': 'Көрсетілді: {total} ішінен {n}',
    'list.more': 'Тағы көрсету',
    'list.back': '← Тізімге оралу',
    'report.centre_hint': 'Картаны бағыттауыш пернелермен жылжытып, белгіні ортаға қою үшін қайта басыңыз.',
  },
};
