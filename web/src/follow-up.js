// A resident's follow-up on an issue, under it in the panel: its photos,
// "me too", a comment (with photos), following it by email or Atom, and —
// for the reporter who holds the private link — reopening it. Each part is
// a small form of its own that reports back through a callback; the panel
// redraws the issue when the server has it.

import * as api from './api.js';
import { announce, h } from './dom.js';
import { errorField, errorText, lang, t } from './i18n.js';

/** Reopening is offered for this long after an issue was resolved (the server checks it too). */
const REOPEN_DAYS = 30;
const TOKEN_PREFIX = 'qala.issue-token.';
const VOTED_KEY = 'qala.voted';

function stored(key, fallback) {
  try {
    return JSON.parse(localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

function store(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage off: this page still works, the next visit forgets.
  }
}

/** Keeps the private link's token of an issue in this browser (the link itself is the reporter's to keep). */
export function rememberToken(id, token) {
  store(`${TOKEN_PREFIX}${id}`, token);
}

export function issueToken(id) {
  return stored(`${TOKEN_PREFIX}${id}`, null);
}

/** The token in a private link (`/?issue=ID&token=…`), or null. */
export function tokenFromLink(link) {
  try {
    return new URL(link, 'http://x').searchParams.get('token');
  } catch {
    return null;
  }
}

/** Thumbnails, each a link to the full photo. */
export function photoGallery(photos, id) {
  if (!photos?.length) return null;
  return h(
    'ul',
    { class: 'photos', 'aria-label': t('issue.photos') },
    photos.map((photo, i) =>
      h(
        'li',
        {},
        h(
          'a',
          { href: photo.url, target: '_blank', rel: 'noopener' },
          h('img', { src: photo.thumbnail_url ?? photo.url, alt: t('issue.photo_alt', { n: i + 1, id }), loading: 'lazy', width: photo.thumbnail_width ?? undefined }),
        ),
      ),
    ),
  );
}

/** "Me too" with its count; one per browser (the server counts once per voter). */
export function meTooButton(issue, onVoted) {
  const voted = stored(VOTED_KEY, []).includes(issue.id);
  const votes = issue.properties.votes ?? 0;
  const button = h(
    'button',
    { type: 'button', class: voted ? 'secondary me-too voted' : 'secondary me-too', id: 'me-too', 'aria-pressed': String(voted), disabled: voted },
    voted ? t('issue.me_too_done', { n: votes }) : votes ? t('issue.me_too_count', { n: votes }) : t('issue.me_too'),
  );
  const error = h('p', { class: 'field-error', id: 'me-too-error', hidden: true });
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const answer = await api.vote(issue.id);
      store(VOTED_KEY, [...stored(VOTED_KEY, []), issue.id].slice(-500));
      button.textContent = t('issue.me_too_done', { n: answer.votes });
      button.classList.add('voted');
      button.setAttribute('aria-pressed', 'true');
      onVoted?.(answer);
    } catch (failure) {
      button.disabled = false;
      error.textContent = errorText(failure);
      error.hidden = false;
    }
  });
  return h('div', { class: 'me-too-row' }, button, error);
}

/** A labelled control with its own error line. */
function field(id, label, control) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, h('p', { class: 'field-error', id: `${id}-error`, hidden: true }));
}

function showError(form, id, message) {
  const el = form.querySelector(`#${id}-error`);
  if (!el) return;
  el.textContent = message ?? '';
  el.hidden = !message;
}

/** Runs `send()` with the form busy; a refusal is shown next to its field (or the form's error line). */
async function submitting(form, fields, send) {
  const button = form.querySelector('button[type="submit"]');
  for (const id of [...fields, 'form']) showError(form, id, null);
  button.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    return await send();
  } catch (error) {
    // The server names its own fields (`body`, `email`); ours are prefixed by the form.
    const named = error.field && fields.find((id) => id === error.field || id.endsWith(`-${errorField(error)}`));
    showError(form, named ?? `${form.id}-form`, errorText(error));
    return null;
  } finally {
    button.disabled = false;
    form.removeAttribute('aria-busy');
  }
}

/** A resident's comment, with up to 3 photos. */
export function commentForm(issue, onSent) {
  const prefix = 'comment';
  const form = h(
    'form',
    { class: 'follow-up-form', id: prefix, novalidate: true },
    h('h3', {}, t('issue.comments_title')),
    field('comment-body', t('issue.comment_body'), h('textarea', { id: 'comment-body', rows: 3, maxlength: 4000, required: true })),
    field('comment-author', t('issue.comment_name'), h('input', { id: 'comment-author', type: 'text', maxlength: 80, autocomplete: 'nickname' })),
    field('comment-photos', t('report.photos'), h('input', { id: 'comment-photos', type: 'file', accept: 'image/*', multiple: true })),
    h('p', { class: 'field-error', id: `${prefix}-form-error`, role: 'alert', hidden: true }),
    h('button', { type: 'submit', class: 'primary' }, t('issue.comment_send')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = form.querySelector('#comment-body').value.trim();
    if (!body) {
      showError(form, 'comment-body', t('apierror.invalid_description'));
      return;
    }
    const files = [...form.querySelector('#comment-photos').files];
    if (files.length > 3) {
      showError(form, 'comment-photos', t('report.too_many_photos'));
      return;
    }
    const sent = await submitting(form, ['comment-body', 'comment-author', 'comment-photos'], async () => {
      const photos = [];
      for (const file of files) {
        try {
          photos.push((await api.uploadPhoto(file)).id);
        } catch (error) {
          error.field = 'comment-photos';
          throw error;
        }
      }
      return api.comment(issue.id, { body, authorName: form.querySelector('#comment-author').value.trim(), photos });
    });
    if (!sent) return;
    form.reset();
    announce(t('issue.comment_sent'));
    onSent?.(sent);
  });
  return form;
}

/** Email alerts for the issue (confirmed by a link first), and its Atom feed. */
export function followForm(issue) {
  const form = h(
    'form',
    { class: 'follow-up-form', id: 'follow', novalidate: true },
    h('h3', {}, t('issue.follow_title')),
    field('follow-email', t('issue.follow_email'), h('input', { id: 'follow-email', type: 'email', autocomplete: 'email', inputmode: 'email', required: true })),
    h('p', { class: 'field-error', id: 'follow-form-error', role: 'alert', hidden: true }),
    h('p', { class: 'success', id: 'follow-sent', role: 'status', hidden: true }, t('issue.follow_sent')),
    h('div', { class: 'button-row' }, h('button', { type: 'submit', class: 'secondary' }, t('issue.follow_send')), h('a', { href: `/feeds/issues/${issue.id}.atom?lang=${lang()}`, class: 'feed-link', type: 'application/atom+xml' }, t('issue.feed'))),
  );
  const districtId = issue.properties.district_id;
  if (districtId) {
    form.append(
      h(
        'div',
        { class: 'button-row' },
        h('button', { type: 'submit', class: 'secondary', id: 'follow-district', value: 'district' }, t('issue.follow_district')),
        h('a', { href: `/feeds/districts/${districtId}.atom?lang=${lang()}`, class: 'feed-link', type: 'application/atom+xml' }, t('issue.district_feed')),
      ),
    );
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const email = form.querySelector('#follow-email').value.trim();
    if (!email) {
      showError(form, 'follow-email', t('apierror.invalid_email'));
      return;
    }
    // The district's button follows every new issue there; the other, this issue.
    const target = event.submitter?.value === 'district' ? { districtId } : { issueId: issue.id };
    const done = await submitting(form, ['follow-email'], () => api.subscribe({ email, ...target, lang: lang() }).then(() => true));
    if (done) form.querySelector('#follow-sent').hidden = false;
  });
  return form;
}

/** Whether the reporter may still reopen: resolved within the last 30 days (the workflow reopens only a resolved issue). */
export function reopenable(issue, now = Date.now()) {
  const p = issue.properties;
  if (p.status !== 'resolved') return false;
  return now - Date.parse(p.updated_at) < REOPEN_DAYS * 86_400_000;
}

/** "Not fixed? Reopen", for the reporter holding the private link's token. */
export function reopenForm(issue, token, onDone) {
  const form = h(
    'form',
    { class: 'follow-up-form', id: 'reopen', novalidate: true },
    h('h3', {}, t('issue.reopen_title')),
    field('reopen-note', t('issue.reopen_note'), h('textarea', { id: 'reopen-note', rows: 2, maxlength: 4000 })),
    h('p', { class: 'field-error', id: 'reopen-form-error', role: 'alert', hidden: true }),
    h('button', { type: 'submit', class: 'primary' }, t('issue.reopen')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const note = form.querySelector('#reopen-note').value.trim();
    const done = await submitting(form, ['reopen-note'], () => api.reopen(issue.id, token, note).then(() => true));
    if (!done) return;
    announce(t('issue.reopened'));
    onDone?.();
  });
  return form;
}
