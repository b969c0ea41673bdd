// The side panel (a bottom sheet on phones) that shows the report form or an
// issue. One panel, one owner at a time; focus moves into it on open and
// back to where it came from on close, and Escape closes it.

import { t } from './i18n.js';

export class Panel {
  constructor(el) {
    this.el = el;
    this.title = el.querySelector('.panel-title');
    this.body = el.querySelector('.panel-body');
    this.owner = null;
    this.onClose = null;
    this.returnFocus = null;
    el.querySelector('.panel-close').addEventListener('click', () => this.close());
    el.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.stopPropagation();
        this.close();
      }
    });
  }

  /** Shows `content` under `title`; `owner` names who uses the panel, `onClose` runs when it is closed. */
  open({ title, content, owner, onClose = null, focus = true }) {
    if (this.owner && this.owner !== owner) this.runOnClose();
    if (this.el.hidden) this.returnFocus = document.activeElement;
    this.owner = owner;
    this.onClose = onClose;
    this.title.textContent = title;
    this.body.replaceChildren(...[content].flat());
    this.el.hidden = false;
    this.body.scrollTop = 0;
    document.body.classList.add('panel-open');
    if (focus) this.title.focus();
  }

  setTitle(title) {
    this.title.textContent = title;
  }

  runOnClose() {
    const onClose = this.onClose;
    this.onClose = null;
    onClose?.();
  }

  close() {
    if (this.el.hidden) return;
    this.runOnClose();
    this.owner = null;
    this.el.hidden = true;
    this.body.replaceChildren();
    document.body.classList.remove('panel-open');
    const back = this.returnFocus;
    this.returnFocus = null;
    if (back && document.contains(back) && back !== document.body) back.focus();
  }

  isOpenFor(owner) {
    return !this.el.hidden && this.owner === owner;
  }

  /** The close button's label follows the language. */
  relabel() {
    this.el.querySelector('.panel-close').setAttribute('aria-label', t('panel.close'));
  }
}
