// Signing in, for the pages that are for city people (/staff, /planner):
// one login form and one account box in the top bar, shared by both. The
// pages are public HTML; what protects the data is the API (the session
// cookie, and the CSRF token on writes), so this is a door, not the lock.

import * as api from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';

/**
 * Resolves to the signed-in user once there is one whose role is in
 * `roles`: at once if the browser has a session, else after the visitor
 * signs in through the form shown in `container` (which is hidden again
 * then). `needsCsrf`: the page writes, so a session without this browser's
 * CSRF token (it signed in elsewhere) must sign in again. Resolves to null
 * for a user whose role may not use the page (a message says so).
 */
export async function signedIn({ container, roles, needsCsrf = false }) {
  let user = null;
  let problem = null;
  try {
    user = await api.me();
  } catch (error) {
    problem = error;
  }
  if (user && needsCsrf && !api.csrfToken()) {
    // The cookie works but this page cannot write with it: a fresh login.
    user = null;
    problem = { message: t('signin.again') };
  }
  if (!user) user = await loginForm(container, problem);
  if (!roles.includes(user.role)) {
    container.replaceChildren(
      h(
        'div',
        { class: 'signin', id: 'signin-refused', role: 'alert' },
        h('p', {}, t('signin.not_for_role', { role: roleName(user.role) })),
        h('button', { type: 'button', onclick: () => signOut(container) }, t('account.logout')),
      ),
    );
    container.hidden = false;
    document.body.dataset.state = 'refused';
    return null;
  }
  container.hidden = true;
  container.replaceChildren();
  return user;
}

/** A role in the reader's language. */
export function roleName(role) {
  return t(`role.${role}`);
}

/** Shows the login form in `container` and resolves to the user once a login succeeds. */
function loginForm(container, problem) {
  return new Promise((resolve) => {
    const error = h('p', { class: 'form-error', id: 'signin-error', role: 'alert', hidden: true });
    const show = (message) => {
      error.textContent = message;
      error.hidden = false;
    };
    const email = h('input', { type: 'email', id: 'signin-email', name: 'email', autocomplete: 'username', required: true });
    const password = h('input', { type: 'password', id: 'signin-password', name: 'password', autocomplete: 'current-password', required: true });
    const submit = h('button', { type: 'submit', class: 'primary', 'data-i18n': 'signin.submit' }, t('signin.submit'));
    const form = h(
      'form',
      { class: 'signin', id: 'signin-form', novalidate: true },
      h('h2', { 'data-i18n': 'signin.title' }, t('signin.title')),
      h('p', { class: 'hint', 'data-i18n': 'signin.hint' }, t('signin.hint')),
      h('div', { class: 'field' }, h('label', { for: 'signin-email', 'data-i18n': 'signin.email' }, t('signin.email')), email),
      h('div', { class: 'field' }, h('label', { for: 'signin-password', 'data-i18n': 'signin.password' }, t('signin.password')), password),
      error,
      submit,
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!email.value.trim() || !password.value) {
        show(t('signin.missing'));
        return;
      }
      submit.disabled = true;
      error.hidden = true;
      try {
        const user = await api.login(email.value.trim(), password.value);
        resolve(user);
      } catch (failure) {
        // One message for a wrong email and a wrong password (so does the server);
        // anything else, throttling included, is the API's own words.
        show(failure.code === 'unauthorized' ? t('signin.wrong') : failure.code === 'network' ? t('error.network') : failure.message);
        password.select();
      } finally {
        submit.disabled = false;
      }
    });
    if (problem) show(problem.code === 'network' ? t('error.network') : problem.message);
    container.replaceChildren(form);
    container.hidden = false;
    document.body.dataset.state = 'signin';
    email.focus();
  });
}

/** Signs out and reloads, so the page asks for a login again. */
async function signOut(container) {
  try {
    await api.logout();
    location.reload();
  } catch (error) {
    container.append(h('p', { class: 'form-error', role: 'alert' }, t('error.generic', { message: error.message })));
  }
}

/** The signed-in user in the top bar: their role (and public name) and a logout button. */
export function mountAccount(el, user) {
  const label = () => [roleName(user.role), user.public_name].filter(Boolean).join(' · ');
  const who = h('span', { class: 'account-who' }, label());
  const error = h('span', { class: 'form-error', role: 'alert', hidden: true });
  const button = h('button', { type: 'button', class: 'secondary', id: 'logout', 'data-i18n': 'account.logout' }, t('account.logout'));
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      await api.logout();
      location.reload();
    } catch (failure) {
      error.textContent = t('error.generic', { message: failure.message });
      error.hidden = false;
      button.disabled = false;
    }
  });
  el.replaceChildren(who, button, error);
  el.hidden = false;
  document.addEventListener('qala:lang', () => (who.textContent = label()));
}
