//! How the window shows phone numbers. It carries no numbering metadata (with its regex engine
//! that was most of the wasm): North American numbers are formatted here, and the shell formats
//! the others, asked once per number and remembered for the window's life.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use softphone_core::phone::PhoneNumber;
use yew::prelude::*;

use crate::backend;

/// The numbers the shell has formatted, and those asked for.
pub struct NumberBook {
    known: RefCell<HashMap<String, String>>,
    asked: RefCell<HashSet<String>>,
    queued: RefCell<Vec<String>>,
    /// How many answers have arrived; the window redraws the numbers on each.
    answers: Cell<u32>,
    on_answer: Callback<u32>,
}

impl NumberBook {
    pub fn new(on_answer: Callback<u32>) -> NumberBook {
        NumberBook {
            known: RefCell::default(),
            asked: RefCell::default(),
            queued: RefCell::default(),
            answers: Cell::new(0),
            on_answer,
        }
    }

    /// Queues `text` for the shell; the numbers asked for in one render go in one request.
    fn ask(self: &Rc<Self>, text: &str) {
        if !self.asked.borrow_mut().insert(text.to_owned()) {
            return;
        }
        let first = self.queued.borrow().is_empty();
        self.queued.borrow_mut().push(text.to_owned());
        if !first {
            return;
        }
        let book = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            let batch = book.queued.take();
            // A failed request leaves those numbers in E.164, which is still a correct display.
            if let Ok(shown) = backend::format_numbers(&batch).await {
                book.known.borrow_mut().extend(batch.into_iter().zip(shown));
                book.answers.set(book.answers.get() + 1);
                book.on_answer.emit(book.answers.get());
            }
        });
    }
}

/// What components read numbers through (a context): changes when the shell's answers arrive,
/// so the components showing numbers draw them again.
#[derive(Clone)]
pub struct ShownNumbers {
    book: Option<Rc<NumberBook>>,
    answers: u32,
}

impl PartialEq for ShownNumbers {
    fn eq(&self, other: &Self) -> bool {
        self.answers == other.answers
            && match (&self.book, &other.book) {
                (Some(mine), Some(theirs)) => Rc::ptr_eq(mine, theirs),
                (None, None) => true,
                _ => false,
            }
    }
}

impl ShownNumbers {
    pub fn new(book: Rc<NumberBook>, answers: u32) -> ShownNumbers {
        ShownNumbers { book: Some(book), answers }
    }

    /// `text` as the agent reads it: the international format when it is a stored E.164 number
    /// (`+1 415-555-0100`, `+44 20 7946 0958`), else as it is. A number the shell has not
    /// formatted yet shows in E.164 until it has.
    pub fn shown(&self, text: &str) -> String {
        let Ok(number) = PhoneNumber::from_stored(text) else { return text.to_owned() };
        self.phone(&number)
    }

    /// [`ShownNumbers::shown`] for a number already read.
    pub fn phone(&self, number: &PhoneNumber) -> String {
        if let Some(north_american) = number.format_north_american() {
            return north_american;
        }
        let Some(book) = &self.book else { return number.as_e164().to_owned() };
        if let Some(shown) = book.known.borrow().get(number.as_e164()) {
            return shown.clone();
        }
        book.ask(number.as_e164());
        number.as_e164().to_owned()
    }
}

/// The window's [`ShownNumbers`]; without a provider (a page that has none), numbers other than
/// North American ones show in E.164.
#[hook]
pub fn use_shown_numbers() -> ShownNumbers {
    use_context::<ShownNumbers>().unwrap_or(ShownNumbers { book: None, answers: 0 })
}
