//! Progress for long CLI work: a bar on a terminal, log lines otherwise
//! (CI logs and pipes get a line per tenth instead of control characters).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Progress of one long task.
#[derive(Debug)]
pub struct Progress {
    label: &'static str,
    total: u64,
    done: u64,
    next_log: u64,
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Starts tracking `total` units of work.
    pub fn new(label: &'static str, total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) =
                ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} ({eta})")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(label);
            bar
        });
        Self {
            label,
            total,
            done: 0,
            next_log: 0,
            bar,
        }
    }

    /// Records `n` more units done.
    pub fn inc(&mut self, n: u64) {
        self.done += n;
        match &self.bar {
            Some(bar) => bar.inc(n),
            None if self.done >= self.next_log => {
                tracing::info!("{}: {}/{}", self.label, self.done, self.total);
                // A tenth of the work, or every 100,000 units when the total is unknown.
                let step = if self.total == 0 {
                    100_000
                } else {
                    (self.total / 10).max(1)
                };
                self.next_log = self.done + step;
            }
            None => {}
        }
    }

    /// Marks the task finished.
    pub fn finish(self) {
        match self.bar {
            Some(bar) => bar.finish(),
            None => tracing::info!("{}: done, {} in all", self.label, self.done),
        }
    }
}
