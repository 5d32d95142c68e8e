//! Frees large results on a thread of their own: freeing a large workflow's IR or graph
//! takes time (30 ms for a 20 MB workflow, a second for a 50 MB one) and nothing needs it
//! freed before the process ends, so the command goes on meanwhile and its exit does not
//! wait for it. Without that thread (the system refused one) they are freed in place.

use std::sync::mpsc::Sender;

/// The freeing thread's end of the channel.
pub(super) struct Freer(Option<Sender<Box<dyn Send>>>);

impl Freer {
    /// Starts the thread.
    pub(super) fn start() -> Freer {
        let (tx, rx) = std::sync::mpsc::channel::<Box<dyn Send>>();
        let thread = std::thread::Builder::new()
            .name("free".into())
            .spawn(move || rx.into_iter().for_each(drop));
        Freer(thread.ok().map(|_| tx))
    }

    /// Hands `value` to the thread to be freed.
    pub(super) fn free(&self, value: impl Send + 'static) {
        if let Some(tx) = &self.0 {
            // A send fails only when the thread is gone: the value comes back and is
            // dropped here.
            let _ = tx.send(Box::new(value));
        }
    }
}
