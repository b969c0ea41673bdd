// Which status may follow which: a copy of geodata's TRANSITIONS
// (geodata/src/workflow/mod.rs), so the staff view offers only the moves
// that can work. The server still decides: a move it refuses (the reopen
// window passed, the issue changed meanwhile) shows its message.
// web/tests/transitions.test.mjs fails when the two tables differ.

/** `[from, to, requirement]`; requirement is `none`, `note`, `duplicate_target` or `reopen_window`. */
export const TRANSITIONS = [
  ['open', 'acknowledged', 'none'],
  ['acknowledged', 'in_progress', 'none'],
  ['in_progress', 'resolved', 'none'],
  ['resolved', 'closed', 'none'],
  ['open', 'rejected', 'note'],
  ['acknowledged', 'rejected', 'note'],
  ['open', 'duplicate', 'duplicate_target'],
  ['acknowledged', 'duplicate', 'duplicate_target'],
  ['in_progress', 'duplicate', 'duplicate_target'],
  ['resolved', 'duplicate', 'duplicate_target'],
  ['resolved', 'open', 'reopen_window'],
];

/** The moves from `status`, in the table's order: `[{to, requires}]`. */
export function nextSteps(status) {
  return TRANSITIONS.filter(([from]) => from === status).map(([, to, requires]) => ({ to, requires }));
}

/** Roles that change statuses and re-route (within their scope; the server checks it). */
export const WORKS_ISSUES = ['staff', 'admin'];
/** Roles that hide, unhide and redact. */
export const MODERATES = ['moderator', 'admin'];
