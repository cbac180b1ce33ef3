//! Sends values one at a time, in the order they came, each after the previous send finished.
//!
//! The engine's updates reach the shell as separate IPC requests. Fired independently they may
//! be handled out of order (`held` after `active` would undo a resume); chained, the shell's
//! machine sees them exactly as the SDK reported them.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;

use yew::Callback;

/// A callback that queues every value and sends them through `send` strictly one after another.
///
/// ```ignore
/// let on_update = in_order(|(call_id, update): (CallId, EngineUpdate)| async move {
///     if let Err(error) = backend::report_engine_update(&call_id, &update).await { /* log */ }
/// });
/// ```
pub fn in_order<T, Fut>(send: impl Fn(T) -> Fut + 'static) -> Callback<T>
where
    T: 'static,
    Fut: Future<Output = ()> + 'static,
{
    let queue = Rc::new(RefCell::new(VecDeque::new()));
    let sending = Rc::new(Cell::new(false));
    let send = Rc::new(send);
    Callback::from(move |value: T| {
        queue.borrow_mut().push_back(value);
        if sending.replace(true) {
            return; // the running loop picks it up
        }
        let (queue, sending, send) = (queue.clone(), sending.clone(), send.clone());
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                let next = queue.borrow_mut().pop_front();
                let Some(value) = next else { break };
                send(value).await;
            }
            // No await between finding the queue empty and this: nothing can slip in unseen.
            sending.set(false);
        });
    })
}
